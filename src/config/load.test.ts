import assert from 'node:assert/strict';
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
