import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CountersignError } from '../errors/index.ts';
import { BASELINE_POLICIES } from './baseline.ts';
import { loadCedarAuthorizer, policiesPath } from './policy-dir.ts';
import { BASELINE_SCHEMA, SCHEMA_FILE } from './schema.ts';

export interface PolicyUpgradeFile {
  file: string;
  change: 'unchanged' | 'replaced' | 'added';
  /** Where the replaced text was kept (replaced files only, and not on a dry run). */
  backup?: string;
}

export interface PolicyUpgradeReport {
  dir: string;
  dryRun: boolean;
  files: PolicyUpgradeFile[];
  /** Policies in the upgraded set (it loaded, validated and denied every canary). */
  policies: number;
}

/**
 * `countersign policy upgrade`: brings a data directory made by an earlier release to this
 * release's baseline policy files and schema (new actions must be declared and permitted for
 * the host, or the set no longer loads). The upgraded set, with the operator's own files beside
 * it, is loaded and canary-checked in a scratch copy first: a set the server would refuse is
 * never written. Each replaced file is kept as `<file>.bak-<time>` (not a `.cedar` file, so it is
 * not loaded), since it may hold the operator's edits to re-apply.
 */
export function upgradeBaselinePolicies(dataDir: string, options: { dryRun?: boolean; now?: Date } = {}): PolicyUpgradeReport {
  const dir = policiesPath(dataDir);
  if (!existsSync(dir)) throw new CountersignError('NOT_INITIALIZED', `${dir} does not exist; run \`countersign init\` first`);
  const wanted: [string, string][] = [...Object.entries(BASELINE_POLICIES), [SCHEMA_FILE, BASELINE_SCHEMA]];
  const files: PolicyUpgradeFile[] = wanted.map(([file, text]) => {
    const path = join(dir, file);
    if (!existsSync(path)) return { file, change: 'added' };
    return { file, change: readFileSync(path, 'utf8') === text ? 'unchanged' : 'replaced' };
  });

  // The whole upgraded set must load as the server would load it, before anything is written.
  const scratch = mkdtempSync(join(tmpdir(), 'countersign-policy-upgrade-'));
  let policies: number;
  try {
    const copy = policiesPath(scratch);
    cpSync(dir, copy, { recursive: true });
    for (const [file, text] of wanted) writeFileSync(join(copy, file), text);
    try {
      policies = loadCedarAuthorizer(scratch).policyIds.length;
    } catch (err) {
      throw new CountersignError(
        'CONFIG_INVALID',
        `the upgraded policy set would not load, so nothing was changed: ${(err as Error).message}. Fix your own policy files for this release's schema, then run the upgrade again.`,
        { cause: err },
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const dryRun = options.dryRun ?? false;
  if (!dryRun) {
    const stamp = (options.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
    for (const f of files) {
      if (f.change === 'unchanged') continue;
      const path = join(dir, f.file);
      if (f.change === 'replaced') {
        f.backup = `${path}.bak-${stamp}`;
        copyFileSync(path, f.backup);
      }
      writeFileSync(path, wanted.find(([name]) => name === f.file)?.[1] ?? '', { mode: 0o644 });
    }
  }
  return { dir, dryRun, files, policies };
}
