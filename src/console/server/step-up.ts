import { createHash, randomBytes } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyRequest } from 'fastify';
import { CountersignError } from '../../errors/index.ts';
import type { Runtime } from '../../runtime.ts';
import type { Store, WebAuthnCredentialRecord } from '../../store/index.ts';
import type { ConsoleSession, ConsoleSessions } from './sessions.ts';

/** The WebAuthn library loads at the first registration or step-up, not with the server. */
const webauthn = () => import('@simplewebauthn/server');

/** A challenge must be answered within this long. */
const CHALLENGE_TTL_MS = 5 * 60_000;
/** Marks a registration challenge in the session's one challenge slot (never a plan hash). */
const REGISTRATION = 'registration';

type Transport = NonNullable<RegistrationResponseJSON['response']['transports']>[number];

/**
 * WebAuthn for the console (issue 13): security keys registered per principal, and the step-up
 * assertion a risky approval needs. The assertion's challenge is SHA-256(plan hash ‖ server
 * nonce): the key signs over the exact plan the page showed, once, within a few minutes.
 */
export class StepUp {
  constructor(
    private readonly store: Store,
    private readonly runtime: Runtime,
    private readonly sessions: ConsoleSessions,
  ) {}

  #relyingParty(request: FastifyRequest): { origin: string; rpID: string } {
    const origin = this.sessions.expectedOrigin(request);
    return { origin, rpID: new URL(origin).hostname };
  }

  async keys(session: ConsoleSession): Promise<WebAuthnCredentialRecord[]> {
    return this.store.console.listCredentials(session.principal.tenantId, session.principal.id);
  }

  async registrationOptions(request: FastifyRequest, session: ConsoleSession) {
    const { rpID } = this.#relyingParty(request);
    const existing = await this.keys(session);
    const options = await (await webauthn()).generateRegistrationOptions({
      rpName: 'Countersign',
      rpID,
      userName: session.principal.name,
      userID: new TextEncoder().encode(session.principal.id),
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports as Transport[] })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.store.console.setStepUpChallenge(session.record.idHash, options.challenge, REGISTRATION, this.runtime.now().toISOString());
    return options;
  }

  async register(
    request: FastifyRequest,
    session: ConsoleSession,
    name: string,
    response: RegistrationResponseJSON,
  ): Promise<WebAuthnCredentialRecord> {
    const challenge = this.#pending(session, REGISTRATION);
    if (!(await this.store.console.takeStepUpChallenge(session.record.idHash, challenge)))
      throw refused('the registration was already used');
    const { origin, rpID } = this.#relyingParty(request);
    const result = await (await webauthn())
      .verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
      })
      .catch(() => null);
    if (!result?.verified || !result.registrationInfo) throw refused('the security key’s registration did not verify');
    const { credential } = result.registrationInfo;
    const record: WebAuthnCredentialRecord = {
      id: credential.id,
      tenantId: session.principal.tenantId,
      principalId: session.principal.id,
      name,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? [],
      createdAt: this.runtime.now().toISOString(),
    };
    await this.store.console.insertCredential(record);
    return record;
  }

  /** A fresh assertion challenge for one plan hash, replacing any earlier one of the session. */
  async assertionOptions(request: FastifyRequest, session: ConsoleSession, planHash: string) {
    const keys = await this.keys(session);
    if (keys.length === 0) throw refused('register a security key on your profile page first');
    const nonce = randomBytes(32);
    const challenge = createHash('sha256').update(planHash).update(nonce).digest();
    const options = await (await webauthn()).generateAuthenticationOptions({
      rpID: this.#relyingParty(request).rpID,
      challenge: new Uint8Array(challenge),
      allowCredentials: keys.map((c) => ({ id: c.id, transports: c.transports as Transport[] })),
      userVerification: 'preferred',
    });
    await this.store.console.setStepUpChallenge(session.record.idHash, options.challenge, planHash, this.runtime.now().toISOString());
    return options;
  }

  /**
   * Verifies a step-up assertion for `planHash`: the session's outstanding challenge was issued
   * for this very hash, is taken (used once), and one of the principal's keys signed it.
   */
  async verify(
    request: FastifyRequest,
    session: ConsoleSession,
    planHash: string,
    response: AuthenticationResponseJSON | undefined,
  ): Promise<string> {
    if (!response) throw refused('approving this plan needs your security key: answer the step-up prompt');
    const challenge = this.#pending(session, planHash);
    if (!(await this.store.console.takeStepUpChallenge(session.record.idHash, challenge))) throw refused('this step-up was already used');
    const key = (await this.keys(session)).find((c) => c.id === response.id);
    if (!key) throw refused('the assertion came from a key that is not registered to you');
    const { origin, rpID } = this.#relyingParty(request);
    const result = await (await webauthn())
      .verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        credential: {
          id: key.id,
          publicKey: new Uint8Array(Buffer.from(key.publicKey, 'base64url')),
          counter: key.counter,
          transports: key.transports as Transport[],
        },
        requireUserVerification: false,
      })
      .catch(() => null);
    if (!result?.verified) throw refused('the security key’s assertion did not verify');
    const next = result.authenticationInfo.newCounter;
    // A counter that does not advance (when the key keeps one) means a cloned authenticator.
    if (
      (next !== 0 || key.counter !== 0) &&
      !(next > key.counter && (await this.store.console.advanceCounter(key.id, key.counter, next)))
    ) {
      throw refused('the security key’s signature counter went backwards');
    }
    return key.id;
  }

  #pending(session: ConsoleSession, purpose: string): string {
    const pending = session.record.stepUp;
    if (!pending || pending.planHash !== purpose) throw refused('no step-up was started for this plan; try again');
    if (this.runtime.now().getTime() - Date.parse(pending.issuedAt) > CHALLENGE_TTL_MS) throw refused('the step-up expired; try again');
    return pending.challenge;
  }
}

function refused(message: string): CountersignError {
  return new CountersignError('STEP_UP_REQUIRED', message);
}
