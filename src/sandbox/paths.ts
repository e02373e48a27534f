import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { CountersignError } from '../errors/index.ts';
import type { SandboxProfile, ToolManifest } from '../tools/index.ts';
import { isWithin } from './layout.ts';

/**
 * Path inputs (issue 5, item 3).
 *
 * Mapping to the sandbox: every host path bound into a sandbox — the work directory, the
 * profile's writablePaths and readOnlyPaths — is bound at the *same* absolute path inside, by its
 * canonical (realpath) form. So a canonical host path under one of those roots names the same
 * file inside the sandbox, and a relative input is resolved against the work directory, which
 * is also the step's cwd. A path under a root that is not bound does not exist inside at all;
 * such a path is refused here too, so the check holds in the sandbox's layout and not only as
 * a string.
 *
 * Between this check and the tool's use, a step sharing the work directory could replace a
 * component with a symlink; the sandbox still resolves that symlink inside its own mount
 * namespace, where nothing outside the bound roots exists. This check is the first line; the
 * layout is the second.
 */

/**
 * A refusal names the input as given and the reason, never where it led on the host: the
 * canonical form can hold the executor's pid (`/proc/self` resolves to `/proc/<pid>`), its work
 * root or a mount point, none of which the proposer needs or should learn.
 */
function outside(value: string, why: string): CountersignError {
  return new CountersignError('PATH_OUTSIDE_ROOTS', `path ${JSON.stringify(value)} ${why}`, { details: { path: value } });
}

/**
 * Canonicalizes a path the way the kernel will walk it: component by component, symlinks
 * resolved as they are met (so `link/..` is the parent of the link's target, not of the link),
 * and lexical handling only for the part that does not exist yet, which cannot contain links.
 */
export function canonicalizePath(value: string, base: string): string {
  if (value.length === 0) throw outside(value, 'is empty');
  if (value.includes('\0')) throw outside(value, 'contains a NUL byte');
  if (value.length > 4096) throw outside(value, 'is longer than PATH_MAX');
  // Not path.join: it would resolve `..` lexically before the links are known.
  const absolute = isAbsolute(value) ? value : `${base}/${value}`;
  let current = '/';
  let missing = false;
  for (const part of absolute.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // `current` is canonical (or lexical below a missing component, which holds no links).
      current = resolvePath(current, '..');
      missing = false;
      continue;
    }
    const next = current === '/' ? `/${part}` : `${current}/${part}`;
    if (missing) {
      current = next;
      continue;
    }
    let isLink = false;
    try {
      isLink = lstatSync(next).isSymbolicLink();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw outside(value, `cannot be inspected (${(err as NodeJS.ErrnoException).code})`);
      missing = true;
      current = next;
      continue;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    try {
      current = realpathSync(next);
    } catch (err) {
      // A dangling link: where it points is unknown until something creates it — refuse.
      throw outside(value, `goes through a symlink that cannot be resolved (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  return current;
}

/** Mount points of this host, deepest first, read from /proc/self/mountinfo. */
function mountPoints(): string[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    // mountinfo escapes space, tab, newline and backslash as octal.
    if (field) points.push(field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
  }
  return points.sort((a, b) => b.length - a.length);
}

export interface PathRoots {
  /** Canonical roots a path input must fall under (profile.pathRoots, else the work dir). */
  readonly roots: readonly string[];
  /** Canonical paths bound into the sandbox at the same path. */
  readonly bound: readonly string[];
  readonly workDir: string;
}

function canonicalRoot(path: string): string {
  try {
    return realpathSync(path);
  } catch (err) {
    throw new CountersignError('PATH_OUTSIDE_ROOTS', 'a path root of the profile (or the work directory) does not exist on this host', {
      cause: err,
    });
  }
}

export function pathRootsFor(profile: SandboxProfile, workDir: string): PathRoots {
  const work = canonicalRoot(workDir);
  const roots = (profile.pathRoots.length > 0 ? profile.pathRoots : [workDir]).map(canonicalRoot);
  const bound = [work, ...profile.writablePaths.map(canonicalRoot), ...profile.readOnlyPaths.map(canonicalRoot)];
  return { roots, bound, workDir: work };
}

/**
 * Returns the canonical form of a `format: 'path'` input, or throws PATH_OUTSIDE_ROOTS when it
 * leaves the allowed roots, is not visible inside the sandbox, or crosses a mount point below
 * its root (a bind mount there could lead anywhere on the host).
 */
export function resolvePathInput(value: string, roots: PathRoots): string {
  const canonical = canonicalizePath(value, roots.workDir);
  const root = roots.roots.filter((r) => isWithin(canonical, r)).sort((a, b) => b.length - a.length)[0];
  if (root === undefined) throw outside(value, 'leads outside the allowed roots (after resolving symlinks and `..`)');
  if (!roots.bound.some((b) => isWithin(canonical, b))) throw outside(value, 'leads to a place the sandbox does not contain');
  const crossing = mountPoints().find((m) => m !== root && isWithin(m, root) && isWithin(canonical, m));
  if (crossing !== undefined) throw outside(value, 'crosses a mount point below its root');
  return canonical;
}

/**
 * Canonicalizes every `format: 'path'` field (and array of them) of an action's input; other
 * fields pass through unchanged. Run before `renderArgv`.
 */
export function canonicalizePathInputs(
  manifest: ToolManifest,
  actionName: string,
  input: Readonly<Record<string, unknown>>,
  roots: PathRoots,
): Record<string, unknown> {
  const action = Object.hasOwn(manifest.actions, actionName) ? manifest.actions[actionName] : undefined;
  if (action === undefined) throw new CountersignError('UNKNOWN_ACTION', `tool ${manifest.name} has no action "${actionName}"`);
  const out: Record<string, unknown> = { ...input };
  for (const [name, field] of Object.entries(action.input.properties)) {
    const value = input[name];
    if (value === undefined) continue;
    if (field.type === 'string' && field.format === 'path') {
      if (typeof value !== 'string') throw outside(String(value), `(input ${name}) is not a string`);
      out[name] = resolvePathInput(value, roots);
    } else if (field.type === 'array' && field.items.type === 'string' && field.items.format === 'path') {
      if (!Array.isArray(value)) throw outside(String(value), `(input ${name}) is not an array`);
      out[name] = value.map((item: unknown) => {
        if (typeof item !== 'string') throw outside(String(item), `(input ${name}) is not a string`);
        return resolvePathInput(item, roots);
      });
    }
  }
  return out;
}
