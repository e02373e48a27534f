// The CLI of issue 7 end to end: tool keygen/sign/verify on the data directory, trust and
// override commands against a real server.
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { startTestServer, type TestServer, tempDir } from './support/server.ts';

describe('tool, trust and override commands', () => {
  let s: TestServer;
  let env: Record<string, string>;
  before(async () => {
    s = await startTestServer(ENGINES[0]!, { warn: () => {} });
    env = { COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: s.init.adminKey, COUNTERSIGN_DIR: s.dir };
  });
  after(async () => s?.close());

  test('keygen, sign and verify: untrusted, then trusted, then edited by one byte', async () => {
    const out = tempDir('cs-publisher-');
    const keygen = await runCli(['tool', 'keygen', '--out', out, '--json'], { env });
    assert.equal(keygen.code, 0, keygen.stderr);
    const key = JSON.parse(keygen.stdout) as { keyId: string; privateKey: string; publicKey: string };
    assert.equal(statSync(key.privateKey).mode & 0o777, 0o600);

    const manifest = join(out, 'hello.yaml');
    writeFileSync(manifest, readFileSync(join(s.dir, 'tools', 'echo.yaml'), 'utf8').replace('name: echo', 'name: hello'));
    const sign = await runCli(['tool', 'sign', manifest, '--key', key.privateKey], { env });
    assert.equal(sign.code, 0, sign.stderr);

    const untrusted = await runCli(['tool', 'verify', manifest, '--json'], { env });
    assert.equal(untrusted.code, 5);
    assert.deepEqual(JSON.parse(untrusted.stdout).untrusted, [key.keyId]);

    const add = await runCli(['trust', 'add', '--key', key.publicKey, '--name', 'cli test'], { env });
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, new RegExp(`Trusted publisher key ${key.keyId}`));
    const refusedPrivate = await runCli(['trust', 'add', '--key', key.privateKey], { env });
    assert.equal(refusedPrivate.code, 2);
    assert.match(refusedPrivate.stderr, /PRIVATE key/);
    const list = await runCli(['trust', 'list'], { env });
    assert.match(list.stdout, new RegExp(key.keyId));

    const trusted = await runCli(['tool', 'verify', manifest], { env });
    assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
    assert.match(trusted.stdout, /^OK:/);

    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('maxLength: 200', 'maxLength: 201'));
    const edited = await runCli(['tool', 'verify', manifest], { env });
    assert.equal(edited.code, 5);
    assert.match(edited.stdout, /BAD: the manifest changed after this key signed it/);

    const remove = await runCli(['trust', 'remove', key.keyId, '--reason', 'test over'], { env });
    assert.equal(remove.code, 0, remove.stderr);
  });

  test('override issue, list and revoke', async () => {
    const issue = await runCli(
      ['override', 'issue', '--environment', 'prod', '--tool', 'echo', '--action', 'say', '--ttl', '15m', '--reason', 'INC-7', '--json'],
      { env },
    );
    assert.equal(issue.code, 0, issue.stderr);
    const o = JSON.parse(issue.stdout) as { id: string; expiresAt: string; issuedAt: string };
    assert.equal(Date.parse(o.expiresAt) - Date.parse(o.issuedAt), 900_000);
    const tooLong = await runCli(
      ['override', 'issue', '--environment', 'prod', '--tool', 'echo', '--action', 'say', '--ttl', '2h', '--reason', 'x'],
      {
        env,
      },
    );
    assert.equal(tooLong.code, 2);
    const list = await runCli(['override', 'list'], { env });
    assert.match(list.stdout, new RegExp(`${o.id}\\s+active`));
    const noReason = await runCli(['override', 'revoke', o.id], { env });
    assert.equal(noReason.code, 2);
    const revoke = await runCli(['override', 'revoke', o.id, '--reason', 'resolved'], { env });
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout, /\(revoked\)/);
  });
});
