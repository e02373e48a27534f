import type { z } from 'zod';
import type { Principal, PrivilegedAction, ResourceRef } from '../policy/index.ts';
import type { TenantScope } from '../store/index.ts';

/** Which interface a request came through; recorded with every allowed operation. */
export type Channel = 'api' | 'cli' | 'mcp' | 'web' | 'chat' | 'webhook' | 'host';

/** What the pipeline hands each stage of an operation. */
export interface OperationContext {
  principal: Principal;
  channel: Channel;
  /** One instant for the whole operation: every check and write sees the same time. */
  now: Date;
  /**
   * A step-up the console verified for this request (a WebAuthn assertion bound to `planHash`).
   * Set only by the server's own code after verifying the assertion, never from a request body.
   */
  stepUp?: { planHash: string; keyId: string };
}

/** The effect of an operation: its result, and what its audit entry records. */
export interface Effect<T> {
  result: T;
  /** `type:id` of what was changed, when it differs from the decided resource (e.g. a new plan). */
  resource?: string;
  details?: Record<string, unknown>;
  /**
   * An effect outside the database (a key file, the in-memory policy set), run only after the
   * `allowed` entry has committed (invariant 11: audit before effect). Its outcome is a second
   * entry, `succeeded` with the details it returns, or `failed`.
   */
  afterCommit?: () => Promise<{ result: T; resource?: string; details?: Record<string, unknown> }>;
}

/** A refusal found by a rule or a guard, tagged so it is audited as `denied` with its code. */
export type Guard<I, L> = (tx: TenantScope, loaded: L, input: I, ctx: OperationContext) => void | Promise<void>;

/**
 * One privileged operation: a row of the operations table. The pipeline runs every row the
 * same way: validate → load → decide (code rules + Cedar) → guards → act → audit.
 *
 * - `name` is unique in the table; for a mutation it is usually the Cedar `action` itself.
 * - `gate` is an early decision on what the input alone names, before `prepare` does costly
 *   work (script analysis) that an unauthorized caller must not be able to trigger or observe.
 * - `load` reads what the operation acts on inside the transaction (NOT_FOUND when absent).
 * - `resource` is what policy decides on, built from stored records, never from the request
 *   (invariant 3).
 * - `guards` are the lifecycle and domain checks: each refusal is a `denied` audit entry.
 * - `act` changes state; anything it throws is a `failed` audit entry and rolls back.
 */
export interface Operation<I = unknown, L = unknown, T = unknown, P = unknown> {
  name: string;
  action: PrivilegedAction;
  /** `read`s audit only refusals (an allowed read changes nothing and would flood the log). */
  kind: 'mutation' | 'read';
  summary: string;
  input: z.ZodType<I>;
  gate?: (input: I, ctx: OperationContext) => ResourceRef;
  prepare?: (input: I, ctx: OperationContext) => Promise<P>;
  load: (tx: TenantScope, input: I, ctx: OperationContext, prepared: P) => Promise<L>;
  resource: (loaded: L, input: I, ctx: OperationContext) => ResourceRef;
  guards?: readonly Guard<I, L>[];
  act: (tx: TenantScope, loaded: L, input: I, ctx: OperationContext, prepared: P) => Promise<Effect<T>>;
  /** Runs after the outcome is known, never able to change it (break-glass notifications). */
  settled?: (ctx: OperationContext, input: I | undefined, outcome: { ok: true; result: T } | { ok: false; error: unknown }) => void;
}

// biome-ignore lint/suspicious/noExplicitAny: the table holds operations of every shape.
export type AnyOperation = Operation<any, any, any, any>;

// ---- scale-out: what the pipeline reports to metrics and live notifications ----

/** Told of the pipeline's work; must not throw and must not block (it runs on the request path). */
export interface PipelineObserver {
  /** One decision of the policy engine for `action` (a Cedar action name: a fixed set). */
  decision(action: string, allowed: boolean): void;
  /** An operation ran to its end (after its transaction committed, or failed). */
  settled(operation: string, ok: boolean): void;
}
