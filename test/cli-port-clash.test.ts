// Issue 12 (#5): `serve` on a port that is taken says what holds it and how to choose another,
// and starts nothing: no executor, no "started" audit entry.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findPortHolders } from '../src/server/port-holder.ts';
import { runCli } from './support/cli.ts';
import { rawSql } from './support/raw-db.ts';
import { tempDir } from './support/server.ts';

describe('a taken port', () => {
  const root = tempDir('cs-port-');
  const dir = join(root, 'data');
  let squatter: Server;
  let port = 0;

  before(async () => {
    const init = await runCli(['init', '--dir', dir, '--json']);
    assert.equal(init.code, 0, init.stderr);
    // A real listener of this test process holds the port, as another server would.
    squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    port = (squatter.address() as { port: number }).port;
  });
  after(() => {
    squatter?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('findPortHolders names the process listening on it, from /proc', () => {
    const holders = findPortHolders(port);
    assert.ok(
      holders.some((h) => h.pid === process.pid && h.command.includes('node')),
      JSON.stringify(holders),
    );
  });

  test('serve exits 3 naming the holder and the way out, and starts no executor', async () => {
    const r = await runCli(['serve', '--dir', dir, '--port', String(port)]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use by pid ${process.pid} \\(`));
    assert.match(r.stderr, /\[PORT_IN_USE\]/);
    assert.match(r.stderr, /hint: .*--port <n>.*server\.port in countersign\.yaml/);
    assert.match(r.stderr, /the API did not start \(exit 3\), so no executor was started/);
    assert.doesNotMatch(r.stderr, /executor \S+ started \(|EADDRINUSE|at .*\.ts:\d+/);
  });

  test('up on an initialized directory refuses the same way', async () => {
    const r = await runCli(['up', '--dir', dir, '--port', String(port)]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /\[PORT_IN_USE\]/);
    assert.doesNotMatch(r.stderr, /executor \S+ started \(/);
  });

  test('api alone exits 3 with the same message, and the audit log records no start', async () => {
    const r = await runCli(['api', '--dir', dir, '--port', String(port), '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /"code":"PORT_IN_USE"/);
    const started = await rawSql({ dir, databaseUrl: undefined }, "select count(*) as n from audit_log where action = 'system.start'");
    assert.equal(Number(started[0].n), 0);
  });
});
