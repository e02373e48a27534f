import type { AuthorizationAnswer } from '@cedar-policy/cedar-wasm/nodejs';
import { CountersignError } from '../errors/index.ts';
import { toCedarRequest } from './entities.ts';
import {
  type CedarEngine,
  type CompiledPolicySet,
  cedarContext,
  compilePolicySet,
  defaultCedarEngine,
  describeCedarErrors,
} from './policy-set.ts';
import type { Authorizer, AuthzRequest, Decision, PrivilegedAction, ResourceType } from './types.ts';

export interface CedarAuthorizerOptions {
  /** policy id → the file it was loaded from, so load errors name the file. */
  policyFiles?: Readonly<Record<string, string>>;
  /** The Cedar engine. Defaults to cedar-wasm; tests pass one that fails. */
  engine?: CedarEngine;
}

function unavailable(reason: string): Decision {
  return { allow: false, code: 'POLICY_UNAVAILABLE', reasons: [reason] };
}

/** Decisions kept per authorizer (a few hundred bytes each); the least recently used goes first. */
const DECISIONS_KEPT = 2048;

/** A decision shared between callers from the cache: nothing can change it in place. */
function frozen(decision: Decision): Decision {
  if (decision.allow) return Object.freeze({ ...decision, policies: Object.freeze([...decision.policies]) as string[] });
  return Object.freeze({
    ...decision,
    reasons: Object.freeze([...decision.reasons]) as string[],
    ...(decision.policies ? { policies: Object.freeze([...decision.policies]) as string[] } : {}),
  });
}

/** Stands for a resource's own id in a decision's key when the id cannot change the decision. */
const ANY_ID = '\u0000any';

type CedarInput = ReturnType<typeof toCedarRequest> & { context: unknown };

/**
 * The key a decision is kept under: the JSON of the engine's input, with the resource's id
 * replaced by ANY_ID when no policy names an entity of the resource's type and the id appears
 * nowhere else in the input. Cedar can only compare an entity's id with another entity's or a
 * literal's, so then renaming it changes no answer, and every new plan of one shape — its
 * proposer, environment, risk and source — is decided once, not once per plan id.
 */
export function decisionKey(input: CedarInput, entityLiteralTypes: ReadonlySet<string>): string {
  const { resource } = input;
  const shortType = resource.type.split('::').at(-1) ?? resource.type;
  const named = entityLiteralTypes.has(resource.type) || entityLiteralTypes.has(shortType);
  if (named || resource.type === input.principal.type) return JSON.stringify(input);
  const renamed = { type: resource.type, id: ANY_ID };
  const key = JSON.stringify({
    ...input,
    resource: renamed,
    entities: input.entities.map((e) => {
      const uid = e.uid as { type?: unknown; id?: unknown };
      return uid.type === resource.type && uid.id === resource.id ? { ...e, uid: renamed } : e;
    }),
  });
  // The id elsewhere (an attribute, another entity's parent): keep the exact input.
  return key.includes(JSON.stringify(resource.id).slice(1, -1)) ? JSON.stringify(input) : key;
}

/** A denial no policy explains names the resource asked about: rebuilt per request, as kept decisions are shared. */
function noPolicyPermits(request: AuthzRequest): Decision {
  const { action, resource } = request;
  return {
    allow: false,
    code: 'POLICY_DENIED',
    reasons: [`No policy permits ${action} on ${resource.type} "${resource.id}".`],
    policies: [],
  };
}

/** A kept decision for this request: one without a policy behind it is rebuilt to name this resource. */
function forRequest(decision: Decision, request: AuthzRequest): Decision {
  if (decision.allow || decision.code !== 'POLICY_DENIED' || (decision.policies?.length ?? 0) > 0) return decision;
  return frozen(noPolicyPermits(request));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Cedar authorization over one validated policy set. Deny by default; fails closed: any engine
 * failure, request validation error, policy evaluation error or exception is a
 * POLICY_UNAVAILABLE deny (invariant 1), never an allow.
 *
 * Policies and schema are preparsed once at construction (~67 µs a decision instead of
 * ~690 µs), under names derived from their content, so the engine's cache grows only with the
 * number of distinct policy sets ever loaded, not with reloads of the same one.
 *
 * A decision is a function of the policy set and of what the engine is given: the principal's
 * and the resource's entities, the action and the context. The engine's answer for exactly
 * that input (its JSON is the key) is kept, so a request the engine decided before is not sent
 * again: a call into the engine takes ~0.1 ms in a tight loop but ~0.2–0.5 ms inside a busy
 * server, and every proposal is first decided on its environment. Only answers the engine gave are kept:
 * an engine failure is never remembered, and each reload builds a new authorizer, empty. A new
 * resource whose id no policy can see (a plan just proposed) shares the key of every other of
 * its shape (see decisionKey).
 */
export class CedarAuthorizer implements Authorizer {
  /** Every policy id in the set, sorted. */
  readonly policyIds: readonly string[];
  /** Strict-validation warnings (e.g. a policy that can never match), worth logging at load. */
  readonly warnings: readonly string[];
  readonly #engine: CedarEngine;
  readonly #compiled: CompiledPolicySet;
  readonly #decisions = new Map<string, Decision>();

  /**
   * @param policies policy id → the Cedar text of exactly one static policy
   * @param schema Cedar schema text (see BASELINE_SCHEMA)
   * @throws CountersignError CONFIG_INVALID naming the policy (and file) and the engine's error
   */
  constructor(policies: Readonly<Record<string, string>>, schema: string, options: CedarAuthorizerOptions = {}) {
    this.#engine = options.engine ?? defaultCedarEngine;
    try {
      this.#compiled = compilePolicySet(this.#engine, policies, schema, options.policyFiles);
    } catch (err) {
      if (err instanceof CountersignError) throw err;
      throw new CountersignError('CONFIG_INVALID', `policy engine failed while loading the policy set: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    this.policyIds = Object.freeze([...this.#compiled.policyIds]);
    this.warnings = Object.freeze([...this.#compiled.warnings]);
  }

  /** The resource types the schema lets `action` be asked about; any other type is refused. */
  resourceTypesFor(action: PrivilegedAction): readonly ResourceType[] {
    return [...(this.#compiled.appliesTo.get(action) ?? [])];
  }

  authorize(request: AuthzRequest): Decision {
    const declared = this.#compiled.contextAttributes.get(request.action);
    // A policy set that cannot see the channel cannot have meant to permit chat (fail closed).
    const review = request.action === 'plan.approve' || request.action === 'plan.reject';
    if (review && request.context?.channel === 'chat' && !declared?.has('channel')) {
      return {
        allow: false,
        code: 'POLICY_DENIED',
        reasons: [`the policy schema gives ${request.action} no channel context, so it is not decided from chat`],
        policies: ['code:channel-unseen'],
      };
    }
    let answer: AuthorizationAnswer;
    let key: string;
    try {
      const input = { ...toCedarRequest(request), context: cedarContext(declared, request) };
      key = decisionKey(input, this.#compiled.entityLiteralTypes);
      const known = this.#decisions.get(key);
      if (known) {
        this.#decisions.delete(key);
        this.#decisions.set(key, known);
        return forRequest(known, request);
      }
      answer = this.#engine.statefulIsAuthorized({
        ...input,
        preparsedSchemaName: this.#compiled.schemaName,
        preparsedPolicySetId: this.#compiled.policySetId,
        // Checks the action exists and applies to this resource type, and the entities conform.
        validateRequest: true,
      });
    } catch (err) {
      return unavailable(`policy engine error: ${errorMessage(err)}`);
    }
    let decision: Decision;
    try {
      decision = this.#decide(request, answer);
    } catch (err) {
      // A malformed answer (an engine upgrade, a corrupt result) is still a deny.
      return unavailable(`policy engine returned an unreadable answer: ${errorMessage(err)}`);
    }
    if (decision.allow || decision.code !== 'POLICY_UNAVAILABLE') {
      decision = frozen(decision);
      if (this.#decisions.size >= DECISIONS_KEPT) {
        const oldest = this.#decisions.keys().next().value;
        if (oldest !== undefined) this.#decisions.delete(oldest);
      }
      this.#decisions.set(key, decision);
    }
    return decision;
  }

  #decide(request: AuthzRequest, answer: AuthorizationAnswer): Decision {
    if (answer.type !== 'success') return unavailable(`policy engine error: ${describeCedarErrors(answer.errors)}`);
    const { decision, diagnostics } = answer.response;
    // Cedar skips a policy whose evaluation errors. A skipped forbid could turn a deny into an
    // allow, so any evaluation error denies the whole request, whatever the decision was.
    if (diagnostics.errors.length > 0) {
      const lines = diagnostics.errors.map((e) => `policy "${e.policyId}" could not be evaluated: ${e.error.message}`);
      return { allow: false, code: 'POLICY_UNAVAILABLE', reasons: lines };
    }
    const ids = [...diagnostics.reason];
    if (decision === 'allow') {
      // Cedar names the permits behind every allow; an allow without one is not trusted.
      return ids.length > 0 ? { allow: true, policies: ids } : unavailable('policy engine allowed without naming a policy');
    }
    if (decision !== 'deny') return unavailable(`policy engine returned decision "${String(decision)}"`);
    if (ids.length === 0) return noPolicyPermits(request);
    // A deny with reasons names the forbids that matched: Cedar's diagnostics for a deny list only
    // the determining forbid policies.
    const reasons = ids.map((id) => this.#compiled.reasons.get(id) ?? `Forbidden by policy "${id}".`);
    return { allow: false, code: 'POLICY_DENIED', reasons, policies: ids };
  }
}

/**
 * The authorizer used when no policy set could be loaded: it denies everything, reads included
 * (invariant 1), and says why.
 */
export class DenyAllAuthorizer implements Authorizer {
  readonly #reason: string;

  constructor(reason = 'No policy set is loaded.') {
    this.#reason = reason;
  }

  authorize(_request: AuthzRequest): Decision {
    return unavailable(this.#reason);
  }
}
