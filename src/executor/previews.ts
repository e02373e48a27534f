import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CountersignError } from '../errors/index.ts';
import {
  intactDocument,
  PREVIEW_ERRORS_CAP,
  PREVIEW_OUTPUT_CAP,
  type PreviewedStep,
  previewedSteps,
  previewInput,
  type StepPreview,
} from '../plans/index.ts';
import type { Runtime } from '../runtime.ts';
import { canonicalizePathInputs, pathRootsFor, type Runner } from '../sandbox/index.ts';
import { createRedactor, resolveSecrets } from '../secrets/index.ts';
import type { Store } from '../store/index.ts';
import { assertArgvAllowed, profileFor, renderArgv, type ToolRegistry } from '../tools/index.ts';
import { prepareWorkDir, removeWorkDir } from './work-dir.ts';

/**
 * Previews (issue 17), the executor side: runs a step's read-only preview action in the sandbox
 * and reports what it showed and a fingerprint of what it read (docs/previews.md).
 */

/** The file a preview may write its fingerprint to (inside its work directory), named by this variable. */
export const FINGERPRINT_ENV = 'COUNTERSIGN_PREVIEW_FINGERPRINT';
const FINGERPRINT_FILE = '.countersign-preview-fingerprint';
/** Most of the fingerprint file that is read (a fingerprint is a digest or a version, not data). */
const FINGERPRINT_READ_CAP = 64 * 1024;

export interface PreviewRunDeps {
  tools: ToolRegistry;
  runner: Runner;
  runtime: Runtime;
  workRoot: string;
  secretEnv: Readonly<Record<string, string | undefined>>;
  store: Pick<Store, 'knownSecrets'>;
  log: (line: string) => void;
}

function sha256(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function readFingerprintFile(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(FINGERPRINT_READ_CAP);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return n > 0 ? buf.subarray(0, n) : null;
  } finally {
    closeSync(fd);
  }
}

function capped(text: string, max: number): { text: string; cut: boolean } {
  return text.length > max ? { text: text.slice(0, max), cut: true } : { text, cut: false };
}

/**
 * Runs one step's preview: the preview action's own profile and secrets (never the step's; the
 * manifest was refused at load otherwise), its own fresh work directory (the only writable
 * place), the step's input values for the fields the preview declares. Never throws for a
 * refusal: a preview that cannot run is a failed preview, shown to reviewers as such.
 */
export async function runStepPreview(deps: PreviewRunDeps, p: PreviewedStep, signal?: AbortSignal): Promise<StepPreview> {
  const base = { step: p.idx, tool: p.step.tool, action: p.preview.action };
  const failed = (error: string) => refusedPreview(p, error);
  const tool = deps.tools.get(p.step.tool);
  if (!tool || tool.digest !== p.step.toolDigest) return failed(`tool ${p.step.tool} changed since the plan was proposed`);
  const manifest = tool.manifest;
  const profile = profileFor(manifest, p.preview.action);
  const name = `preview-${deps.runtime.newId('prv')}`;
  const workDir = prepareWorkDir(deps.workRoot, name);
  try {
    let argv: string[];
    let secrets: Record<string, string>;
    try {
      const input = canonicalizePathInputs(
        manifest,
        p.preview.action,
        previewInput(manifest, p.preview, p.step.input),
        pathRootsFor(profile, workDir),
      );
      argv = renderArgv(manifest, p.preview.action, input);
      assertArgvAllowed(manifest, p.preview.action, argv);
      secrets = await resolveSecrets(profile.secrets, { env: deps.secretEnv });
    } catch (err) {
      return failed(err instanceof CountersignError ? `[${err.code}] ${err.message}` : (err as Error).message);
    }
    deps.store.knownSecrets.add(Object.values(secrets));
    const redact = createRedactor(Object.values(secrets));
    const fingerprintPath = join(workDir, FINGERPRINT_FILE);
    let result: Awaited<ReturnType<Runner['run']>>;
    try {
      result = await deps.runner.run(
        {
          executable: manifest.executable.path,
          expectedSha256: manifest.executable.sha256,
          argv,
          profile: { ...profile, env: { ...profile.env, [FINGERPRINT_ENV]: fingerprintPath } },
          workDir,
          secrets,
        },
        {
          signal,
          onEgressDenied: (d) =>
            deps.log(`preview ${p.step.tool}.${p.preview.action}: egress to ${d.host}:${d.port} refused (${d.reason})`),
        },
      );
    } catch (err) {
      return failed(err instanceof CountersignError ? `[${err.code}] ${err.message}` : (err as Error).message);
    }
    const clean = (t: string) => deps.store.knownSecrets.redact(redact(t));
    const output = capped(clean(result.stdout), PREVIEW_OUTPUT_CAP);
    const errors = capped(clean(result.stderr), PREVIEW_ERRORS_CAP);
    const ok = result.exitCode === 0 && !result.timedOut && result.failure === null;
    const file = readFingerprintFile(fingerprintPath);
    return {
      ...base,
      status: result.timedOut ? 'timed_out' : ok ? 'ok' : 'failed',
      output: output.text,
      errors: errors.text,
      truncated: result.truncated || output.cut || errors.cut,
      exitCode: result.exitCode,
      // The raw output (as the runner returns it) when the tool reports no fingerprint of its own.
      fingerprint: file ? sha256(file) : sha256(result.stdout),
      fingerprintSource: file ? 'file' : 'output',
      error: result.timedOut
        ? 'timed out'
        : result.failure
          ? result.failure
          : ok
            ? null
            : `exit code ${result.exitCode}${result.signal ? ` (${result.signal})` : ''}`,
    };
  } finally {
    await deps.runner.releaseWorkDir?.(workDir).catch(() => undefined);
    removeWorkDir(deps.workRoot, name);
  }
}

/** A preview that could not run (refused before the sandbox, or given up): failed, with why. */
function refusedPreview(p: PreviewedStep, error: string): StepPreview {
  return {
    step: p.idx,
    tool: p.step.tool,
    action: p.preview.action,
    status: 'failed',
    output: '',
    errors: '',
    truncated: false,
    exitCode: null,
    fingerprint: sha256(`refused:${error}`),
    fingerprintSource: 'output',
    error,
  };
}

/** A preview run again moved from the one reviewers saw: another status or another fingerprint. */
export function previewMoved(reviewed: StepPreview, now: StepPreview): boolean {
  return reviewed.status !== now.status || reviewed.fingerprint !== now.fingerprint;
}

/** Most attempts at one preview job: a job whose executors keep dying is reported as failed previews. */
const MAX_PREVIEW_ATTEMPTS = 3;

/**
 * Claims preview jobs (leased like executions: a crashed executor's job is claimed again once its
 * lease ran out), runs every previewed step's preview and hands the results to the API, which
 * attaches them (the executor holds no key that could seal a plan).
 */
export class PreviewWorker {
  constructor(private readonly deps: PreviewRunDeps & { store: Store; owner: string; leaseMs: number }) {}

  async runOnce(signal?: AbortSignal): Promise<boolean> {
    const { store, owner, leaseMs, runtime } = this.deps;
    const job = await store.previewQueue.claim(owner, leaseMs, runtime.now());
    if (!job) return false;
    const heartbeat = setInterval(
      () => void store.previewQueue.renew(job.planId, owner, leaseMs, runtime.now()).catch(() => undefined),
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    try {
      const plan = await store.scope(job.tenantId).plans.get(job.planId);
      if (!plan || plan.hash !== job.planHash) return true;
      const doc = intactDocument(plan);
      const steps = previewedSteps(this.deps.tools, doc.steps);
      const results: StepPreview[] = [];
      for (const p of steps) {
        results.push(
          job.attempt > MAX_PREVIEW_ATTEMPTS
            ? refusedPreview(p, `the executor was lost ${job.attempt - 1} times while previewing; not run again`)
            : await runStepPreview(this.deps, p, signal),
        );
      }
      // An executor stopping mid-preview reports nothing: the job is claimed again once its lease ran out.
      if (signal?.aborted) return true;
      if (!(await store.previewQueue.complete(job.planId, job.planHash, owner, JSON.stringify(results), runtime.now().toISOString())))
        this.deps.log(`plan ${job.planId}: lost the preview lease; another executor reports its previews`);
      else this.deps.log(`plan ${job.planId}: ${results.length} preview(s) ran (${results.map((r) => r.status).join(', ')})`);
    } catch (err) {
      this.deps.log(`plan ${job.planId}: previews failed in the executor (retried once the lease runs out): ${(err as Error).message}`);
    } finally {
      clearInterval(heartbeat);
    }
    return true;
  }
}
