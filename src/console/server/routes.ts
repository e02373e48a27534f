import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requiresStepUp, type StepUpSettings } from '../../approvals/index.ts';
import type { Config } from '../../config/index.ts';
import { CountersignError } from '../../errors/index.ts';
import { type EventLogRead, streamExecutionEvents } from '../../executions/index.ts';
import type { LiveHub } from '../../live/index.ts';
import { FreezeBodySchema, type Pipeline, type PlanReviewPage, ReviewBodySchema, reviewOperationFor } from '../../operations/index.ts';
import type { Runtime } from '../../runtime.ts';
import type { Store } from '../../store/index.ts';
import { parseOrThrow } from '../../validation/index.ts';
import { type ConsoleSession, type ConsoleSessions, sha256, token } from './sessions.ts';
import type { StepUp } from './step-up.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A console route: authenticated by the session cookie (and, for state changes, CSRF checks). */
    consoleSession?: boolean;
    /** A route without a bearer credential that still counts against the per-address rate limit. */
    addressLimited?: boolean;
  }
  interface FastifyRequest {
    consoleSession: ConsoleSession | null;
  }
}

export interface ConsoleRouteDeps {
  pipeline: Pipeline;
  store: Store;
  runtime: Runtime;
  config: Readonly<Config>;
  sessions: ConsoleSessions;
  stepUp: StepUp;
  stepUpSettings: StepUpSettings;
  /** How often a live execution stream re-checks the session. */
  recheckMs: number;
  live?: LiveHub;
}

const ConsoleReviewSchema = ReviewBodySchema.extend({
  /** The single-use token the plan page was served with: a replayed request has none left to spend. */
  reviewToken: z.string().min(1).max(128),
  /** The WebAuthn assertion answering this plan's step-up challenge, when the plan needs one. */
  stepUp: z.record(z.string(), z.unknown()).optional(),
}).strict();
const RegisterKeySchema = z.object({ name: z.string().min(1).max(64), response: z.record(z.string(), z.unknown()) }).strict();
const StepUpOptionsSchema = z.object({ planHash: z.string().regex(/^[0-9a-f]{64}$/) }).strict();
const RevokeSchema = z.object({ reason: z.string().min(1).max(2000) }).strict();
const ListSchema = z.object({ status: z.string().max(32).optional(), environment: z.string().max(64).optional() }).strict();

function sessionOf(request: FastifyRequest): ConsoleSession {
  if (!request.consoleSession) throw new CountersignError('UNAUTHENTICATED', 'sign in to the console');
  return request.consoleSession;
}

/**
 * The console's JSON API: each route maps onto operations of the table, run for the session's
 * principal on the `web` channel. Nothing here decides or changes state by itself, except
 * what belongs to the session (sign-out, the principal's own security keys).
 */
export function consoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): void {
  const { pipeline, sessions } = deps;
  const run = <T>(request: FastifyRequest, name: string, input: unknown) =>
    pipeline.run<T>(name, sessionOf(request).principal, input, 'web');
  const id = (request: FastifyRequest) => (request.params as { id: string }).id;
  const route = (operation: string | readonly string[] | null) => ({
    config: { public: true, consoleSession: true, addressLimited: true, operation },
  });

  app.decorateRequest('consoleSession', null);
  app.addHook('onRequest', async (request) => {
    if (!request.routeOptions.config?.consoleSession) return;
    request.consoleSession = await sessions.resolve(request);
    if (!request.consoleSession) throw new CountersignError('UNAUTHENTICATED', 'sign in to the console');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sessions.assertSameOrigin(request);
      sessions.assertCsrfToken(request, request.consoleSession);
    }
  });
  // Console answers are about one person's session: never cached by anything in between.
  app.addHook('onSend', async (request, reply) => {
    if (request.routeOptions.config?.consoleSession) reply.header('cache-control', 'no-store');
  });

  app.get('/console/api/session', route(null), async (request) => {
    const s = sessionOf(request);
    return {
      name: s.principal.name,
      id: s.principal.id,
      kind: s.principal.kind,
      groups: s.principal.groups,
      authMethod: s.principal.authMethod,
      csrfToken: s.record.csrfToken,
      expiresAt: s.record.expiresAt,
    };
  });
  app.post('/console/auth/sign-out', route(null), async (request, reply) => {
    const s = sessionOf(request);
    await sessions.end(request, reply, s);
    await deps.store.scope(s.principal.tenantId).audit({
      actor: s.principal.id,
      action: 'console.sign-out',
      outcome: 'succeeded',
      resource: `principal:${s.principal.id}`,
      details: { channel: 'web' },
    });
    return reply.status(204).send();
  });

  app.get('/console/api/inbox', route('review.inbox'), async (request) => run(request, 'review.inbox', { limit: 200 }));
  app.get('/console/api/plans', route('plan.list'), async (request) => {
    const q = parseOrThrow(ListSchema, request.query ?? {}, 'query');
    return run(request, 'plan.list', { limit: 100, ...q });
  });
  app.get('/console/api/plans/:id', route('plan.review-page'), async (request) => {
    const page = await run<PlanReviewPage>(request, 'plan.review-page', { planId: id(request) });
    const stepUpRequired = requiresStepUp(page.plan, deps.stepUpSettings);
    if (!page.eligibility.allowed) return { ...page, stepUpRequired };
    // A single-use token for one review of exactly the plan this page shows.
    const reviewToken = token();
    const s = sessionOf(request);
    await deps.store.console.insertReviewToken(
      sha256(reviewToken),
      s.record.idHash,
      page.plan.id,
      page.plan.hash,
      deps.runtime.now().toISOString(),
    );
    return { ...page, stepUpRequired, reviewToken };
  });
  app.post('/console/api/plans/:id/step-up', route('plan.review-page'), async (request) => {
    const { planHash } = parseOrThrow(StepUpOptionsSchema, request.body ?? {}, 'body');
    // Only for a plan the caller can read; the hash is bound into the challenge, checked again at approval.
    await run(request, 'plan.review-page', { planId: id(request) });
    return deps.stepUp.assertionOptions(request, sessionOf(request), planHash);
  });
  app.post('/console/api/plans/:id/review', route(['plan.approve', 'plan.reject']), async (request, reply) => {
    const body = parseOrThrow(ConsoleReviewSchema, request.body ?? {}, 'body');
    const { stepUp, reviewToken, ...review } = body;
    const name = reviewOperationFor(review);
    const s = sessionOf(request);
    if (!(await deps.store.console.spendReviewToken(sha256(reviewToken), s.record.idHash, id(request), review.planHash))) {
      const err = new CountersignError(
        'REVIEW_REPLAYED',
        'this review was already submitted, or the page is stale: reload the plan and review it again',
      );
      await auditRefusal(deps, s, name, id(request), err, { planHash: review.planHash });
      throw err;
    }
    const keyId = name === 'plan.approve' ? await requireStepUp(deps, request, id(request), review.planHash, stepUp) : null;
    // The verified step-up travels to the approval's guard, which refuses a step-up plan without it.
    const attested = keyId ? { stepUp: { planHash: review.planHash, keyId } } : {};
    return reply.status(201).send(await pipeline.run(name, s.principal, { ...review, planId: id(request) }, 'web', attested));
  });
  app.post('/console/api/plans/:id/execute', route('plan.execute'), async (request, reply) => {
    parseOrThrow(z.object({}).strict(), request.body ?? {}, 'body');
    const r = await run<{ execution: { id: string }; created: boolean }>(request, 'plan.execute', { planId: id(request) });
    return reply.status(r.created ? 201 : 200).send(r.execution);
  });

  app.get('/console/api/executions', route('execution.list'), async (request) => run(request, 'execution.list', { limit: 100 }));
  app.get('/console/api/executions/:id', route('execution.get'), async (request) =>
    run(request, 'execution.get', { executionId: id(request) }),
  );
  app.get('/console/api/executions/:id/events', route('execution.events'), async (request, reply) => {
    const principal = sessionOf(request).principal;
    const executionId = id(request);
    const lastId = Number(request.headers['last-event-id'] ?? 0);
    const after = Number.isInteger(lastId) && lastId >= 0 ? lastId : 0;
    const read = (cursor: number) => pipeline.run<EventLogRead>('execution.events', principal, { executionId, after: cursor }, 'web');
    await read(after);
    // The stream lives only as long as the session: sign-out or expiry ends it at the next re-check.
    const recheck = async () => {
      const again = await sessions.resolve(request);
      if (!again || again.principal.id !== principal.id) throw new CountersignError('UNAUTHENTICATED', 'the session ended');
      await pipeline.run('execution.events', again.principal, { executionId, after }, 'web');
    };
    return streamExecutionEvents(reply, read, after, recheck, { recheckMs: deps.recheckMs, executionId, live: deps.live });
  });
  app.post('/console/api/executions/:id/revoke-grant', route('grant.revoke'), async (request) =>
    run(request, 'grant.revoke', { ...parseOrThrow(RevokeSchema, request.body ?? {}, 'body'), executionId: id(request) }),
  );
  app.post('/console/api/freeze', route('environment.freeze'), async (request) =>
    run(request, 'environment.freeze', parseOrThrow(FreezeBodySchema, request.body ?? {}, 'body')),
  );
  app.post('/console/api/unfreeze', route('environment.unfreeze'), async (request) =>
    run(request, 'environment.unfreeze', parseOrThrow(FreezeBodySchema.partial({ reason: true }), request.body ?? {}, 'body')),
  );

  app.get('/console/api/audit', route('audit.search'), async (request) => {
    const q = Object.fromEntries(Object.entries((request.query ?? {}) as Record<string, string>).filter(([, v]) => v !== ''));
    return run(request, 'audit.search', q);
  });
  app.get('/console/api/audit/verify', route('audit.verify'), async (request) => run(request, 'audit.verify', {}));
  app.get('/console/api/admin/overrides', route('override.list'), async (request) => run(request, 'override.list', { limit: 200 }));
  app.get('/console/api/admin/freezes', route('freeze.list'), async (request) => run(request, 'freeze.list', {}));
  app.get('/console/api/admin/principals', route('principal.list'), async (request) => run(request, 'principal.list', {}));
  app.get('/console/api/admin/trust', route('trust.list'), async (request) => run(request, 'trust.list', {}));

  keyRoutes(app, deps, route);
}

/** The signed-in principal's own security keys (the profile page). */
function keyRoutes(app: FastifyInstance, deps: ConsoleRouteDeps, route: (op: null) => { config: Record<string, unknown> }): void {
  const audit = (s: ConsoleSession, action: 'webauthn.register' | 'webauthn.remove', keyId: string, details: Record<string, unknown>) =>
    deps.store.scope(s.principal.tenantId).audit({
      actor: s.principal.id,
      action,
      outcome: 'succeeded',
      resource: `principal:${s.principal.id}`,
      details: { key: keyId, ...details, channel: 'web' },
    });
  app.get('/console/api/keys', route(null), async (request) => ({
    keys: (await deps.stepUp.keys(sessionOf(request))).map((k) => ({ id: k.id, name: k.name, createdAt: k.createdAt })),
  }));
  app.post('/console/api/keys/options', route(null), async (request) => deps.stepUp.registrationOptions(request, sessionOf(request)));
  app.post('/console/api/keys', route(null), async (request, reply) => {
    const body = parseOrThrow(RegisterKeySchema, request.body ?? {}, 'body');
    const s = sessionOf(request);
    const key = await deps.stepUp.register(request, s, body.name, body.response as unknown as RegistrationResponseJSON);
    await audit(s, 'webauthn.register', key.id, { name: key.name });
    return reply.status(201).send({ id: key.id, name: key.name, createdAt: key.createdAt });
  });
  app.delete('/console/api/keys/:id', route(null), async (request, reply) => {
    const s = sessionOf(request);
    const keyId = (request.params as { id: string }).id;
    if (!(await deps.store.console.removeCredential(s.principal.tenantId, s.principal.id, keyId)))
      throw new CountersignError('NOT_FOUND', 'no such key of yours');
    await audit(s, 'webauthn.remove', keyId, {});
    return reply.status(204).send();
  });
}

/**
 * The step-up (issue 13): approving a plan whose environment lists its risk needs a WebAuthn
 * assertion over this plan hash. A refusal is audited as a denied approval before anything runs.
 */
async function requireStepUp(
  deps: ConsoleRouteDeps,
  request: FastifyRequest,
  planId: string,
  planHash: string,
  assertion: Record<string, unknown> | undefined,
): Promise<string | null> {
  const s = sessionOf(request);
  const plan = await deps.pipeline.run<PlanReviewPage>('plan.review-page', s.principal, { planId }, 'web');
  if (!requiresStepUp(plan.plan, deps.stepUpSettings)) return null;
  try {
    const key = await deps.stepUp.verify(request, s, planHash, assertion as unknown as AuthenticationResponseJSON | undefined);
    await deps.store.scope(s.principal.tenantId).audit({
      actor: s.principal.id,
      action: 'webauthn.step-up',
      outcome: 'succeeded',
      resource: `plan:${planId}`,
      details: { planHash, key, risk: plan.plan.risk, channel: 'web' },
    });
    return key;
  } catch (err) {
    if (!(err instanceof CountersignError)) throw err;
    await auditRefusal(deps, s, 'plan.approve', planId, err, { planHash, risk: plan.plan.risk });
    throw err;
  }
}

/** A console refusal before the pipeline ran, audited as the review it refused (denied, with its code). */
async function auditRefusal(
  deps: ConsoleRouteDeps,
  s: ConsoleSession,
  action: 'plan.approve' | 'plan.reject',
  planId: string,
  err: CountersignError,
  details: Record<string, unknown>,
): Promise<void> {
  await deps.store.scope(s.principal.tenantId).audit({
    actor: s.principal.id,
    action,
    outcome: 'denied',
    resource: `plan:${planId}`,
    details: { code: err.code, reasons: [err.message], ...details, channel: 'web' },
  });
}
