import { chownSync, lchownSync, lstatSync, readdirSync, realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CountersignError } from '../errors/index.ts';
import type { SandboxProfile } from '../tools/index.ts';
import { isWithin } from './layout.ts';

/** Host trees no profile may bind: the kernel's interfaces, and the root itself. */
const FORBIDDEN_TREES = ['/proc', '/sys', '/dev', '/run', '/boot'] as const;

export interface CheckedBinds {
  workDir: string;
  readOnlyPaths: string[];
  writablePaths: string[];
}

function refuse(message: string, cause?: unknown): CountersignError {
  return new CountersignError('SANDBOX_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

/**
 * How a refusal names a path: a profile's paths are the manifest's own words; the work directory
 * is where the executor keeps its work root, which a refusal does not reveal.
 */
function named(kind: string, path: string): string {
  return kind === 'work directory' ? 'the work directory' : `the ${kind} ${path}`;
}

/** Synchronous on purpose: a few metadata calls per step, far cheaper than thread-pool hops. */
function canonical(kind: string, path: string): string {
  if (!path.startsWith('/')) throw refuse(`${named(kind, path)} is not an absolute path`);
  try {
    return realpathSync(path);
  } catch (err) {
    throw refuse(`${named(kind, path)} does not exist on this host`, err);
  }
}

/** Canonical form of the paths a bind may never reach (they need not exist). */
export async function canonicalProtected(paths: readonly string[]): Promise<string[]> {
  return Promise.all(paths.map((p) => realpath(p).catch(() => resolve(p))));
}

function assertAllowed(kind: string, path: string, protectedPaths: readonly string[]): void {
  if (path === '/') throw refuse(`the ${kind} is the host's root directory`);
  for (const tree of FORBIDDEN_TREES) {
    if (isWithin(path, tree)) throw refuse(`${named(kind, path)} is inside ${tree}, which is never bound into a sandbox`);
  }
  // Binding a parent of the data directory would expose it as surely as binding it. Which
  // protected path it met is not said: that would tell where the data directory is.
  for (const p of protectedPaths) {
    if (isWithin(path, p) || isWithin(p, path)) {
      throw refuse(`${named(kind, path)} overlaps a path the executor protects (its data directory, keys or runtime directory)`);
    }
  }
}

/**
 * Canonicalizes and checks every host path a step binds. Any problem refuses the step: a
 * missing read-only path is not skipped, because the tool would then run in a layout its
 * manifest did not describe.
 */
export function checkBinds(profile: SandboxProfile, workDir: string, protectedPaths: readonly string[]): CheckedBinds {
  const work = canonical('work directory', workDir);
  const info = lstatSync(work);
  if (!info.isDirectory()) throw refuse('the work directory is not a directory');
  assertAllowed('work directory', work, protectedPaths);
  const readOnlyPaths: string[] = [];
  for (const p of profile.readOnlyPaths) {
    const c = canonical('read-only path', p);
    assertAllowed('read-only path', c, protectedPaths);
    readOnlyPaths.push(c);
  }
  const writablePaths: string[] = [];
  for (const p of profile.writablePaths) {
    const c = canonical('writable path', p);
    assertAllowed('writable path', c, protectedPaths);
    writablePaths.push(c);
  }
  return { workDir: work, readOnlyPaths, writablePaths };
}

/**
 * The work directory must belong to the unprivileged host uid its steps run as. Usually it
 * already does (the uid is derived from the directory); when it does not — a new directory, or
 * the uid changed because another running step held it — everything inside is handed over too,
 * so a later step can still write what an earlier one wrote. The walk never follows a symlink
 * (lchown, no descent into links): no step runs in this directory while it happens, and nothing
 * a previous step planted can point the walk elsewhere.
 */
export function handOverWorkDir(workDir: string, owner: { uid: number; gid: number }): void {
  const info = lstatSync(workDir);
  if (info.uid === owner.uid && info.gid === owner.gid) return;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      lchownSync(path, owner.uid, owner.gid);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(workDir);
  chownSync(workDir, owner.uid, owner.gid);
}
