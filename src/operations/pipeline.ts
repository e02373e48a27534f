import type { AuditAction } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';
import { recordNotification } from '../notifications/index.ts';
import {
  type Authorizer,
  type AuthzRequest,
  type Denial,
  decideRequest,
  isSelfApproval,
  type Principal,
  type ResourceRef,
} from '../policy/index.ts';
import type { Runtime } from '../runtime.ts';
import type { Store, TenantScope } from '../store/index.ts';
import { currentRequestId, currentSpan, inSpan, linkToOrigin } from '../telemetry/index.ts';
import { parseOrThrow } from '../validation/index.ts';
import type { AnyOperation, Channel, Effect, OperationContext, PipelineObserver } from './types.ts';

export interface PipelineDeps {
  store: Store;
  authorizer: Authorizer;
  runtime: Runtime;
  /** Told of every decision and every settled operation (metrics, live notifications); optional. */
  observer?: PipelineObserver;
}

function resourceKey(r: ResourceRef): string {
  return `${r.type.toLowerCase()}:${r.id}`;
}

/** A refusal raised by a decision, a rule or a guard: audited `denied`, then thrown as is. */
class Refused {
  constructor(
    readonly error: CountersignError,
    readonly resource: ResourceRef,
    readonly details: Record<string, unknown>,
  ) {}
}

function denialError(request: AuthzRequest, decision: Denial): CountersignError {
  if (isSelfApproval(decision))
    return new CountersignError('SELF_APPROVAL', 'the proposer of a plan cannot review it; ask another reviewer');
  if (decision.code === 'POLICY_UNAVAILABLE') {
    return new CountersignError('POLICY_UNAVAILABLE', 'the policy engine could not decide, so the request is denied');
  }
  const reason = decision.policies?.some((p) => p.startsWith('code:')) ? decision.reasons.join('; ') : null;
  return new CountersignError('POLICY_DENIED', reason ?? `policy does not permit ${request.action} on ${resourceKey(request.resource)}`, {
    details: { reasons: decision.reasons },
  });
}

/** observability: the interface, and the API request id when there is one (logs ↔ audit). */
function via(ctx: OperationContext): { channel: Channel; requestId?: string } {
  const requestId = currentRequestId();
  return requestId ? { channel: ctx.channel, requestId } : { channel: ctx.channel };
}

/** Refusals audited `denied`, told apart from failures on the operation's span. */
const DENIED = new WeakSet<object>();

/** Tenant and resource belong together (invariants 3 and 18): another tenant's id finds nothing. */
function checkContext(principal: Principal, resource: ResourceRef): void {
  if (!principal.tenantId || principal.tenantId !== resource.tenantId) {
    throw new CountersignError('NOT_FOUND', `${resource.type.toLowerCase()} ${resource.id} not found`);
  }
}

/**
 * The one pipeline every privileged operation runs through (invariant 2), from every
 * interface. In order:
 *
 *   validate input → [gate decision] → [prepare] → transaction {
 *     load → context check → decide (code rules + Cedar) → guards → act → audit `allowed`
 *   }
 *
 * A refusal at decide or at a guard rolls the transaction back and is audited `denied` with its
 * stable code; an error while acting is audited `failed`. The change and its audit entry commit
 * together or not at all (invariant 11): if the entry cannot be written, nothing happened.
 */
export class Pipeline {
  readonly #ops = new Map<string, AnyOperation>();

  constructor(
    private readonly deps: PipelineDeps,
    operations: readonly AnyOperation[],
  ) {
    for (const op of operations) {
      if (this.#ops.has(op.name)) throw new CountersignError('INTERNAL', `operation ${op.name} is defined twice`);
      this.#ops.set(op.name, op);
    }
  }

  /** The table, for the chokepoint test and the docs. */
  operations(): AnyOperation[] {
    return [...this.#ops.values()];
  }

  async run<T = unknown>(
    name: string,
    principal: Principal,
    rawInput: unknown,
    channel: Channel,
    attested: Pick<OperationContext, 'stepUp'> = {},
  ): Promise<T> {
    // observability: one span per operation, under the request's span when there is one.
    return inSpan(`operation ${name}`, { 'countersign.operation': name, 'countersign.channel': channel }, () =>
      this.#traced<T>(name, principal, rawInput, channel, attested),
    );
  }

  async #traced<T>(
    name: string,
    principal: Principal,
    rawInput: unknown,
    channel: Channel,
    attested: Pick<OperationContext, 'stepUp'>,
  ): Promise<T> {
    const op = this.#ops.get(name);
    if (!op) throw new CountersignError('INTERNAL', `no operation named ${name}`);
    const ctx: OperationContext = {
      principal,
      channel,
      now: this.deps.runtime.now(),
      ...(attested.stepUp ? { stepUp: attested.stepUp } : {}),
    };
    let input: unknown;
    try {
      input = parseOrThrow(op.input, rawInput ?? {}, 'body');
      const result = (await this.#run(op, ctx, input)) as T;
      op.settled?.(ctx, input, { ok: true, result });
      this.deps.observer?.settled(op.name, true);
      currentSpan().setAttributes({ 'countersign.outcome': 'allowed' });
      return result;
    } catch (err) {
      currentSpan().setAttributes({ 'countersign.outcome': DENIED.has(err as object) ? 'denied' : 'failed' });
      op.settled?.(ctx, input, { ok: false, error: err });
      this.deps.observer?.settled(op.name, false);
      throw err;
    }
  }

  async #run(op: AnyOperation, ctx: OperationContext, input: unknown): Promise<unknown> {
    const { principal } = ctx;
    if (op.gate) {
      const gate = op.gate(input, ctx);
      checkContext(principal, gate);
      const decision = this.#decide(op, ctx, gate);
      if (decision instanceof Refused) return this.#refuse(op, ctx, decision);
    }
    const prepared = op.prepare ? await op.prepare(input, ctx) : undefined;
    if (op.kind === 'read') {
      const scope = this.deps.store.scope(principal.tenantId);
      try {
        const loaded = await op.load(scope, input, ctx, prepared);
        await this.#authorize(op, ctx, scope, loaded, input);
        return (await op.act(scope, loaded, input, ctx, prepared)).result;
      } catch (err) {
        if (err instanceof Refused) return this.#refuse(op, ctx, err);
        throw err;
      }
    }
    let decided: ResourceRef | null = null;
    let policies: string[] = [];
    try {
      const effect = await this.deps.store.transaction(principal.tenantId, async (tx) => {
        const loaded = await op.load(tx, input, ctx, prepared);
        const authorized = await this.#authorize(op, ctx, tx, loaded, input);
        decided = authorized.resource;
        policies = authorized.policies;
        const effect: Effect<unknown> = await op.act(tx, loaded, input, ctx, prepared);
        const change = {
          actor: principal.id,
          resource: effect.resource ?? resourceKey(authorized.resource),
          details: effect.details ?? {},
        };
        // The notification the change raises commits with it (outbox); the dispatcher sends it later.
        await recordNotification(tx, { ...change, operation: op.name, at: ctx.now }, (p) => this.deps.runtime.newId(p));
        // The audit entry is the transaction's last write: on PostgreSQL appending locks the chain
        // head until the commit, and every other transaction's append waits for that lock.
        await tx.audit({
          actor: principal.id,
          action: op.action as AuditAction,
          outcome: 'allowed',
          resource: change.resource,
          details: { ...effect.details, ...via(ctx), policies },
        });
        return effect;
      });
      if (!effect.afterCommit) return effect.result;
      const done = await effect.afterCommit();
      await this.deps.store.scope(principal.tenantId).audit({
        actor: principal.id,
        action: op.action as AuditAction,
        outcome: 'succeeded',
        resource: done.resource ?? effect.resource ?? resourceKey(decided as unknown as ResourceRef),
        details: { ...done.details, ...via(ctx) },
      });
      return done.result;
    } catch (err) {
      if (err instanceof Refused) return this.#refuse(op, ctx, err);
      if (decided) await this.#auditFailure(op, ctx, decided, err);
      throw err;
    }
  }

  /** Decide, then the guards; any refusal becomes a Refused carrying the resource it was about. */
  async #authorize(
    op: AnyOperation,
    ctx: OperationContext,
    tx: TenantScope,
    loaded: unknown,
    input: unknown,
  ): Promise<{ resource: ResourceRef; policies: string[] }> {
    const resource = op.resource(loaded, input, ctx);
    checkContext(ctx.principal, resource);
    linkToOrigin(loaded, 'plan.propose');
    const decision = this.#decide(op, ctx, resource);
    if (decision instanceof Refused) throw decision;
    for (const guard of op.guards ?? []) {
      try {
        await guard(tx, loaded, input, ctx);
      } catch (err) {
        if (err instanceof CountersignError) throw new Refused(err, resource, { ...err.details, stage: 'guard' });
        throw err;
      }
    }
    return { resource, policies: decision.policies };
  }

  #decide(op: AnyOperation, ctx: OperationContext, resource: ResourceRef): Refused | { policies: string[] } {
    const request: AuthzRequest = { principal: ctx.principal, action: op.action, resource, context: { channel: ctx.channel } };
    const decision = decideRequest(this.deps.authorizer, request);
    this.deps.observer?.decision(op.action, decision.allow);
    currentSpan().setAttributes({ 'countersign.decision': decision.allow ? 'allow' : 'deny', 'countersign.action': op.action });
    if (decision.allow) return { policies: decision.policies };
    return new Refused(denialError(request, decision), resource, {
      reasons: decision.reasons,
      ...(decision.policies?.length ? { policies: decision.policies } : {}),
    });
  }

  /** Audits a refusal as `denied` with its stable code, then throws the refusal's error. */
  async #refuse(op: AnyOperation, ctx: OperationContext, refused: Refused): Promise<never> {
    await this.deps.store.scope(ctx.principal.tenantId).audit({
      actor: ctx.principal.id,
      action: op.action as AuditAction,
      outcome: 'denied',
      resource: resourceKey(refused.resource),
      details: {
        code: refused.error.code,
        ...(refused.details.reasons ? {} : { reasons: [refused.error.message] }),
        ...refused.details,
        ...via(ctx),
      },
    });
    DENIED.add(refused.error);
    throw refused.error;
  }

  /**
   * An allowed operation that then failed (a concurrent change, a store error) is recorded too,
   * in its own transaction since the operation's was rolled back. If even that cannot be
   * written the original error still reaches the caller: nothing happened either way.
   */
  async #auditFailure(op: AnyOperation, ctx: OperationContext, resource: ResourceRef, err: unknown): Promise<void> {
    if (!(err instanceof CountersignError) || err.code === 'AUDIT_WRITE_FAILED' || err.code === 'STORE_UNAVAILABLE') return;
    try {
      await this.deps.store.scope(ctx.principal.tenantId).audit({
        actor: ctx.principal.id,
        action: op.action as AuditAction,
        outcome: 'failed',
        resource: resourceKey(resource),
        details: { ...err.details, code: err.code, message: err.message, ...via(ctx) },
      });
    } catch {
      // The caller gets the original error; the failed attempt changed nothing.
    }
  }
}
