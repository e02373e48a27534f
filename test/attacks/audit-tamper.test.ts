// Invariant 11: `audit verify` detects modification, deletion, insertion, reordering and
// truncation made directly in the database, and names the first bad sequence number.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { entryHash } from '../../src/audit/index.ts';
import { runCli } from '../support/cli.ts';
import { ENGINES } from '../support/engines.ts';
import { rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

const COLS = 'seq, ts, tenant_id, actor, action, outcome, resource, details, prev_hash, hash';

for (const engine of ENGINES) {
  describe(`audit tampering on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let pristine: any[];
    let pristineHead: any[];

    const verify = async () => {
      const args = ['audit', 'verify', '--dir', s.dir, '--json', ...(s.databaseUrl ? ['--database-url', s.databaseUrl] : [])];
      const r = await runCli(args);
      return { code: r.code, report: JSON.parse(r.stdout || '{}'), stderr: r.stderr };
    };
    /** Runs one tampering, then always puts the pristine log back for the next test. */
    const tampered = async (fn: () => Promise<void>) => {
      try {
        await fn();
      } finally {
        await restore();
      }
    };
    const restore = async () => {
      await rawSql(s, 'delete from audit_log');
      for (const r of pristine) {
        await rawSql(s, `insert into audit_log (${COLS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
          r.seq,
          r.ts,
          r.tenant_id,
          r.actor,
          r.action,
          r.outcome,
          r.resource,
          r.details,
          r.prev_hash,
          r.hash,
        ]);
      }
      await rawSql(s, 'update audit_head set seq = ?, hash = ? where id = 1', [pristineHead[0].seq, pristineHead[0].hash]);
    };

    before(async () => {
      s = await startTestServer(engine);
      for (let i = 0; i < 10; i++) assert.equal((await s.request('POST', '/v1/plans', { body: echoPlan(`tamper ${i}`) })).status, 201);
      await s.ctx.store.checkpoint();
      pristine = await rawSql(s, `select ${COLS} from audit_log order by seq`);
      pristineHead = await rawSql(s, 'select seq, hash from audit_head');
      assert.ok(pristine.length >= 12, `only ${pristine.length} entries`);
    });
    after(async () => s?.close());

    test('an untouched log verifies (exit 0)', async () => {
      const v = await verify();
      assert.equal(v.code, 0, v.stderr);
      assert.equal(v.report.ok, true);
      assert.equal(v.report.entries, pristine.length);
    });

    test('editing one row is detected at that row', async () => {
      await tampered(async () => {
        await rawSql(s, 'update audit_log set details = ? where seq = 5', ['{"forged":true}']);
        const v = await verify();
        assert.equal(v.code, 1);
        assert.equal(v.report.firstBadSeq, 5);
        assert.equal(v.report.problem, 'modified');
      });
    });

    test('editing a row and recomputing its hash is detected at the next link', async () => {
      await tampered(async () => {
        const row = pristine[9];
        const forged = { ...row, actor: 'prn_someone_else' };
        const hash = entryHash({
          seq: Number(forged.seq),
          ts: forged.ts,
          tenantId: forged.tenant_id,
          actor: forged.actor,
          action: forged.action,
          outcome: forged.outcome,
          resource: forged.resource,
          details: forged.details,
          prevHash: forged.prev_hash,
        });
        await rawSql(s, 'update audit_log set actor = ?, hash = ? where seq = ?', [forged.actor, hash, row.seq]);
        const v = await verify();
        assert.equal(v.code, 1);
        assert.equal(v.report.firstBadSeq, Number(row.seq) + 1);
      });
    });

    // SQLite only: it keeps a value of any type in any column, where PostgreSQL refuses one.
    if (engine.name === 'sqlite')
      test('a value of another type where text belongs is detected, even a JSONB blob that prints as the same text', async () => {
        await tampered(async () => {
          // The same string as JSONB: SQLite's json_quote prints it as the stored text, so a check
          // that let the database write out the hashed text for any row would call this intact.
          await rawSql(s, 'update audit_log set details = jsonb(json_quote(details)) where seq = 6');
          const [row] = await rawSql(s, 'select typeof(details) as t from audit_log where seq = 6');
          assert.equal(row.t, 'blob');
          const v = await verify();
          assert.equal(v.code, 1, v.stderr);
          assert.equal(v.report.firstBadSeq, 6);
          assert.equal(v.report.problem, 'modified');
          assert.match(v.report.message, /not text/);
        });
      });

    test('deleting one row is detected at the gap', async () => {
      await tampered(async () => {
        await rawSql(s, 'delete from audit_log where seq = 8');
        const v = await verify();
        assert.equal(v.code, 1);
        assert.equal(v.report.firstBadSeq, 8);
        assert.equal(v.report.problem, 'missing');
      });
    });

    test('swapping two rows is detected at the first of them', async () => {
      await tampered(async () => {
        const a = pristine[9];
        const b = pristine[10];
        await rawSql(s, 'delete from audit_log where seq in (?, ?)', [a.seq, b.seq]);
        for (const [seq, r] of [
          [a.seq, b],
          [b.seq, a],
        ]) {
          await rawSql(s, `insert into audit_log (${COLS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
            seq,
            r.ts,
            r.tenant_id,
            r.actor,
            r.action,
            r.outcome,
            r.resource,
            r.details,
            r.prev_hash,
            r.hash,
          ]);
        }
        const v = await verify();
        assert.equal(v.code, 1);
        assert.equal(v.report.firstBadSeq, Number(a.seq));
      });
    });

    test('inserting a forged row in the middle is detected', async () => {
      await tampered(async () => {
        const at = 4;
        const prev = pristine[at - 2];
        const shifted = pristine.filter((r) => Number(r.seq) >= at).sort((x, y) => Number(y.seq) - Number(x.seq));
        for (const r of shifted) await rawSql(s, 'update audit_log set seq = ? where seq = ?', [Number(r.seq) + 1, r.seq]);
        const forged = {
          seq: at,
          ts: prev.ts,
          tenantId: prev.tenant_id,
          actor: 'attacker',
          action: 'plan.approve',
          outcome: 'allowed',
          resource: 'plan:x',
          details: '{}',
          prevHash: prev.hash,
        };
        const hash = entryHash(forged);
        await rawSql(s, `insert into audit_log (${COLS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
          at,
          forged.ts,
          forged.tenantId,
          forged.actor,
          forged.action,
          forged.outcome,
          forged.resource,
          forged.details,
          forged.prevHash,
          hash,
        ]);
        const v = await verify();
        assert.equal(v.code, 1);
        assert.equal(v.report.firstBadSeq, at + 1);
      });
    });

    test('truncating behind the last checkpoint is detected even with the head rewritten', async () => {
      await tampered(async () => {
        const keep = pristine[3];
        await rawSql(s, 'delete from audit_log where seq > ?', [keep.seq]);
        await rawSql(s, 'update audit_head set seq = ?, hash = ? where id = 1', [keep.seq, keep.hash]);
        const v = await verify();
        assert.equal(v.code, 1);
        assert.equal(v.report.problem, 'truncated');
        assert.equal(v.report.firstBadSeq, Number(keep.seq) + 1);
      });
    });

    test('dropping the newest row is detected against the chain head', async () => {
      await tampered(async () => {
        const last = pristine.at(-1);
        await rawSql(s, 'delete from audit_log where seq = ?', [last.seq]);
        const v = await verify();
        assert.equal(v.code, 1);
        assert.ok(v.report.problem === 'truncated' || v.report.problem === 'head_mismatch');
      });
    });

    test('a forged checkpoint signature is refused', async () => {
      const cps = await rawSql(s, 'select seq, signature from audit_checkpoints order by seq');
      const cp = cps[0];
      const forged = createHash('sha512').update('attacker').digest('base64url');
      await rawSql(s, 'update audit_checkpoints set signature = ? where seq = ?', [forged, cp.seq]);
      const v = await verify();
      assert.equal(v.code, 1);
      assert.equal(v.report.problem, 'bad_checkpoint_signature');
      await rawSql(s, 'update audit_checkpoints set signature = ? where seq = ?', [cp.signature, cp.seq]);
      assert.equal((await verify()).code, 0);
    });

    test('export writes every entry and checkpoint as JSON lines', async () => {
      const r = await runCli(['audit', 'export', '--dir', s.dir, ...(s.databaseUrl ? ['--database-url', s.databaseUrl] : [])]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines.filter((l) => l.type === 'entry').length, pristine.length);
      assert.ok(lines.some((l) => l.type === 'checkpoint' && typeof l.signature === 'string'));
    });
  });
}
