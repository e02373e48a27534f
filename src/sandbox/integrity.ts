import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, realpathSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { CountersignError } from '../errors/index.ts';

/** What the executable resolved to, so the sandbox binds the very file that was hashed. */
export interface VerifiedExecutable {
  /** The path as the manifest names it (argv[0] inside the sandbox). */
  readonly path: string;
  /** The final file after symlinks. */
  readonly realPath: string;
}

interface CacheEntry {
  readonly identity: string;
  readonly sha256: string;
}

/** Bounded: one entry per distinct executable path; tools are few, but never grow without limit. */
const MAX_CACHE_ENTRIES = 1024;

/**
 * Tool integrity (issue 5, item 4): the executable's sha256 is compared with the manifest's pin
 * before every run. Hashing a large binary each time would cost milliseconds, so the digest is
 * cached by (real path, device, inode, size, mtime, ctime): any replacement, rename over, or
 * in-place write changes one of these, and then the file is hashed again.
 */
export class ExecutableVerifier {
  readonly #cache = new Map<string, CacheEntry>();

  async verify(path: string, expectedSha256: string): Promise<VerifiedExecutable> {
    if (!isAbsolute(path)) throw new CountersignError('TOOL_INTEGRITY', `the executable path ${path} is not absolute`);
    if (!/^[0-9a-f]{64}$/.test(expectedSha256)) {
      throw new CountersignError('TOOL_INTEGRITY', `the pinned sha256 for ${path} is not a lowercase hex sha256`);
    }
    let realPath: string;
    let fd: number;
    try {
      realPath = realpathSync(path);
      // Hash through one open descriptor so the identity and the content are of the same file.
      fd = openSync(realPath, 'r');
    } catch (err) {
      throw new CountersignError('TOOL_INTEGRITY', `the executable ${path} does not exist or cannot be read`, { cause: err });
    }
    let actual: string;
    let owned = true;
    try {
      const info = fstatSync(fd, { bigint: true });
      if (!info.isFile()) throw new CountersignError('TOOL_INTEGRITY', `the executable ${path} is not a regular file`);
      if ((info.mode & 0o111n) === 0n) throw new CountersignError('TOOL_INTEGRITY', `the executable ${path} is not executable`);
      const identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
      const cached = this.#cache.get(realPath);
      if (cached !== undefined && cached.identity === identity) {
        actual = cached.sha256;
      } else {
        const hash = createHash('sha256');
        owned = false; // The stream closes the descriptor when it ends or fails.
        for await (const chunk of createReadStream('', { fd, start: 0 })) hash.update(chunk as Buffer);
        actual = hash.digest('hex');
        if (this.#cache.size >= MAX_CACHE_ENTRIES) this.#cache.clear();
        this.#cache.set(realPath, { identity, sha256: actual });
      }
    } finally {
      if (owned) closeSync(fd);
    }
    if (actual !== expectedSha256) {
      throw new CountersignError('TOOL_INTEGRITY', `the executable ${path} has sha256 ${actual}, but its manifest pins ${expectedSha256}`, {
        details: { executable: path, expected: expectedSha256, actual },
      });
    }
    return { path, realPath };
  }
}
