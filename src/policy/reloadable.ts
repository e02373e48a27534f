import type { Authorizer, AuthzRequest, Decision } from './types.ts';

export type ReloadResult = { ok: true } | { ok: false; error: string };

/**
 * The live policy set. A reload builds and checks (schema, canaries) a complete new set first
 * and swaps it in only if that succeeds; a broken edit never replaces a working policy, and
 * never opens the gates (invariant 1).
 */
export class ReloadableAuthorizer implements Authorizer {
  #current: Authorizer;

  /** `load` must throw on any invalid policy set; the first load's error stops the start. */
  constructor(private readonly load: () => Authorizer) {
    this.#current = load();
  }

  authorize(request: AuthzRequest): Decision {
    return this.#current.authorize(request);
  }

  reload(): ReloadResult {
    const prepared = this.prepare();
    if (prepared.ok) prepared.commit();
    return prepared.ok ? { ok: true } : prepared;
  }

  /**
   * Builds and checks the new set without switching to it, so the caller can write the audit
   * entry first and switch only if that succeeded (invariant 11: audit before effect).
   */
  prepare(): { ok: true; commit: () => void } | { ok: false; error: string } {
    try {
      const next = this.load();
      return {
        ok: true,
        commit: () => {
          this.#current = next;
        },
      };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }
}
