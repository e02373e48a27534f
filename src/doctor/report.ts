import { loadConfig } from '../config/index.ts';
import { checkSandboxHost, type SandboxHostReport } from '../sandbox/index.ts';
import type { ContextOverrides } from '../server/index.ts';
import { dataDirPaths, keyLocations, openStore } from '../server/index.ts';
import {
  checkAudit,
  checkDevelopmentSwitches,
  checkJwks,
  checkKeys,
  checkNotifications,
  checkPolicy,
  checkRateLimits,
  checkSandbox,
  checkStepUp,
  checkTools,
  type DoctorCheck,
} from './checks.ts';
import { checkNotificationChannels } from './notifications.ts';
import { checkSeals } from './seals.ts';

export interface DoctorReport {
  /** False when any control FAILs. */
  ok: boolean;
  dir: string;
  store: 'sqlite' | 'postgres';
  generatedAt: string;
  counts: { pass: number; fail: number; note: number };
  checks: DoctorCheck[];
}

export interface DoctorOptions extends Pick<ContextOverrides, 'databaseUrl' | 'env' | 'runtime'> {
  /** The host sandbox probe; the real one by default. */
  sandboxCheck?: () => Promise<SandboxHostReport>;
}

/**
 * `countersign doctor`: each security control of one installation, judged from its data
 * directory and database as they are — PASS, FAIL or NOTE with the evidence. Read-only: it opens
 * the store without the audit signer and changes nothing.
 */
export async function runDoctor(dir: string, options: DoctorOptions = {}): Promise<DoctorReport> {
  const config = loadConfig(dataDirPaths(dir).dir, options.env ?? process.env);
  const paths = keyLocations(dataDirPaths(dir), config);
  const now = (options.runtime?.now ?? (() => new Date()))();
  const store = await openStore(paths.dir, config, options, 'read');
  const checks: DoctorCheck[] = [];
  try {
    checks.push(checkPolicy(paths.dir));
    checks.push(checkSandbox(await (options.sandboxCheck ?? checkSandboxHost)(), config));
    checks.push(checkJwks(config));
    checks.push(...(await checkAudit(store, paths, now)));
    checks.push(checkKeys(paths));
    checks.push(checkDevelopmentSwitches(config));
    checks.push(...(await checkTools(store, paths, config)));
    checks.push(await checkSeals(store, paths.keys));
    checks.push(checkRateLimits(config));
    checks.push(checkStepUp(config));
    checks.push(checkNotifications(config));
    // ---- notifications (issue 14) ----
    checks.push(await checkNotificationChannels(store, paths.dir, options.env ?? process.env));
  } finally {
    await store.close();
  }
  const count = (r: DoctorCheck['result']) => checks.filter((c) => c.result === r).length;
  const counts = { pass: count('PASS'), fail: count('FAIL'), note: count('NOTE') };
  return { ok: counts.fail === 0, dir: paths.dir, store: store.engine, generatedAt: now.toISOString(), counts, checks };
}

const cell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');

/** The report as a Markdown table a reviewer can paste into a security review. */
export function renderDoctorMarkdown(r: DoctorReport): string {
  const verdict = r.ok ? '**PASS**' : '**FAIL**';
  return [
    '## Countersign enforcement report',
    '',
    `Data directory \`${r.dir}\` (${r.store}), ${r.generatedAt}: ${verdict} — ${r.counts.pass} PASS, ${r.counts.fail} FAIL, ${r.counts.note} NOTE.`,
    '',
    '| Control | Result | Evidence |',
    '| --- | --- | --- |',
    ...r.checks.map((c) => `| ${cell(c.control)} | ${c.result === 'PASS' ? c.result : `**${c.result}**`} | ${cell(c.evidence)} |`),
    '',
  ].join('\n');
}
