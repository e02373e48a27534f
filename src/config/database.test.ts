import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clearDatabasePasswordProblem, renderDatabaseYaml, urlPassword, withoutPassword, withPassword } from './database.ts';
import { parseConfig, renderConfigYaml } from './load.ts';

test('a password never survives withoutPassword, in the user info or the query', () => {
  assert.equal(withoutPassword('postgres://u:s%40cret@h:5432/db'), 'postgres://u@h:5432/db');
  assert.equal(withoutPassword('postgres://u@h/db?password=x&sslmode=require'), 'postgres://u@h/db?sslmode=require');
  assert.equal(withoutPassword('postgres://u:${env:PW}@h/db'), 'postgres://u@h/db');
  assert.equal(urlPassword('postgres://u@h/db'), '');
  assert.equal(decodeURIComponent(new URL(withPassword('postgres://u@h/db', 'p@s:s/w%rd')).password), 'p@s:s/w%rd');
});

test('a clear password in countersign.yaml is refused; references are accepted', () => {
  const yaml = (database: string) => `database:\n${database}`;
  assert.throws(() => parseConfig(yaml('  url: "postgres://u:hunter2@h/db"\n'), {}), /database\.url holds a password in clear/);
  assert.throws(() => parseConfig(yaml('  url: "postgres://u@h/db?password=hunter2"\n'), {}), /in clear/);
  assert.throws(
    () => parseConfig(yaml('  engine: postgres\n  installationId: ins_0123456789abc\n  password: hunter2\n'), {}),
    /must be a reference/,
  );
  const c = parseConfig(yaml('  url: "postgres://u:${env:PW}@h/db"\n'), { PW: 'x' });
  assert.equal(c.database.url, 'postgres://u:x@h/db');
  assert.equal(clearDatabasePasswordProblem({ database: { password: '${env:PW}' } }), null);
});

test('engine and installationId come together; SQLite takes no URL or password', () => {
  const parse = (database: string) => () => parseConfig(`database:\n${database}`, {});
  assert.throws(parse('  engine: sqlite\n'), /installationId: engine and installationId are written together/);
  assert.throws(parse('  installationId: ins_0123456789abc\n'), /engine: engine and installationId/);
  assert.throws(
    parse('  engine: sqlite\n  installationId: ins_0123456789abc\n  url: "postgres://u@h/db"\n'),
    /bound to its embedded SQLite store/,
  );
  assert.throws(parse('  engine: sqlite\n  installationId: ins_0123456789abc\n  passwordFile: x\n'), /no password/);
});

test('the config init writes parses back to the binding it records', () => {
  const binding = {
    engine: 'postgres' as const,
    installationId: 'ins_0123456789abc',
    url: 'postgres://u@h/db',
    passwordFile: 'keys/database.password',
  };
  const c = parseConfig(renderConfigYaml(binding), {});
  assert.equal(c.database.engine, 'postgres');
  assert.equal(c.database.installationId, binding.installationId);
  assert.equal(c.database.url, binding.url);
  assert.equal(c.database.passwordFile, binding.passwordFile);
  const sqlite = parseConfig(renderConfigYaml({ engine: 'sqlite', installationId: 'ins_0123456789abc' }), {});
  assert.equal(sqlite.database.url, '');
  assert.match(renderDatabaseYaml(), /url: ""/);
});
