import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONFIG_YAML, parseConfig } from './load.ts';

test('the default config file parses to the documented defaults and is frozen', () => {
  const c = parseConfig(DEFAULT_CONFIG_YAML, {});
  assert.equal(c.server.port, 7400);
  assert.equal(c.developmentMode, false);
  assert.throws(() => {
    (c.server as { port: number }).port = 1;
  }, TypeError);
});

test('invalid config stops with a message naming the key, never falls back', () => {
  assert.throws(
    () => parseConfig('server:\n  port: "many"\n', {}),
    (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /server\.port/.test(e.message),
  );
  assert.throws(() => parseConfig('serverr: {}\n', {}), { code: 'CONFIG_INVALID' });
  assert.throws(() => parseConfig('server: [\n', {}), { code: 'CONFIG_INVALID' });
});

test('interpolates ${env:NAME} and refuses an unset variable', () => {
  const c = parseConfig('database:\n  url: "${env:DB_URL}"\n', { DB_URL: 'postgres://x@y/z' });
  assert.equal(c.database.url, 'postgres://x@y/z');
  assert.throws(() => parseConfig('database:\n  url: "${env:DB_URL}"\n', {}), /DB_URL is not set/);
});

test('interpolates ${file:/path} (one trailing newline dropped) and refuses a file others can read, a relative path or a missing file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-config-file-'));
  try {
    const secret = join(dir, 'db-url');
    writeFileSync(secret, 'postgres://u:s3cret@db/countersign\n', { mode: 0o600 });
    chmodSync(secret, 0o600);
    const yaml = (p: string) => `database:\n  url: "\${file:${p}}"\n`;
    assert.equal(parseConfig(yaml(secret), {}).database.url, 'postgres://u:s3cret@db/countersign');
    chmodSync(secret, 0o644);
    assert.throws(
      () => parseConfig(yaml(secret), {}),
      (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /other users \(mode 644\)/.test(e.message),
    );
    chmodSync(secret, 0o602);
    assert.throws(() => parseConfig(yaml(secret), {}), /other users/);
    assert.throws(() => parseConfig(yaml('relative/db-url'), {}), /absolute path/);
    assert.throws(() => parseConfig(yaml(join(dir, 'missing')), {}), /cannot be read: ENOENT/);
    assert.throws(() => parseConfig(yaml(dir), {}), /not a regular file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
