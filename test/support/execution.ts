import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDocument, parse as parseYaml } from 'yaml';
import { defaultWorkRoot } from '../../src/executor/executor.ts';
import type { Principal } from '../../src/policy/types.ts';
import {
  formatSignatureFile,
  manifestSigningText,
  readPublisherPrivateKey,
  SIGNATURE_SUFFIX,
  signManifestText,
} from '../../src/tools/index.ts';
import { CLI_ARGS } from './cli.ts';
import { type TestServer, tempDir } from './server.ts';

export const TERMINAL_STATUSES = ['succeeded', 'failed', 'rolled_back', 'needs_attention'] as const;

export interface ExecutorSettings {
  leaseSeconds?: number;
  pollMilliseconds?: number;
  retryAttempts?: number;
  retryBaseMilliseconds?: number;
  drainSeconds?: number;
}

/** Edits `executor:` in a data dir's countersign.yaml (before the server or an executor loads it). */
export function configureExecutor(dir: string, settings: ExecutorSettings): void {
  const file = join(dir, 'countersign.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) doc.setIn(['executor', k], v);
  writeFileSync(file, doc.toString());
}

/**
 * Signs every manifest in `<dir>/tools` that has no signature file yet with the installation's
 * own publisher key (the one init created and trusted), as an operator would with `tool sign`.
 */
export function signTestTools(dir: string): void {
  const keys = join(dir, 'keys');
  const keyFile = readdirSync(keys).find((n) => /^publisher-[0-9a-f]{16}\.key$/.test(n));
  assert.ok(keyFile, `no publisher key in ${keys}`);
  const key = readPublisherPrivateKey(join(keys, keyFile));
  for (const name of readdirSync(join(dir, 'tools')).filter((n) => n.endsWith('.yaml'))) {
    const file = join(dir, 'tools', name);
    if (existsSync(`${file}${SIGNATURE_SUFFIX}`)) continue;
    const signature = signManifestText(manifestSigningText(parseYaml(readFileSync(file, 'utf8'))), key);
    writeFileSync(`${file}${SIGNATURE_SUFFIX}`, formatSignatureFile([signature]));
  }
}

/** A directory every sandbox host uid may create entries in (the `mark` tool's target). */
export function sharedMarkDir(): string {
  const root = tempDir('cs-shared-');
  // mkdtemp gives 0700; the sandbox runs steps as unprivileged host uids that must reach it.
  chmodSync(root, 0o755);
  const dir = join(root, 'marks');
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  return dir;
}

/** Removes a directory made by sharedMarkDir, with everything the steps created in it. */
export function removeSharedMarkDir(dir: string): void {
  rmSync(dirname(dir), { recursive: true, force: true });
}

/**
 * Removes the per-execution work directories executors of `dataDir` left under the default work
 * root (the executor keeps them after an execution ends).
 */
export function removeWorkRoot(dataDir: string): void {
  rmSync(defaultWorkRoot(dataDir), { recursive: true, force: true });
}

/** The init admin of a test server, as the services see a principal authenticated by API key. */
export function adminPrincipal(s: TestServer): Principal {
  return { tenantId: s.init.tenantId, id: s.init.adminPrincipalId, name: 'admin', kind: 'human', groups: ['admin'], authMethod: 'api_key' };
}

/** Proposes a dev plan over the API (auto-approved by the baseline rules when low risk). */
export async function proposeApproved(
  s: Pick<TestServer, 'request'>,
  steps: unknown[],
  key?: string,
): Promise<{ id: string; status: string }> {
  const res = await s.request('POST', '/v1/plans', { key, body: { intent: 'execution test', environment: 'dev', steps } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.status, 'approved', `plan not auto-approved: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Proposes and queues one execution over the API; returns the execution id. */
export async function queueExecution(s: Pick<TestServer, 'request'>, steps: unknown[]): Promise<{ planId: string; executionId: string }> {
  const plan = await proposeApproved(s, steps);
  const res = await s.request('POST', `/v1/plans/${plan.id}/executions`, { body: {} });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { planId: plan.id, executionId: res.body.id };
}

/** Polls GET /v1/executions/:id until `done(view)` holds; bounded by `timeoutMs`. */
export async function waitForExecution(
  s: Pick<TestServer, 'request'>,
  id: string,
  timeoutMs = 30_000,
  done: (view: any) => boolean = (v) => (TERMINAL_STATUSES as readonly string[]).includes(v.status),
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    const res = await s.request('GET', `/v1/executions/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    last = res.body;
    if (done(last)) return last;
    await sleep(100);
  }
  assert.fail(`execution ${id} did not reach the expected state within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** Polls the JSON event log until an event of `type` shows; returns all events so far. */
export async function waitForEvent(s: Pick<TestServer, 'request'>, id: string, type: string, timeoutMs = 30_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await s.request('GET', `/v1/executions/${id}/events`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (res.body.events.some((e: { type: string }) => e.type === type)) return res.body.events;
    await sleep(50);
  }
  assert.fail(`no ${type} event on ${id} within ${timeoutMs} ms`);
}

export interface ExecutorChild {
  child: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
}

/** `countersign executor` as a real child process (through tsx: the current source). */
export function spawnExecutor(dir: string, databaseUrl: string | undefined, env: NodeJS.ProcessEnv = process.env): ExecutorChild {
  const args = [...CLI_ARGS, 'executor', '--dir', dir];
  if (databaseUrl) args.push('--database-url', databaseUrl);
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  return { child, stderr: () => err, exited };
}

/** Stops a child executor gracefully, or kills it if it outlives `timeoutMs`. */
export async function stopChild(c: ExecutorChild, timeoutMs = 20_000): Promise<number | string> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return c.exited;
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), timeoutMs);
  try {
    return await c.exited;
  } finally {
    clearTimeout(timer);
  }
}
