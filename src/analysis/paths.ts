import { posix } from 'node:path';
import type { SandboxProfile } from '../tools/index.ts';

/**
 * Where a literal path points, for writes and deletes:
 * - `allowed`: the work directory (any relative path that stays in it), the private /tmp, or under
 *   the profile's writablePaths / pathRoots;
 * - `discard`: /dev/null, the standard streams and the process's own descriptors;
 * - `network`: bash's /dev/tcp and /dev/udp pseudo-files;
 * - `device`: any other device node (a write there can destroy a disk);
 * - `root`: `/` itself (or every entry of it);
 * - `system`: a top-level system directory or home (`/etc`, `/usr/lib`, `~`) as a whole;
 * - `outside`: anything else outside the allowed roots.
 */
export type PathClass = 'allowed' | 'discard' | 'network' | 'device' | 'root' | 'system' | 'outside';

const DISCARD = new Set(['/dev/null', '/dev/zero', '/dev/stdout', '/dev/stderr', '/dev/stdin', '/dev/tty']);
const SYSTEM_TOP = new Set([
  'bin',
  'boot',
  'dev',
  'etc',
  'home',
  'lib',
  'lib32',
  'lib64',
  'libx32',
  'media',
  'mnt',
  'opt',
  'proc',
  'root',
  'run',
  'sbin',
  'srv',
  'sys',
  'usr',
  'var',
]);
/** Second-level directories whose loss is as bad as their parent's. */
const SYSTEM_SECOND = /^\/(usr|var|etc)\/[^/]+$/;
const GLOB = /[*?[]/;
/** The sandbox mounts a private tmpfs on /tmp (DESIGN.md, "Sandbox: facts"), so writes there stay in the step. */
const PRIVATE_TMP = '/tmp';

function isUnder(path: string, root: string): boolean {
  const r = root.length > 1 ? root.replace(/\/+$/, '') : root;
  return r === '/' || path === r || path.startsWith(`${r}/`);
}

export function allowedRoots(profile: SandboxProfile): string[] {
  return [...profile.writablePaths, ...profile.pathRoots].map((p) => posix.normalize(p));
}

function classifyPlain(path: string, roots: readonly string[]): PathClass {
  if (path === '~' || path === '~/') return 'system';
  if (path.startsWith('~')) return 'outside';
  if (!path.startsWith('/')) {
    const rel = posix.normalize(path);
    return rel === '..' || rel.startsWith('../') ? 'outside' : 'allowed';
  }
  const abs = posix.normalize(path).replace(/(.)\/+$/, '$1');
  if (abs === '/') return 'root';
  if (DISCARD.has(abs) || /^\/(dev\/fd|proc\/self\/fd)\/\d+$/.test(abs)) return 'discard';
  if (/^\/dev\/(tcp|udp)\//.test(abs)) return 'network';
  if (abs.startsWith('/dev/')) return 'device';
  if (roots.some((r) => r !== '/' && isUnder(abs, r))) return 'allowed';
  if (isUnder(abs, PRIVATE_TMP)) return 'allowed';
  const parts = abs.split('/').filter(Boolean);
  if (parts.length === 1 && SYSTEM_TOP.has(parts[0] ?? '')) return 'system';
  if (SYSTEM_SECOND.test(abs)) return 'system';
  if (/^\/home\/[^/]+$/.test(abs) || abs === '/root') return 'system';
  return 'outside';
}

/**
 * Classify a literal path. A glob is judged by the directory it expands in: `/*` is the root,
 * `/etc/*` is /etc as a whole, while `/etc/*.conf` only reaches outside.
 */
export function classifyPath(path: string, profile: SandboxProfile): PathClass {
  const roots = allowedRoots(profile);
  const glob = GLOB.exec(path);
  if (!glob) return classifyPlain(path, roots);
  const prefix = path.slice(0, glob.index);
  const slash = prefix.lastIndexOf('/');
  const dir = slash < 0 ? '.' : slash === 0 ? '/' : prefix.slice(0, slash);
  const rest = path.slice(slash + 1);
  const whole = /^(\.?\*|\*\/?|\.\[!.]\*|\*\/\*)$/.test(rest);
  const cls = classifyPlain(dir, roots);
  if (whole) return cls;
  return cls === 'root' || cls === 'system' || cls === 'device' ? 'outside' : cls;
}

/** Paths whose recursive deletion (or a raw write) is catastrophic rather than merely out of bounds. */
export function isCatastrophic(cls: PathClass): boolean {
  return cls === 'root' || cls === 'system' || cls === 'device';
}
