// Invariant 11: if the audit entry cannot be written, the action does not happen.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENGINES } from '../support/engines.ts';
import { rawExec, rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

const BREAK_SQLITE = `create trigger audit_disk_full before insert on audit_log begin select raise(abort, 'disk full'); end;`;
const BREAK_PG = `
  create or replace function audit_disk_full() returns trigger as $$ begin raise exception 'disk full'; end $$ language plpgsql;
  create trigger audit_disk_full before insert on audit_log for each row execute function audit_disk_full();`;
const FIX_SQLITE = 'drop trigger audit_disk_full;';
const FIX_PG = 'drop trigger audit_disk_full on audit_log; drop function audit_disk_full();';

for (const engine of ENGINES) {
  describe(`audit before effect on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer(engine);
    });
    after(async () => s?.close());

    test('a plan whose audit entry fails to write is not stored (503 AUDIT_WRITE_FAILED)', async () => {
      const plansBefore = await rawSql(s, 'select id from plans');
      const auditBefore = await rawSql(s, 'select seq from audit_log');
      await rawExec(s, BREAK_SQLITE, BREAK_PG);
      try {
        const res = await s.request('POST', '/v1/plans', { body: echoPlan('must not exist') });
        assert.equal(res.status, 503);
        assert.equal(res.body.error.code, 'AUDIT_WRITE_FAILED');
        assert.deepEqual(await rawSql(s, 'select id from plans'), plansBefore);
        assert.equal((await rawSql(s, 'select seq from audit_log')).length, auditBefore.length);
        // A denied request whose denial cannot be audited is still refused.
        const anon = await s.request('GET', '/v1/plans', { key: 'csk_bad' });
        assert.ok(anon.status === 503 || anon.status === 401);
      } finally {
        await rawExec(s, FIX_SQLITE, FIX_PG);
      }
      const ok = await s.request('POST', '/v1/plans', { body: echoPlan('after repair') });
      assert.equal(ok.status, 201);
      const head = await rawSql(s, 'select seq from audit_head');
      assert.equal(Number(head[0].seq), auditBefore.length + 1);
    });
  });
}
