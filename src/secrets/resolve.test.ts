import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveSecrets } from './resolve.ts';

const dir = mkdtempSync(join(tmpdir(), 'countersign-secrets-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveSecrets', () => {
  it('reads env: and file: references at step time', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'from-file\n');
    const values = await resolveSecrets(
      [
        { name: 'A', from: 'env:SOURCE_A' },
        { name: 'B', from: `file:${file}` },
      ],
      { env: { SOURCE_A: 'from-env' } },
    );
    assert.deepEqual(values, { A: 'from-env', B: 'from-file' });
  });

  it('fails closed, naming the reference and never a value, when a secret is missing or empty', async () => {
    await assert.rejects(resolveSecrets([{ name: 'A', from: 'env:NOT_SET' }], { env: {} }), {
      code: 'SECRET_UNAVAILABLE',
      message: 'secret A (env:NOT_SET) is not set in the executor environment',
    });
    await assert.rejects(resolveSecrets([{ name: 'A', from: 'env:EMPTY' }], { env: { EMPTY: '' } }), { code: 'SECRET_UNAVAILABLE' });
    await assert.rejects(resolveSecrets([{ name: 'B', from: `file:${join(dir, 'missing')}` }]), { code: 'SECRET_UNAVAILABLE' });
    await assert.rejects(resolveSecrets([{ name: 'B', from: `file:${dir}` }]), { code: 'SECRET_UNAVAILABLE' });
    await assert.rejects(resolveSecrets([{ name: 'C', from: 'vault:x' }]), { code: 'SECRET_UNAVAILABLE' });
  });

  it('refuses oversized files and duplicate names', async () => {
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(70 * 1024));
    await assert.rejects(resolveSecrets([{ name: 'B', from: `file:${big}` }]), { code: 'SECRET_UNAVAILABLE' });
    await assert.rejects(
      resolveSecrets(
        [
          { name: 'A', from: 'env:X' },
          { name: 'A', from: 'env:X' },
        ],
        { env: { X: 'v' } },
      ),
      { code: 'SECRET_UNAVAILABLE' },
    );
  });
});
