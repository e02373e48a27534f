// One contract suite, looped over both engines: the store behaves the same on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import {
  type AuditRecord,
  CheckpointSigner,
  entryHash,
  entryText,
  generateAuditKeyPair,
  publicKeyMap,
  type VerifiableEntries,
  verifyAuditChain,
} from '../src/audit/index.ts';
import { systemRuntime } from '../src/runtime.ts';
import { provisionTenant } from '../src/server/tenants.ts';
import { type PlanRecord, Store } from '../src/store/index.ts';
import { ENGINES } from './support/engines.ts';
import { tempDir } from './support/server.ts';

const keys = generateAuditKeyPair();

function plan(tenantId: string, id: string, createdAt: string): PlanRecord {
  return {
    tenantId,
    id,
    environment: 'dev',
    intent: 'contract',
    document: '{}',
    hash: 'h'.repeat(64),
    risk: 'low',
    riskReasons: ['r'],
    status: 'pending_approval',
    statusReason: null,
    source: 'api',
    proposerId: 'prn_x',
    createdAt,
    updatedAt: createdAt,
    expiresAt: null,
    approval: { rules: ['r'], autoApproved: false, require: [{ group: 'approvers', count: 1 }], ttlHours: 24 },
    seal: null,
  };
}

for (const engine of ENGINES) {
  describe(`store contract on ${engine.name}`, { skip: engine.skip }, () => {
    let store: Store;
    let drop: () => Promise<void>;
    let a: string;
    let b: string;
    before(async () => {
      const db = await engine.fresh();
      drop = db.drop;
      store = await Store.open({
        databaseUrl: db.databaseUrl,
        sqlitePath: join(tempDir(), 'contract.db'),
        runtime: systemRuntime,
        signer: new CheckpointSigner(keys.privateKeyPem),
        checkpointEvery: 10,
      });
      assert.deepEqual(await store.migrate(), [
        '0001_foundation',
        '0002_approvals',
        '0003_executions',
        '0004_trust_and_overrides',
        '0005_event_sequence',
        '0006_seals',
        '0007_installation',
        '0008_principal_name_keys',
        '0009_console',
        '0010_notifications',
        '0011_alerts',
        '0012_scale',
        '0013_traces',
        '0014_replicas',
        // ---- previews (issue 17) ----
        '0015_previews',
        '0016_witnessed',
        '0017_preview_notify',
      ]);
      assert.deepEqual(await store.migrate(), [], 'migrations are idempotent');
      a = (await provisionTenant(store, systemRuntime, 'a')).tenantId;
      b = (await provisionTenant(store, systemRuntime, 'b')).tenantId;
    });
    after(async () => {
      await store?.close();
      await drop?.();
    });

    /** The store's whole chain, read as `entries`, verified with the contract's audit key. */
    const verifyChain = async (entries: VerifiableEntries) =>
      verifyAuditChain({
        entries,
        checkpoints: await store.listAuditCheckpoints(),
        head: await store.auditHead(),
        publicKeys: publicKeyMap([keys.publicKeyPem]),
      });

    test('a plan is visible in its tenant only', async () => {
      await store.transaction(a, (s) => s.plans.insert(plan(a, 'pln_a1', '2026-01-01T00:00:00.000Z')));
      assert.equal((await store.scope(a).plans.get('pln_a1'))?.id, 'pln_a1');
      assert.equal(await store.scope(b).plans.get('pln_a1'), undefined);
      assert.equal((await store.scope(b).plans.list({ limit: 10 })).plans.length, 0);
      assert.equal(await store.scope(b).plans.setStatus('pln_a1', 'pending_approval', 'approved', 'now'), false);
    });

    test('a tenant scope cannot be made without a tenant', () => {
      assert.throws(() => store.scope(''), { code: 'INTERNAL' });
    });

    test('status changes are compare-and-set', async () => {
      const s = store.scope(a);
      assert.equal(await s.plans.setStatus('pln_a1', 'pending_approval', 'approved', 't1'), true);
      assert.equal(await s.plans.setStatus('pln_a1', 'pending_approval', 'rejected', 't2'), false);
      assert.equal((await s.plans.get('pln_a1'))?.status, 'approved');
    });

    test('keyset paging returns each plan once, newest first', async () => {
      for (let i = 0; i < 7; i++) {
        await store.transaction(a, (s) => s.plans.insert(plan(a, `pln_p${i}`, `2026-02-01T00:00:0${i}.000Z`)));
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.scope(a).plans.list({ limit: 3, cursor });
        seen.push(...page.plans.map((p) => p.id));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      assert.equal(new Set(seen).size, seen.length);
      assert.equal(seen[0], 'pln_p6');
      assert.ok(seen.includes('pln_a1'));
    });

    test('a failed transaction leaves neither the change nor its audit entry', async () => {
      const head = await store.auditHead();
      await assert.rejects(
        store.transaction(a, async (s) => {
          await s.plans.insert(plan(a, 'pln_rollback', '2026-03-01T00:00:00.000Z'));
          await s.audit({ actor: 'x', action: 'plan.propose', outcome: 'allowed', resource: 'plan:pln_rollback' });
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.scope(a).plans.get('pln_rollback'), undefined);
      assert.deepEqual(await store.auditHead(), head);
    });

    test('concurrent appends form one gap-free chain with signed checkpoints', async () => {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.scope(i % 2 ? a : b).audit({ actor: 'c', action: 'plan.read', outcome: 'denied', resource: `plan:${i}` }),
        ),
      );
      const report = await verifyChain(store.iterateAuditForVerification());
      assert.equal(report.ok, true, report.message);
      assert.ok(report.checkpoints >= 4);
      const mine = await store.scope(a).listAudit(0, 1000);
      assert.ok(mine.every((e) => e.tenantId === a));
    });

    test('entries whose fields need escaping are hashed as entryHash hashes them, and the chain verifies', async () => {
      // On PostgreSQL the database hashes each entry itself (to_json + sha256); on SQLite, verification
      // lets it write out the hashed text (json_quote). Either must equal entryText, byte for byte.
      const odd = ['quote " back \\ slash', 'tab\tnewline\ncr\r\u001f\u007f', 'é ß 中文 😀 \u2028\u2029', '{"a":"b"}', ''];
      const appended: AuditRecord[] = [];
      for (const [i, text] of odd.entries()) {
        appended.push(
          await store
            .scope(a)
            .audit({ actor: `prn_${text}`, action: 'plan.read', outcome: 'allowed', resource: `plan:${text}`, details: { note: text, i } }),
        );
      }
      for (const e of appended) assert.equal(e.hash, entryHash(e));
      const stored = (await store.scope(a).listAudit(0, 10_000)).filter((e) => appended.some((x) => x.seq === e.seq));
      assert.deepEqual(stored, appended);
      const report = await verifyChain(store.auditPagesForVerification());
      assert.equal(report.ok, true, report.message);
    });

    if (engine.name === 'postgres')
      test("PostgreSQL's to_json writes every code point as JSON.stringify does (the append's hash relies on it)", async () => {
        const strings: string[] = [];
        for (let c = 1; c <= 0x10ffff; c++) {
          if (c >= 0xd800 && c <= 0xdfff) continue;
          if (c > 0xffff && c % 0x101 !== 0) continue;
          strings.push(String.fromCodePoint(c));
        }
        strings.push('quote " and backslash \\ and slash / inside', '');
        const { rows } = await sql<{ s: string; q: string }>`select s, to_json(s)::text as q from unnest(${strings}::text[]) as s`.execute(
          store.kyselyForOperatorTooling,
        );
        assert.equal(rows.length, strings.length);
        const mismatches = rows.filter((r) => r.q !== JSON.stringify(r.s)).map((r) => `${JSON.stringify(r.s)} → ${r.q}`);
        assert.deepEqual(mismatches.slice(0, 10), []);
      });

    if (engine.name === 'postgres')
      test('an append whose stored hash is not the one entryHash computes fails, and leaves nothing behind', async () => {
        // A trigger (someone with write access to the database) rewrites the hash as it is written.
        const db = store.kyselyForOperatorTooling;
        await sql`create function cs_test_rewrite_hash() returns trigger language plpgsql as $$
          begin if new.resource = 'plan:rewritten' then new.hash := repeat('0', 64); end if; return new; end $$`.execute(db);
        await sql`create trigger cs_test_rewrite_hash before insert on audit_log for each row execute function cs_test_rewrite_hash()`.execute(
          db,
        );
        try {
          await assert.rejects(
            store.scope(a).audit({ actor: 'c', action: 'plan.read', outcome: 'allowed', resource: 'plan:rewritten' }),
            (err: Error) =>
              /audit entry could not be written/.test(err.message) && /differs from entryHash/.test(String((err.cause as Error)?.message)),
          );
          assert.equal((await store.scope(a).listAudit(0, 10_000)).filter((e) => e.resource === 'plan:rewritten').length, 0);
          await store.scope(a).audit({ actor: 'c', action: 'plan.read', outcome: 'allowed', resource: 'plan:after' });
        } finally {
          await sql`drop trigger cs_test_rewrite_hash on audit_log`.execute(db);
          await sql`drop function cs_test_rewrite_hash()`.execute(db);
        }
        const report = await verifyChain(store.auditPagesForVerification());
        assert.equal(report.ok, true, report.message);
      });

    test('transactions that fail after appending audit entries leave none behind, even sharing a commit (invariant 11)', async () => {
      const counts = store.groupCommitCounts();
      const before = counts?.();
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          store.transaction(a, async (s) => {
            await s.plans.insert(plan(a, `pln_batch${i}`, '2026-01-02T00:00:00.000Z'));
            await s.audit({ actor: 'c', action: 'plan.propose', outcome: 'allowed', resource: `plan:pln_batch${i}` });
            if (i % 3 === 1) throw new Error(`refused ${i}`);
            return i;
          }),
        ),
      );
      const failed = new Set([1, 4, 7, 10]);
      for (const [i, r] of results.entries()) assert.equal(r.status, failed.has(i) ? 'rejected' : 'fulfilled', `transaction ${i}`);
      if (counts && before) {
        // SQLite: the twelve queued behind one another, so some shared a commit (the savepoint path).
        const after = counts();
        assert.ok(after.commits - before.commits < 12, `${after.commits - before.commits} commits for 12 transactions`);
      }
      const entries = (await store.scope(a).listAudit(0, 10_000)).filter((e) => e.resource.startsWith('plan:pln_batch'));
      assert.deepEqual(entries.map((e) => e.resource).sort(), [0, 2, 3, 5, 6, 8, 9, 11].map((i) => `plan:pln_batch${i}`).sort());
      for (const i of failed) assert.equal(await store.scope(a).plans.get(`pln_batch${i}`), undefined);
      const report = await verifyChain(store.auditPagesForVerification());
      assert.equal(report.ok, true, report.message);
    });

    test('the chain in pages (each next page requested ahead) is the chain entry by entry', async () => {
      const entries: unknown[] = [];
      for await (const e of store.iterateAuditForVerification()) entries.push(e);
      const paged: unknown[] = [];
      for await (const page of store.auditPagesForVerification(7)) {
        assert.ok(page.length <= 7);
        paged.push(...page);
      }
      assert.ok(entries.length > 14);
      // Read for verification, each entry is its record (PostgreSQL) or, on SQLite, the text the
      // record's hash covers as the database writes it out: exactly what entryHash would hash.
      assert.deepEqual(
        paged,
        (entries as AuditRecord[]).map((e) =>
          engine.name === 'sqlite' ? { seq: e.seq, prevHash: e.prevHash, hash: e.hash, text: entryText(e) } : e,
        ),
      );
      // Read entry by entry (rows as arrays on SQLite, aliased columns on PostgreSQL), each entry
      // is the record the tenant's own listing makes of the same row: same fields, same values.
      const bySeq = new Map((entries as AuditRecord[]).map((e) => [e.seq, e]));
      const listed = [...(await store.scope(a).listAudit(0, 1000)), ...(await store.scope(b).listAudit(0, 1000))];
      assert.ok(listed.length > 14);
      for (const e of listed) assert.deepEqual(bySeq.get(e.seq), e);
    });

    test('duplicate principal names in one tenant are refused; across tenants allowed', async () => {
      await assert.rejects(
        store.transaction(a, (s) =>
          s.directory.insertPrincipal({ id: 'prn_dup', name: 'admin', kind: 'human', groups: [], disabled: false, createdAt: 'now' }),
        ),
      );
      await store.transaction(b, (s) =>
        s.directory.insertPrincipal({ id: 'prn_ok', name: 'alice', kind: 'human', groups: [], disabled: false, createdAt: 'now' }),
      );
      await store.transaction(a, (s) =>
        s.directory.insertPrincipal({ id: 'prn_ok2', name: 'alice', kind: 'human', groups: [], disabled: false, createdAt: 'now' }),
      );
    });
  });
}
