// A backup taken while plans are being proposed restores to a store whose audit chain verifies,
// on both engines; restore checks the chain (and the installation) before anything is put in
// place, and refuses a tampered backup, a foreign one, or a target that already holds a store.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { backupStore, restoreStore, verifyStoreAudit } from '../../src/backup/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { openStore } from '../../src/server/index.ts';
import { initDataDir } from '../../src/server/init.ts';
import { runCli } from '../support/cli.ts';
import { ENGINES, freshPostgresDatabase } from '../support/engines.ts';
import { rawSql } from '../support/raw-db.ts';
import { startTestServer, type TestServer, tempDir } from '../support/server.ts';

/** Proposes plans over HTTP, `parallel` at a time, until `stop` resolves; returns how many were accepted. */
async function proposeUntil(s: TestServer, stop: Promise<unknown>, parallel = 2): Promise<number> {
  let done = false;
  void stop.finally(() => {
    done = true;
  });
  let accepted = 0;
  const worker = async () => {
    for (let i = 0; !done; i++) {
      const r = await s.request('POST', '/v1/plans', {
        body: { intent: `load ${i}`, environment: 'dev', steps: [{ tool: 'echo', action: 'say', input: { message: `m${i}` } }] },
      });
      if (r.status === 201) accepted++;
      // Steady, not saturating: the CLI that takes the backup needs the same two cores to start.
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return accepted;
}

/** A copy of a data directory without its store: keys and config, as restored from a file backup. */
function dataDirWithoutStore(dir: string): string {
  const copy = join(tempDir('cs-restore-'), 'data');
  cpSync(dir, copy, { recursive: true, filter: (src) => !/countersign\.db/.test(src) });
  return copy;
}

const json = (r: { stdout: string }) => JSON.parse(r.stdout);

for (const engine of ENGINES) {
  describe(`backup under load and restore on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    const cleanup: (() => Promise<void> | void)[] = [];
    before(async () => {
      s = await startTestServer(engine);
    });
    after(async () => {
      for (const c of cleanup.reverse()) await c();
      await s?.close();
    });

    test('a backup taken while plans are proposed restores to a store whose audit chain verifies', async () => {
      const out = join(tempDir('cs-backup-'), 'store.backup');
      cleanup.push(() => rmSync(join(out, '..'), { recursive: true, force: true }));
      const dbArgs = s.databaseUrl ? ['--database-url', s.databaseUrl] : [];
      let backup!: Awaited<ReturnType<typeof runCli>>;
      const taking = (async () => {
        // Let the load get going first, so the copy is taken mid-stream.
        while ((await rawSql(s, 'select count(*) as n from plans'))[0].n < 5) await new Promise((r) => setTimeout(r, 20));
        backup = await runCli(['backup', '--dir', s.dir, ...dbArgs, '--output', out, '--json']);
      })();
      const accepted = await proposeUntil(s, taking);
      await taking;
      assert.equal(backup.code, 0, backup.stdout + backup.stderr);
      const report = json(backup);
      assert.equal(report.engine, engine.name);
      if (engine.name === 'sqlite') assert.equal(report.audit.ok, true, backup.stdout);
      assert.ok(accepted > 0);
      await assert.rejects(backupStore(s.dir, { databaseUrl: s.databaseUrl, output: out }), /never overwrites/);

      // The rest in this process: one CLI start (~seconds under tsx) is enough to show the commands.
      const target = dataDirWithoutStore(s.dir);
      cleanup.push(() => rmSync(join(target, '..'), { recursive: true, force: true }));
      let targetUrl: string | undefined;
      if (s.databaseUrl) {
        const fresh = await freshPostgresDatabase();
        cleanup.push(() => fresh.drop());
        targetUrl = fresh.databaseUrl;
      }
      const restored = await restoreStore(target, { databaseUrl: targetUrl, input: out });
      assert.equal(restored.audit.ok, true);
      const store = await openStore(target, loadConfig(target, {}), { databaseUrl: targetUrl }, 'read');
      try {
        const verify = await verifyStoreAudit(store, join(target, 'keys'));
        assert.equal(verify.ok, true, verify.message);
      } finally {
        await store.close();
      }
      // The restore is recorded in the restored log, right after the history it brought back.
      const recorded = await rawSql(
        { dir: target, databaseUrl: targetUrl },
        "select details from audit_log where action = 'store.restore'",
      );
      assert.equal(recorded.length, 1);
      const r = JSON.parse(recorded[0].details);
      assert.equal(r.from, out);
      assert.equal(r.engine, engine.name);
      assert.equal(r.verifiedEntries, restored.audit.entries);
      const restoredPlans = (await rawSql({ dir: target, databaseUrl: targetUrl }, 'select count(*) as n from plans'))[0].n;
      assert.ok(Number(restoredPlans) >= 5, `the snapshot holds the plans proposed before it (${restoredPlans})`);

      // A second restore onto the restored store is refused: SQLite without --force, PostgreSQL always (not empty).
      await assert.rejects(restoreStore(target, { databaseUrl: targetUrl, input: out }), (err: any) => err.code === 'ALREADY_INITIALIZED');
    });

    if (engine.name === 'sqlite') {
      test('a tampered SQLite backup is refused and nothing is put in place', async () => {
        const out = join(tempDir('cs-backup-'), 'store.backup');
        cleanup.push(() => rmSync(join(out, '..'), { recursive: true, force: true }));
        await backupStore(s.dir, { output: out });
        const db = new Database(out);
        db.prepare("update audit_log set actor = 'someone-else' where seq = (select min(seq) + 1 from audit_log)").run();
        db.close();
        const target = dataDirWithoutStore(s.dir);
        cleanup.push(() => rmSync(join(target, '..'), { recursive: true, force: true }));
        await assert.rejects(restoreStore(target, { input: out }), (err: any) => err.code === 'AUDIT_CHAIN_BROKEN');
        assert.equal(existsSync(join(target, 'countersign.db')), false, 'no store was put in place');
      });

      test('a backup of another installation is refused', async () => {
        const otherDir = join(tempDir('cs-other-'), 'data');
        cleanup.push(() => rmSync(join(otherDir, '..'), { recursive: true, force: true }));
        await initDataDir(otherDir);
        const out = join(otherDir, '..', 'other.backup');
        await backupStore(otherDir, { output: out });
        const target = dataDirWithoutStore(s.dir);
        cleanup.push(() => rmSync(join(target, '..'), { recursive: true, force: true }));
        await assert.rejects(restoreStore(target, { input: out }), (err: any) => err.code === 'STORE_BINDING_MISMATCH');
        assert.equal(existsSync(join(target, 'countersign.db')), false);
      });

      test('a restore that cannot be recorded is taken back out, and the store it replaced comes back', async () => {
        const out = join(tempDir('cs-backup-'), 'store.backup');
        cleanup.push(() => rmSync(join(out, '..'), { recursive: true, force: true }));
        await backupStore(s.dir, { output: out });
        const target = dataDirWithoutStore(s.dir);
        cleanup.push(() => rmSync(join(target, '..'), { recursive: true, force: true }));
        writeFileSync(join(target, 'countersign.db'), 'the store the operator had');
        // Without the audit signing key the restored log cannot take the store.restore entry.
        renameSync(join(target, 'keys', 'audit.key'), join(target, 'keys', 'audit.key.away'));
        await assert.rejects(restoreStore(target, { input: out, force: true }));
        assert.equal(readFileSync(join(target, 'countersign.db'), 'utf8'), 'the store the operator had');
        assert.deepEqual(
          readdirSync(target).filter((f) => f.startsWith('countersign.db')),
          ['countersign.db'],
        );
      });
    }
  });
}
