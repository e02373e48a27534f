import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The work root is traverse-only (0711) so the sandbox's unprivileged host user can reach its
 * own work directory (which the runner hands over to it) but cannot list anyone else's.
 */
export function prepareWorkDir(workRoot: string, name: string): string {
  mkdirSync(workRoot, { recursive: true, mode: 0o711 });
  for (let dir = workRoot; dir !== dirname(dir) && dir !== tmpdir(); dir = dirname(dir)) {
    if (!dir.includes('countersign')) break;
    chmodSync(dir, 0o711);
  }
  const workDir = join(workRoot, name);
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  chmodSync(workDir, 0o700);
  return workDir;
}

/** Work directories go when their run ends (best effort: a leftover holds no secrets). */
export function removeWorkDir(workRoot: string, name: string): void {
  try {
    rmSync(join(workRoot, name), { recursive: true, force: true });
  } catch {
    // leave it; the next start of the host's temp cleaner or an operator removes it
  }
}
