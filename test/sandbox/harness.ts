import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BubblewrapRunner, type BubblewrapRunnerOptions, type RunOptions, type StepResult } from '../../src/sandbox/index.ts';
import { type SandboxProfile, SandboxProfileSchema } from '../../src/tools/manifest.ts';

/** sha256 of the file a path finally resolves to: what a manifest would pin. */
export function sha256Of(path: string): string {
  return createHash('sha256')
    .update(readFileSync(realpathSync(path)))
    .digest('hex');
}

export const SH = '/bin/sh';
export const PYTHON = '/usr/bin/python3';

export type ProfileInput = Partial<Omit<SandboxProfile, 'limits'>> & { limits?: Partial<SandboxProfile['limits']> };

export function profile(input: ProfileInput = {}): SandboxProfile {
  return SandboxProfileSchema.parse({ ...input, limits: { ...input.limits } });
}

/**
 * A real bubblewrap runner plus a scratch tree laid out like a host:
 *   base/            (0711, like a work root)
 *   base/data/       a stand-in for the Countersign data directory, with a secret in it
 *   base/work-N/     one work directory per step
 */
export class SandboxHarness {
  readonly runner: BubblewrapRunner;
  readonly base: string;
  readonly dataDir: string;
  readonly dataSecret = `data-dir-secret-${process.pid}`;
  #workDirs = 0;

  private constructor(runner: BubblewrapRunner, base: string, dataDir: string) {
    this.runner = runner;
    this.base = base;
    this.dataDir = dataDir;
  }

  static async create(options: BubblewrapRunnerOptions = {}): Promise<SandboxHarness> {
    const base = realpathSync(mkdtempSync(join(tmpdir(), 'countersign-sandbox-test-')));
    chmodSync(base, 0o711);
    const dataDir = join(base, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    try {
      const runner = await BubblewrapRunner.create({ protectedPaths: [dataDir], ...options });
      const harness = new SandboxHarness(runner, base, dataDir);
      writeFileSync(join(dataDir, 'secret.txt'), harness.dataSecret, { mode: 0o644 });
      return harness;
    } catch (err) {
      rmSync(base, { recursive: true, force: true });
      throw err;
    }
  }

  workDir(): string {
    this.#workDirs += 1;
    const dir = join(this.base, `work-${this.#workDirs}`);
    mkdirSync(dir, { mode: 0o755 });
    return dir;
  }

  sh(
    script: string,
    p: SandboxProfile = profile(),
    extra: { workDir?: string; secrets?: Record<string, string> } & RunOptions = {},
  ): Promise<StepResult> {
    const { workDir, secrets, ...opts } = extra;
    return this.runner.run(
      {
        executable: SH,
        expectedSha256: sha256Of(SH),
        argv: ['-c', script],
        profile: p,
        workDir: workDir ?? this.workDir(),
        secrets: secrets ?? {},
      },
      opts,
    );
  }

  python(
    script: string,
    p: SandboxProfile = profile(),
    extra: { workDir?: string; secrets?: Record<string, string> } & RunOptions = {},
  ): Promise<StepResult> {
    const { workDir, secrets, ...opts } = extra;
    return this.runner.run(
      {
        executable: PYTHON,
        expectedSha256: sha256Of(PYTHON),
        argv: ['-c', script],
        profile: p,
        workDir: workDir ?? this.workDir(),
        secrets: secrets ?? {},
      },
      opts,
    );
  }

  async dispose(): Promise<void> {
    await this.runner.dispose();
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** Command lines of every live process on the host, to prove nothing of a step outlived it. */
export function hostCommandLines(): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      out.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}
