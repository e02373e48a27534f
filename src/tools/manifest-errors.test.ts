import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { suggestField } from './manifest-errors.ts';
import { loadTool } from './registry.ts';

const VALID = `apiVersion: countersign/v1
kind: Tool
name: lister
version: "1.0.0"
executable:
  path: /bin/ls
  sha256: ${'a'.repeat(64)}
actions:
  list:
    argv: ["{{dir}}"]
    input: { properties: { dir: { type: string } }, required: [dir] }
    risk: low
`;

/** The MANIFEST_INVALID message loading this YAML gives. */
function messageFor(yaml: string): string {
  try {
    loadTool(parseYaml(yaml), 'tools/lister.yaml');
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'MANIFEST_INVALID');
    return (err as Error).message;
  }
  assert.fail('the manifest loaded');
}

test('the valid base manifest loads (control)', () => {
  assert.equal(loadTool(parseYaml(VALID), 'x').manifest.name, 'lister');
});

test('a missing sha256 says how to compute it, naming the executable', () => {
  const m = messageFor(VALID.replace(/ {2}sha256: .*\n/, ''));
  assert.match(m, /^tools\/lister\.yaml: executable\.sha256: missing/);
  assert.match(m, /sha256sum \/bin\/ls/);
  assert.match(m, /countersign tool hash \/bin\/ls/);
  assert.doesNotMatch(m, /received undefined/);
});

test('a malformed sha256 says what is wrong with it: prefix, case, length', () => {
  assert.match(messageFor(VALID.replace('a'.repeat(64), `sha256:${'a'.repeat(64)}`)), /without the "sha256:" prefix/);
  assert.match(messageFor(VALID.replace('a'.repeat(64), 'A'.repeat(64))), new RegExp(`lowercase hex \\(${'a'.repeat(64)}\\)`));
  const short = messageFor(VALID.replace('a'.repeat(64), 'abc123'));
  assert.match(short, /"abc123" is not a SHA-256/);
  assert.match(short, /sha256sum \/bin\/ls/);
});

test('a relative executable path says to give the absolute one', () => {
  assert.match(messageFor(VALID.replace('path: /bin/ls', 'path: ls')), /executable\.path: "ls" is not absolute: .*command -v/);
});

test('an unquoted version YAML reads as a number says to quote it', () => {
  assert.match(messageFor(VALID.replace('version: "1.0.0"', 'version: 1.0')), /version: YAML read 1 as a number: quote the version/);
});

test('an unknown field suggests the one meant', () => {
  const m = messageFor(VALID.replace('argv: ["{{dir}}"]', 'args: ["{{dir}}"]'));
  assert.match(m, /actions\.list: unknown field "args"; did you mean "argv"\?/);
  const typo = messageFor(VALID.replace('{ type: string }', '{ type: string, maxlength: 10 }'));
  assert.match(typo, /unknown field "maxlength"; did you mean "maxLength"\?/);
  const limits = messageFor(`${VALID}sandbox: { limits: { timeout: 10 } }\n`);
  assert.match(limits, /sandbox\.limits: unknown field "timeout"; did you mean "wallSeconds"\?/);
  const far = messageFor(`${VALID}zzzzqqq: 1\n`);
  assert.match(far, /\(root\): unknown field "zzzzqqq" \(allowed here: apiVersion, kind, name, version/);
});

test('a secret written in clear is refused and the message says how secrets are referenced', () => {
  const m = messageFor(`${VALID}sandbox: { secrets: [{ name: TOKEN, from: "env:TOKEN", value: hunter2 }] }\n`);
  assert.match(m, /sandbox\.secrets\.0: "value" is not allowed: a secret is referenced with from: env:NAME/);
  assert.doesNotMatch(m, /hunter2/);
});

test('missing risk, bad input type, numeric env value and bad egress each say what to write', () => {
  assert.match(
    messageFor(VALID.replace('    risk: low\n', '')),
    /actions\.list\.risk: every action declares its base risk: one of low, medium/,
  );
  assert.match(
    messageFor(VALID.replace('{ type: string }', '{ type: str }')),
    /input\.properties\.dir: unknown type "str": an input field has type string, integer, number, boolean or array/,
  );
  assert.match(messageFor(`${VALID}sandbox: { env: { PORT: 8080 } }\n`), /sandbox\.env\.PORT: environment values are strings: quote it/);
  assert.match(
    messageFor(`${VALID}sandbox: { egress: ["https://api.example.com"] }\n`),
    /sandbox\.egress\.0: .*e\.g\. api\.example\.com:443/,
  );
  assert.match(
    messageFor(VALID.replace('["{{dir}}"]', '["{{folder}}"]')),
    /placeholder \{\{folder\}\} names no input field: declare it under input\.properties/,
  );
});

test('an empty file and a missing header say how a manifest starts', () => {
  assert.match(messageFor(''), /the file is empty or not a YAML mapping/);
  assert.match(
    messageFor(VALID.replace('apiVersion: countersign/v1\n', '')),
    /apiVersion: the first line of a manifest is apiVersion: countersign\/v1/,
  );
});

test('several problems are reported together, so one edit can fix them all', () => {
  const m = messageFor(VALID.replace('    risk: low\n', '').replace('path: /bin/ls', 'path: ls'));
  assert.match(m, /executable\.path/);
  assert.match(m, /actions\.list\.risk/);
});

test('suggestField: aliases, case and small typos; nothing for a far-off name', () => {
  assert.equal(suggestField('cmd', ['argv', 'input']), 'argv');
  assert.equal(suggestField('Risk', ['risk']), 'risk');
  assert.equal(suggestField('destrutive', ['destructive', 'idempotent']), 'destructive');
  assert.equal(suggestField('banana', ['argv', 'risk']), null);
});
