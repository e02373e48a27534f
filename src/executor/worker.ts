import { join } from 'node:path';
import type { AuditAction, AuditOutcome } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';
import { assertGrantLive, type GrantClaims, type GrantKeyLookup, verifyGrant } from '../grants/index.ts';
import type { Metrics } from '../metrics/index.ts';
import { recordNotification } from '../notifications/index.ts';
import {
  assertStepMayRun,
  assertToolsUnchanged,
  intactDocument,
  type PlanDocument,
  type PlanStatus,
  previewedSteps,
  reopenForPreview,
  type StepPreview,
} from '../plans/index.ts';
import type { Runtime } from '../runtime.ts';
import { canonicalizePathInputs, pathRootsFor, type Runner } from '../sandbox/index.ts';
import { createRedactor, resolveSecrets } from '../secrets/index.ts';
import {
  type ExecutionRecord,
  type ExecutionStatus,
  isStoreUnavailable,
  type StepRecord,
  type Store,
  type TenantScope,
} from '../store/index.ts';
import { currentSpan, inSpan, linkToOrigin, type Tracing, withLogFields } from '../telemetry/index.ts';
import type { ToolRegistry } from '../tools/index.ts';
import { assertArgvAllowed, profileFor, renderArgv } from '../tools/index.ts';
import { previewMoved, runStepPreview } from './previews.ts';
import { type RetryPolicy, runWithRetry } from './step-runner.ts';
import { retryWhileStoreUnavailable } from './store-retry.ts';
import { prepareWorkDir, removeWorkDir } from './work-dir.ts';

export interface WorkerDeps {
  store: Store;
  tools: ToolRegistry;
  runner: Runner;
  grantKeys: GrantKeyLookup;
  runtime: Runtime;
  /** This worker's identity in leases. */
  owner: string;
  leaseMs: number;
  retry: RetryPolicy;
  workRoot: string;
  /** Where `env:NAME` secrets are read from: the executor's own environment. */
  secretEnv: Readonly<Record<string, string | undefined>>;
  log: (line: string) => void;
  /**
   * Further per-step checks the executor composes (the step's tool against the trust store as it
   * is now; an override execution's revocation): null lets the step run, a reason refuses it.
   */
  revalidateStep: (input: StepCheckInput) => Promise<string | null>;
  /** Step durations and refusals, for the executor's /metrics. */
  metrics?: Pick<Metrics, 'stepSeconds' | 'sandboxRefusals'>;
  /** observability: execution and step spans, linked to the plan's proposal (absent: off). */
  tracing?: Tracing;
}

export interface StepCheckInput {
  scope: TenantScope;
  exec: ExecutionRecord;
  claims: GrantClaims;
  step: StepRecord;
}

/** The lease moved to another worker: stop touching this execution, record nothing more. */
class LeaseLost extends Error {
  constructor(id: string) {
    super(`lost the lease on ${id}; another executor owns it now`);
  }
}

/** How long a live event waits for an unavailable database before it is given up (and logged). */
const EVENT_RETRY_MS = 30_000;

/** Fire-and-forget events, written strictly in order; failures are logged, never thrown. */
class EventQueue {
  #tail: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly write: (type: string, data: Record<string, unknown>) => Promise<unknown>,
    private readonly log: (line: string) => void,
  ) {}
  /** When the current outage began: one window for the whole queue, not one per queued event. */
  #outageSince: number | null = null;
  push(type: string, data: Record<string, unknown>): void {
    this.#tail = this.#tail
      // Through a database restart, events wait and are written in order once it answers.
      .then(async () => {
        const window = this.#outageSince === null ? EVENT_RETRY_MS : Math.max(0, EVENT_RETRY_MS - (Date.now() - this.#outageSince));
        await retryWhileStoreUnavailable(
          () => this.write(type, data),
          window,
          () => {
            this.#outageSince ??= Date.now();
          },
        );
        this.#outageSince = null;
      })
      .catch((err: Error) => this.log(`could not record a ${type} event: ${err.message}`));
  }
  flush(): Promise<unknown> {
    return this.#tail;
  }
}

class Stop extends Error {
  constructor(
    readonly status: ExecutionStatus,
    message: string,
  ) {
    super(message);
  }
}

const PLAN_OUTCOME: Partial<Record<ExecutionStatus, PlanStatus>> = {
  succeeded: 'succeeded',
  failed: 'failed',
  rolled_back: 'rolled_back',
  needs_attention: 'needs_attention',
};

/**
 * The privileged worker: claims one execution at a time with a lease, re-validates everything
 * before every step (invariant 8), audits each step before running it (invariant 11), runs it
 * through the runner (the sandbox), rolls back on failure, and never runs a non-idempotent step
 * twice after a crash (invariant 10).
 */
export class ExecutionWorker {
  #aborter = new AbortController();

  constructor(private readonly deps: WorkerDeps) {}

  #draining = false;

  /**
   * Graceful drain: the current step finishes, then the execution is released (back to queued,
   * lease cleared) so another executor continues with the next step — nothing runs twice.
   */
  drain(): void {
    this.#draining = true;
  }

  async #release(scope: TenantScope, exec: ExecutionRecord): Promise<void> {
    const at = this.#now();
    await this.deps.store.transaction(exec.tenantId, async (tx) => {
      if (await tx.executions.updateOwned(exec.id, this.deps.owner, { status: 'queued', lease_owner: null, lease_expires_at: null })) {
        await tx.executions.appendEvent(exec.id, at, 'execution.released', { reason: 'executor draining', owner: this.deps.owner });
        await tx.audit({
          actor: this.deps.owner,
          action: 'plan.status',
          outcome: 'succeeded',
          resource: `execution:${exec.id}`,
          details: { plan: exec.planId, status: 'queued', reason: 'released by a draining executor' },
        });
      }
    });
    void scope;
    this.deps.log(`released ${exec.id} while draining`);
  }

  /** Stops the current step (used when the lease is lost or on a hard stop). */
  abortCurrent(): void {
    this.#aborter.abort();
  }

  /** Claims and processes one execution; false when there was nothing to do. */
  async runOnce(): Promise<boolean> {
    const exec = await this.deps.store.claimExecutionForExecutor(this.deps.owner, this.deps.leaseMs);
    if (!exec) return false;
    // observability: every log line of this execution names it and its plan.
    return withLogFields({ executionId: exec.id, planId: exec.planId }, () => this.#runClaimed(exec));
  }

  async #runClaimed(exec: ExecutionRecord): Promise<boolean> {
    this.#aborter = new AbortController();
    const heartbeat = setInterval(
      () => {
        void this.deps.store.renewExecutionLease(exec.id, this.deps.owner, this.deps.leaseMs).then(
          (ok) => {
            if (!ok) {
              this.deps.log(`lost the lease on ${exec.id}; stopping it here`);
              this.#aborter.abort();
            }
          },
          () => undefined,
        );
      },
      Math.max(50, Math.floor(this.deps.leaseMs / 3)),
    );
    try {
      const attributes = { 'countersign.execution_id': exec.id, 'countersign.plan_id': exec.planId, 'countersign.attempt': exec.attempt };
      await inSpan('execution', attributes, () => this.#process(exec), { tracing: this.deps.tracing });
    } catch (err) {
      if (err instanceof LeaseLost) {
        this.#aborter.abort();
        this.deps.log(err.message);
        return true;
      }
      if (isStoreUnavailable(err)) {
        // Nothing is decided while the database is away: the execution keeps its records, its
        // lease runs out, and whichever executor claims it next resumes it by the crash rules
        // (a step left running is retried only when idempotent), so nothing runs twice.
        this.deps.log(
          `execution ${exec.id} paused: the database is unavailable (${(err as Error).message}); it resumes once its lease expires`,
        );
        return true;
      }
      this.deps.log(`execution ${exec.id} crashed in the worker: ${(err as Error).stack ?? String(err)}`);
      await this.#finish(this.deps.store.scope(exec.tenantId), exec, 'needs_attention', `executor error: ${(err as Error).message}`).catch(
        () => undefined,
      );
    } finally {
      clearInterval(heartbeat);
    }
    return true;
  }

  async #process(exec: ExecutionRecord): Promise<void> {
    const scope = this.deps.store.scope(exec.tenantId);
    const plan = await scope.plans.get(exec.planId);
    if (!plan) return this.#finish(scope, exec, 'failed', 'the plan is gone');
    linkToOrigin(plan, 'plan.propose');
    let claims: GrantClaims;
    let granted: PlanDocument;
    try {
      // Expiry is judged at the first claim; a worker resuming after a crash judges at that time.
      const at = exec.attempt > 1 && exec.startedAt ? new Date(exec.startedAt) : this.deps.runtime.now();
      claims = await verifyGrant(exec.grantToken, this.deps.grantKeys, at);
      this.#checkBinding(exec, claims);
      granted = intactDocument(plan, claims.planHash);
      assertToolsUnchanged(plan, granted, this.deps.tools);
    } catch (err) {
      await this.#audit(scope, exec, 'plan.execute', 'denied', {
        stage: 'claim',
        error: (err as Error).message,
        code: (err as CountersignError).code,
      });
      return this.#finish(scope, exec, 'failed', `refused at claim: ${(err as Error).message}`);
    }
    await scope.executions.appendEvent(exec.id, this.#now(), 'execution.started', { attempt: exec.attempt, owner: this.deps.owner });
    const workDir = prepareWorkDir(this.deps.workRoot, exec.id);

    let steps = await scope.executions.steps(exec.id);
    if (exec.attempt > 1) {
      const lost = steps.filter((s) => s.status === 'running');
      for (const s of lost) {
        const action = this.deps.tools.get(s.tool)?.manifest.actions[s.action];
        if (!action?.idempotent) {
          const reason = `executor lost during ${s.phase} step ${s.idx + 1} (${s.tool}.${s.action}); the action is not idempotent, so it was not run again`;
          await scope.executions.updateStep(exec.id, s.phase, s.idx, { status: 'failed', error: reason, finished_at: this.#now() });
          return this.#finish(scope, exec, 'needs_attention', reason);
        }
        await scope.executions.updateStep(exec.id, s.phase, s.idx, {
          status: 'pending',
          error: 'retried after the executor was lost (idempotent)',
        });
        await scope.executions.appendEvent(exec.id, this.#now(), 'step.retry', {
          phase: s.phase,
          index: s.idx,
          reason: 'executor lost; idempotent',
        });
      }
      steps = await scope.executions.steps(exec.id);
    }

    const main = steps.filter((s) => s.phase === 'main');
    try {
      // previews (issue 17): before anything runs (and once the grant, freezes and approvals have
      // been checked as for the first step), every reviewed preview must still read the same state.
      const first = main[0];
      if (first && granted.previews?.length && main.every((s) => s.status === 'pending')) {
        await this.#revalidate(scope, exec, claims, first);
        const moved = await this.#recheck(granted, granted.previews);
        if (moved.length > 0) return this.#stale(scope, exec, moved);
      }
      // Whether a main step before the current one ran (here, or before a crash or a drain).
      let earlierRan = false;
      for (const step of main) {
        if (step.status === 'succeeded') {
          earlierRan = true;
          continue;
        }
        if (this.#draining) return this.#release(scope, exec);
        // previews (issue 17): a later step whose preview moved is refused like a failed step; the rollback policy applies.
        if (earlierRan || step.status !== 'pending') {
          const reviewed = granted.previews?.find((p) => p.step === step.idx);
          const recheck = previewedSteps(this.deps.tools, granted.steps).find((p) => p.idx === step.idx)?.preview.recheck;
          if (reviewed && recheck === 'before-step') {
            const [moved] = await this.#recheck(granted, [reviewed]);
            if (moved) {
              await this.#refuseStep(exec, step, new CountersignError('PLAN_STALE', moved));
              return this.#rollback(
                scope,
                exec,
                claims,
                steps,
                workDir,
                `step ${step.idx + 1} (${step.tool}.${step.action}) stale: ${moved}`,
              );
            }
          }
        }
        earlierRan = true;
        const ok = await this.#runStep(scope, exec, claims, step, workDir);
        if (!ok) return this.#rollback(scope, exec, claims, steps, workDir, `step ${step.idx + 1} (${step.tool}.${step.action}) failed`);
      }
      return this.#finish(scope, exec, 'succeeded', null);
    } catch (err) {
      if (err instanceof Stop) return this.#finish(scope, exec, err.status, err.message);
      throw err;
    }
  }

  // ---- previews (issue 17) ----

  /** Runs the given reviewed previews again; returns why each one that moved did (empty: none moved). */
  async #recheck(doc: PlanDocument, reviewed: readonly StepPreview[]): Promise<string[]> {
    const byStep = new Map(previewedSteps(this.deps.tools, doc.steps).map((p) => [p.idx, p]));
    const moved: string[] = [];
    for (const before of reviewed) {
      const p = byStep.get(before.step);
      if (!p) {
        moved.push(`step ${before.step + 1}: its tool no longer names the preview that was reviewed`);
        continue;
      }
      const now = await runStepPreview(this.deps, p, this.#aborter.signal);
      if (previewMoved(before, now)) {
        moved.push(
          `step ${before.step + 1} (${p.step.tool}.${p.step.action}): preview ${p.preview.action} was ${before.status} ${before.fingerprint.slice(0, 19)}…, is now ${now.status} ${now.fingerprint.slice(0, 19)}…`,
        );
      }
    }
    return moved;
  }

  /**
   * Stale before any step ran (like a saved plan whose state changed): the execution stops as
   * `stale`, the plan goes back to `previewing` through the lifecycle, and fresh previews are
   * queued; review opens (and reviewers hear of it) once they are attached to new content, whose
   * new hash no approval of the old content names.
   */
  async #stale(scope: TenantScope, exec: ExecutionRecord, moved: string[]): Promise<void> {
    const at = this.#now();
    const reason = `stale: ${moved.join('; ')}`;
    let applied = false;
    await this.#stored(() =>
      this.deps.store.transaction(exec.tenantId, async (tx) => {
        const owned = await tx.executions.updateOwned(exec.id, this.deps.owner, {
          status: 'stale',
          reason,
          finished_at: at,
          lease_owner: null,
          lease_expires_at: null,
        });
        if (!owned) return;
        const plan = await tx.plans.get(exec.planId);
        if (!plan) throw new CountersignError('NOT_FOUND', `plan ${exec.planId} is gone`);
        await reopenForPreview(tx, plan, reason, new Date(at));
        applied = true;
        await tx.executions.appendEvent(exec.id, at, 'execution.finished', { status: 'stale', reason });
        await tx.audit({
          actor: this.deps.owner,
          action: 'plan.stale',
          outcome: 'denied',
          resource: `plan:${exec.planId}`,
          details: { execution: exec.id, hash: plan.hash, status: 'previewing', moved },
        });
      }),
    );
    void scope;
    if (applied) {
      this.deps.log(`execution ${exec.id}: stale (${reason}); plan ${exec.planId} goes back for review`);
      await this.deps.runner.releaseWorkDir?.(join(this.deps.workRoot, exec.id)).catch(() => undefined);
      removeWorkDir(this.deps.workRoot, exec.id);
    }
  }

  async #rollback(
    scope: TenantScope,
    exec: ExecutionRecord,
    claims: GrantClaims,
    steps: StepRecord[],
    workDir: string,
    why: string,
  ): Promise<void> {
    const rollback = steps.filter((s) => s.phase === 'rollback').sort((a, b) => b.idx - a.idx);
    if (rollback.length === 0) return this.#finish(scope, exec, 'failed', why);
    await scope.executions.appendEvent(exec.id, this.#now(), 'rollback.started', { reason: why });
    try {
      for (const step of rollback) {
        if (step.status === 'succeeded') continue;
        if (!(await this.#runStep(scope, exec, claims, step, workDir))) {
          return this.#finish(
            scope,
            exec,
            'needs_attention',
            `${why}; rollback step ${step.idx + 1} (${step.tool}.${step.action}) failed too`,
          );
        }
      }
    } catch (err) {
      if (err instanceof Stop) return this.#finish(scope, exec, 'needs_attention', `${why}; rollback stopped: ${err.message}`);
      throw err;
    }
    return this.#finish(scope, exec, 'rolled_back', `${why}; rolled back`);
  }

  /**
   * Re-checks everything the grant promised, right before the step (invariant 8), with the same
   * lifecycle functions the API uses before it mints a grant: the grant is live and bound here,
   * the step is in its scope, the plan is still the granted content with unchanged tools, no kill
   * switch is on, its reviews still stand. A refusal is audited `denied` with its code, recorded
   * on the step, and stops the execution. Returns the plan document as checked.
   */
  async #revalidate(scope: TenantScope, exec: ExecutionRecord, claims: GrantClaims, step: StepRecord): Promise<PlanDocument> {
    let doc: PlanDocument;
    try {
      await assertGrantLive(scope, claims, exec.id);
      const inScope = step.phase === 'main' ? claims.scope.steps.includes(step.idx) : claims.scope.rollback.includes(step.idx);
      if (!inScope) throw new CountersignError('GRANT_INVALID', `${step.phase} step ${step.idx + 1} is outside the grant's scope`);
      const plan = await scope.plans.get(exec.planId);
      if (!plan) throw new CountersignError('NOT_FOUND', `plan ${exec.planId} is gone`);
      doc = await assertStepMayRun(scope, plan, {
        grantedHash: claims.planHash,
        tools: this.deps.tools,
        keys: this.deps.grantKeys,
        step,
        basis: claims.override ? 'override' : 'approvals',
        grantedAt: new Date(exec.createdAt),
      });
      const refusal = await this.deps.revalidateStep({ scope, exec, claims, step });
      if (refusal) throw new CountersignError(claims.override ? 'OVERRIDE_REVOKED' : 'TOOL_UNTRUSTED', refusal);
    } catch (err) {
      if (!(err instanceof CountersignError)) throw err;
      await this.#refuseStep(exec, step, err);
      throw new Stop('failed', `[${err.code}] ${err.message}`);
    }
    if (!(await this.deps.store.renewExecutionLease(exec.id, this.deps.owner, this.deps.leaseMs)))
      throw new Stop('needs_attention', 'lease lost before the step');
    return doc;
  }

  /**
   * A step refused before it ran: audited `denied` with the code, and failed with the reason on
   * the step — only by the lease holder, in one transaction: a worker that lost its lease leaves
   * the new owner's records alone.
   */
  async #refuseStep(exec: ExecutionRecord, step: StepRecord, err: CountersignError): Promise<void> {
    this.deps.metrics?.sandboxRefusals.inc({ code: err.code });
    await this.deps.store.transaction(exec.tenantId, async (tx) => {
      if (!(await tx.executions.holdsLease(exec.id, this.deps.owner))) throw new LeaseLost(exec.id);
      await tx.audit({
        actor: this.deps.owner,
        action: 'execution.step',
        outcome: 'denied',
        resource: `execution:${exec.id}`,
        details: { phase: step.phase, index: step.idx, code: err.code, reason: err.message },
      });
      await tx.executions.updateStep(exec.id, step.phase, step.idx, {
        status: 'failed',
        error: `refused before it ran: [${err.code}] ${err.message}`,
        finished_at: this.#now(),
      });
    });
  }

  #runStep(scope: TenantScope, exec: ExecutionRecord, claims: GrantClaims, step: StepRecord, workDir: string): Promise<boolean> {
    const attributes = {
      'countersign.step.phase': step.phase,
      'countersign.step.index': step.idx,
      'countersign.step.tool': step.tool,
      'countersign.step.action': step.action,
    };
    return inSpan('execution.step', attributes, () => this.#runStepTraced(scope, exec, claims, step, workDir));
  }

  async #runStepTraced(
    scope: TenantScope,
    exec: ExecutionRecord,
    claims: GrantClaims,
    step: StepRecord,
    workDir: string,
  ): Promise<boolean> {
    const current = await this.#revalidate(scope, exec, claims, step);
    const planStep = (step.phase === 'main' ? current.steps : current.rollback)[step.idx];
    const tool = planStep ? this.deps.tools.get(planStep.tool) : undefined;
    const action = tool && planStep ? tool.manifest.actions[planStep.action] : undefined;
    if (!planStep || !tool || !action) throw new Stop('failed', `tool ${step.tool} has no action ${step.action}`);
    const profile = profileFor(tool.manifest, planStep.action);
    let argv: string[];
    try {
      // Path inputs are resolved on the host now (symlinks, `..`, mounts) and must stay inside the
      // profile's roots as laid out in the sandbox: a check on the strings alone is not enough.
      const input = canonicalizePathInputs(tool.manifest, planStep.action, planStep.input, pathRootsFor(profile, workDir));
      argv = renderArgv(tool.manifest, planStep.action, input);
      assertArgvAllowed(tool.manifest, planStep.action, argv);
    } catch (err) {
      const refusal = err instanceof CountersignError ? err : new CountersignError('ARGUMENT_REFUSED', (err as Error).message);
      await this.#refuseStep(exec, step, refusal);
      throw new Stop('failed', refusal.message);
    }
    let secrets: Record<string, string>;
    try {
      secrets = await resolveSecrets(profile.secrets, { env: this.deps.secretEnv });
    } catch (err) {
      const refusal = err instanceof CountersignError ? err : new CountersignError('SECRET_UNAVAILABLE', (err as Error).message);
      await this.#refuseStep(exec, step, refusal);
      throw new Stop('failed', refusal.message);
    }
    // Known to the store from now on: audit details, events, step text and logs are redacted of them.
    this.deps.store.knownSecrets.add(Object.values(secrets));
    const redact = createRedactor(Object.values(secrets));
    // Audit before effect (invariant 11): the entry and the `running` mark commit before the run.
    const started = this.#now();
    await this.deps.store.transaction(exec.tenantId, async (tx) => {
      // The lease is re-checked under the row lock: a worker that lost it never starts the step.
      if (!(await tx.executions.holdsLease(exec.id, this.deps.owner))) throw new LeaseLost(exec.id);
      await tx.audit({
        actor: this.deps.owner,
        action: 'execution.step',
        outcome: 'allowed',
        resource: `execution:${exec.id}`,
        details: {
          phase: step.phase,
          index: step.idx,
          tool: step.tool,
          action: step.action,
          argv: argv.map(redact),
          runner: this.deps.runner.kind,
        },
      });
      await tx.executions.updateStep(exec.id, step.phase, step.idx, {
        status: 'running',
        started_at: started,
        attempts: step.attempts + 1,
      });
      await tx.executions.appendEvent(exec.id, started, 'step.started', {
        phase: step.phase,
        index: step.idx,
        tool: step.tool,
        action: step.action,
      });
    });
    // Live events of this step are written in order, one at a time, and flushed before the step
    // is recorded, so the stream never shows them after `step.finished`.
    const events = new EventQueue((type, data) => scope.executions.appendEvent(exec.id, this.#now(), type, data), this.deps.log);
    const outcome = await runWithRetry(
      this.deps.runner,
      { executable: tool.manifest.executable.path, expectedSha256: tool.manifest.executable.sha256, argv, profile, workDir, secrets },
      action.idempotent,
      this.deps.retry,
      {
        signal: this.#aborter.signal,
        // Already redacted by the runner's per-stream redactor (across chunk boundaries); the store redacts again.
        onOutput: (stream, chunk) => events.push('output', { phase: step.phase, index: step.idx, stream, chunk }),
        onAttempt: (n) => {
          if (n > 1) events.push('step.retry', { phase: step.phase, index: step.idx, attempt: n });
        },
        onEgressDenied: (d) => {
          this.deps.metrics?.sandboxRefusals.inc({ code: 'EGRESS_DENIED' });
          void this.#audit(scope, exec, 'execution.step', 'denied', {
            phase: step.phase,
            index: step.idx,
            egress: `${d.host}:${d.port}`,
            reason: d.reason,
          }).catch(() => undefined);
        },
      },
    );
    const r = outcome.result;
    const ok = Boolean(r && r.exitCode === 0 && !r.timedOut && r.failure === null);
    currentSpan().setAttributes({
      'countersign.step.outcome': ok ? 'succeeded' : 'failed',
      'countersign.step.exit_code': r?.exitCode ?? undefined,
      'countersign.step.duration_seconds': r ? r.durationMs / 1000 : undefined,
      'countersign.step.attempts': outcome.attempts,
    });
    const error = outcome.error
      ? outcome.error.message
      : r?.timedOut
        ? 'timed out'
        : r?.failure
          ? r.failure
          : r && r.exitCode !== 0
            ? `exit code ${r.exitCode}${r.signal ? ` (${r.signal})` : ''}`
            : null;
    this.deps.metrics?.stepSeconds.observe(
      { outcome: ok ? 'succeeded' : 'failed' },
      (Date.parse(this.#now()) - Date.parse(started)) / 1000,
    );
    await events.flush();
    const finished = this.#now();
    // The step ran: its outcome is recorded even through a database restart, while the lease can
    // still be ours. A retry after a commit whose acknowledgement was lost finds the step no
    // longer running and writes nothing twice.
    await this.#stored(() =>
      this.deps.store.transaction(exec.tenantId, async (tx) => {
        // Only the lease holder records the outcome; a worker that lost it leaves the new owner's record alone.
        if (!(await tx.executions.holdsLease(exec.id, this.deps.owner))) throw new LeaseLost(exec.id);
        const now = (await tx.executions.steps(exec.id)).find((s) => s.phase === step.phase && s.idx === step.idx);
        if (now?.status !== 'running') return;
        await tx.executions.updateStep(exec.id, step.phase, step.idx, {
          status: ok ? 'succeeded' : 'failed',
          attempts: step.attempts + outcome.attempts,
          exit_code: r?.exitCode ?? null,
          stdout: redact(r?.stdout ?? ''),
          stderr: redact(r?.stderr ?? ''),
          truncated: r?.truncated ? 1 : 0,
          error,
          finished_at: finished,
        });
        await tx.executions.appendEvent(exec.id, finished, 'step.finished', {
          phase: step.phase,
          index: step.idx,
          status: ok ? 'succeeded' : 'failed',
          exitCode: r?.exitCode ?? null,
          error,
        });
        await tx.audit({
          actor: this.deps.owner,
          action: 'execution.step',
          outcome: ok ? 'succeeded' : 'failed',
          resource: `execution:${exec.id}`,
          details: {
            phase: step.phase,
            index: step.idx,
            exitCode: r?.exitCode ?? null,
            attempts: outcome.attempts,
            error,
            durationMs: r?.durationMs ?? null,
          },
        });
      }),
    );
    if (this.#aborter.signal.aborted) throw new Stop('needs_attention', 'the step was stopped (lease lost or executor stopping)');
    return ok;
  }

  #checkBinding(exec: ExecutionRecord, claims: GrantClaims): void {
    const bad = (reason: string) => {
      throw new CountersignError('GRANT_INVALID', reason, { details: { reason } });
    };
    if (claims.jti !== exec.grantJti) bad('the grant is not the one this execution consumed');
    if (claims.planId !== exec.planId) bad('the grant is for another plan');
    if (claims.tenant !== exec.tenantId) bad('the grant is for another tenant');
    if (claims.environment !== exec.environment) bad('the grant is for another environment');
  }

  async #finish(scope: TenantScope, exec: ExecutionRecord, status: ExecutionStatus, reason: string | null): Promise<void> {
    const at = this.#now();
    let applied = false;
    // Repeatable: once it committed, the lease is cleared and a repeat finds nothing it owns.
    await this.#stored(() =>
      this.deps.store.transaction(exec.tenantId, async (tx) => {
        const owned = await tx.executions.updateOwned(exec.id, this.deps.owner, {
          status,
          reason,
          finished_at: at,
          lease_owner: null,
          lease_expires_at: null,
        });
        if (!owned) return; // another worker took over: it decides the outcome
        applied = true;
        currentSpan().setAttributes({ 'countersign.execution.status': status });
        const planStatus = PLAN_OUTCOME[status];
        if (planStatus) await tx.plans.setStatus(exec.planId, 'executing', planStatus, at, reason);
        await tx.executions.appendEvent(exec.id, at, 'execution.finished', { status, reason });
        await tx.audit({
          actor: this.deps.owner,
          action: 'plan.status',
          outcome: status === 'succeeded' ? 'succeeded' : 'failed',
          resource: `execution:${exec.id}`,
          details: { plan: exec.planId, status, reason },
        });
        const change = { operation: 'execution.finish', resource: `execution:${exec.id}`, actor: this.deps.owner, at: new Date(at) };
        await recordNotification(tx, { ...change, details: { plan: exec.planId, execution: exec.id, status, reason } }, (p) =>
          this.deps.runtime.newId(p),
        );
      }),
    );
    void scope;
    if (applied) {
      this.deps.log(`execution ${exec.id}: ${status}${reason ? ` (${reason})` : ''}`);
      // The runner's disk for the directory goes first (its content with it), then the directory.
      await this.deps.runner.releaseWorkDir?.(join(this.deps.workRoot, exec.id)).catch(() => undefined);
      removeWorkDir(this.deps.workRoot, exec.id);
    }
  }

  async #audit(
    scope: TenantScope,
    exec: ExecutionRecord,
    action: AuditAction,
    outcome: AuditOutcome,
    details: Record<string, unknown>,
  ): Promise<void> {
    await scope.audit({ actor: this.deps.owner, action, outcome, resource: `execution:${exec.id}`, details });
  }

  /** A repeatable write retried through a database restart for as long as the lease lasts. */
  #stored<T>(write: () => Promise<T>): Promise<T> {
    return retryWhileStoreUnavailable(write, this.deps.leaseMs, (err, n) => {
      if (n === 1) this.deps.log(`the database is unavailable (${err.message}); retrying`);
    });
  }

  #now(): string {
    return this.deps.runtime.now().toISOString();
  }
}
