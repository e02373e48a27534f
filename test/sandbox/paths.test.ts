/**
 * Issue 5, item 3: a path input is canonicalized (symlinks, `..`, mount points) and must fall
 * under the profile's roots and inside the sandbox's layout.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { canonicalizePath, canonicalizePathInputs, pathRootsFor, resolvePathInput } from '../../src/sandbox/index.ts';
import { ToolManifestSchema } from '../../src/tools/manifest.ts';
import { profile } from './harness.ts';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'countersign-paths-test-')));
const work = join(base, 'work');
const outside = join(base, 'outside');
const shared = join(base, 'shared');
mkdirSync(join(work, 'sub', 'deeper'), { recursive: true });
mkdirSync(outside);
mkdirSync(shared);
writeFileSync(join(outside, 'secret'), 'x');
symlinkSync(join(outside, 'secret'), join(work, 'to-secret'));
symlinkSync('sub/deeper', join(work, 'to-deeper'));
symlinkSync('..', join(work, 'sub', 'up'));
symlinkSync(outside, join(work, 'sub', 'to-outside'));
symlinkSync('loop-b', join(work, 'loop-a'));
symlinkSync('loop-a', join(work, 'loop-b'));
symlinkSync(join(work, 'nowhere'), join(work, 'dangling'));
after(() => rmSync(base, { recursive: true, force: true }));

const roots = pathRootsFor(profile(), work);
const outsideRoots = { code: 'PATH_OUTSIDE_ROOTS' };

describe('path inputs', () => {
  it('resolves relative paths against the work directory and `..` lexically only where nothing exists', () => {
    assert.equal(resolvePathInput('sub/file.txt', roots), join(work, 'sub', 'file.txt'));
    assert.equal(resolvePathInput('./sub/../sub/deeper', roots), join(work, 'sub', 'deeper'));
    assert.equal(resolvePathInput('new/dir/../file', roots), join(work, 'new', 'file'));
    assert.equal(resolvePathInput(join(work, 'a'), roots), join(work, 'a'));
  });

  it('follows symlinks as the kernel would, and refuses where they lead outside', () => {
    assert.equal(resolvePathInput('to-deeper/x', roots), join(work, 'sub', 'deeper', 'x'));
    assert.throws(() => resolvePathInput('to-secret', roots), outsideRoots);
    assert.throws(() => resolvePathInput('sub/to-outside/secret', roots), outsideRoots);
    // `up` is a link to `..` from sub: sub/up/.. is the parent of the work dir, not sub.
    assert.throws(() => resolvePathInput('sub/up/..', roots), outsideRoots);
    assert.equal(resolvePathInput('to-deeper/..', roots), join(work, 'sub'));
  });

  it('refuses escapes by `..`, absolute paths, loops, dangling links and NUL', () => {
    assert.throws(() => resolvePathInput('../outside/secret', roots), outsideRoots);
    assert.throws(() => resolvePathInput('sub/../../outside', roots), outsideRoots);
    assert.throws(() => resolvePathInput('/etc/shadow', roots), outsideRoots);
    assert.throws(() => resolvePathInput('loop-a', roots), outsideRoots);
    assert.throws(() => resolvePathInput('dangling', roots), outsideRoots);
    assert.throws(() => resolvePathInput('a\0b', roots), outsideRoots);
    assert.throws(() => resolvePathInput('', roots), outsideRoots);
  });

  it('accepts other roots only when the sandbox binds them, at the same path', () => {
    const withShared = pathRootsFor(profile({ pathRoots: [work, shared], readOnlyPaths: [shared] }), work);
    assert.equal(resolvePathInput(join(shared, 'f'), withShared), join(shared, 'f'));
    // A root the sandbox does not contain would name a file that does not exist inside.
    const unbound = pathRootsFor(profile({ pathRoots: [work, shared] }), work);
    assert.throws(() => resolvePathInput(join(shared, 'f'), unbound), outsideRoots);
  });

  it('canonicalizes the path fields of an action and leaves the rest', () => {
    const manifest = ToolManifestSchema.parse({
      apiVersion: 'countersign/v1',
      kind: 'Tool',
      name: 'cat',
      version: '1.0.0',
      executable: { path: '/usr/bin/cat', sha256: 'a'.repeat(64) },
      actions: {
        show: {
          risk: 'low',
          argv: ['{{files}}'],
          input: {
            properties: {
              file: { type: 'string', format: 'path' },
              files: { type: 'array', items: { type: 'string', format: 'path' } },
              label: { type: 'string' },
            },
          },
        },
      },
    });
    const out = canonicalizePathInputs(manifest, 'show', { file: 'to-deeper', files: ['sub', 'to-deeper/../x'], label: '../x' }, roots);
    assert.deepEqual(out, {
      file: join(work, 'sub', 'deeper'),
      files: [join(work, 'sub'), join(work, 'sub', 'x')],
      label: '../x',
    });
    assert.throws(() => canonicalizePathInputs(manifest, 'show', { files: ['ok', 'to-secret'] }, roots), outsideRoots);
  });

  it('canonicalizePath is exact about trailing components and the root', () => {
    assert.equal(canonicalizePath('/', '/'), '/');
    assert.equal(canonicalizePath('/../..', '/'), '/');
  });
});
