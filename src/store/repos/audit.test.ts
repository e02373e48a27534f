import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { type AuditRecord, entryText, GENESIS_HASH, sealEntry } from '../../audit/chain.ts';
import type { Database as Schema } from '../schema.ts';
import { createSqliteDialect } from '../sqlite/dialect.ts';
import { iterateAuditVerificationPages } from './audit.ts';

const root = mkdtempSync(join(tmpdir(), 'cs-audit-repo-'));
after(() => rmSync(root, { recursive: true, force: true }));

test("SQLite's json_object and json_quote write every code point as JSON.stringify does (the verification text relies on it)", () => {
  const db = new Database(':memory:');
  try {
    const object = db.prepare(`select json_object('k', ?)`).pluck();
    const quote = db.prepare('select json_quote(?)').pluck();
    const mismatches: string[] = [];
    const check = (s: string) => {
      const inObject = object.get(s);
      if (inObject !== `{"k":${JSON.stringify(s)}}`) mismatches.push(`json_object: ${JSON.stringify(s)} → ${String(inObject)}`);
      const quoted = quote.get(s);
      if (quoted !== JSON.stringify(s)) mismatches.push(`json_quote: ${JSON.stringify(s)} → ${String(quoted)}`);
    };
    for (let c = 0; c <= 0x10ffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      // Every BMP code point, and a sample of the others (each plane's encoding is the same 4-byte form).
      if (c > 0xffff && c % 0x101 !== 0) continue;
      const ch = String.fromCodePoint(c);
      check(ch);
      if (c < 0x100) check(`a${ch}b${ch}`);
    }
    check('');
    check('quote " and backslash \\ and slash / and \u2028\u2029 and NUL \u0000 inside');
    // Text that reads as JSON stays a string: a column value carries no JSON subtype.
    for (const s of ['{"a":1}', '[1,2]', 'null', '12', 'true']) check(s);
    assert.deepEqual(mismatches.slice(0, 10), []);
  } finally {
    db.close();
  }
});

test('the verification pages carry, for every entry, exactly the text its hash covers', async () => {
  const db = new Kysely<Schema>({ dialect: createSqliteDialect({ path: join(root, 'text.db') }).dialect });
  try {
    await sql`create table audit_log (seq bigint primary key, ts text not null, tenant_id text not null, actor text not null,
      action text not null, outcome text not null, resource text not null, details text not null, prev_hash text not null,
      hash text not null)`.execute(db);
    const odd = ['', 'plain', 'quote " back \\ slash', 'tab\tnewline\ncr\r\u0000nul\u001f\u007f', 'é ß 中文 😀 \u2028', '{"a":"b"}'];
    const records: AuditRecord[] = [];
    let prev = GENESIS_HASH;
    for (let i = 0; i < 25; i++) {
      const pick = (k: number) => odd[(i + k) % odd.length] as string;
      const r = sealEntry(i + 1, `2026-12-07T00:00:${String(i).padStart(2, '0')}.000Z${pick(0)}`, prev, {
        tenantId: `tnt_${pick(1)}`,
        actor: pick(2),
        action: pick(3) as never,
        outcome: pick(4) as never,
        resource: `plan:${pick(5)}`,
        details: { note: pick(0), n: i, nested: { list: [pick(1), null, true, 1.5] } },
      });
      records.push(r);
      prev = r.hash;
      await db
        .insertInto('audit_log')
        .values({
          seq: r.seq,
          ts: r.ts,
          tenant_id: r.tenantId,
          actor: r.actor,
          action: r.action,
          outcome: r.outcome,
          resource: r.resource,
          details: r.details,
          prev_hash: r.prevHash,
          hash: r.hash,
        })
        .execute();
    }
    // A row of another type where text belongs is handed over whole, for field-by-field checking.
    await sql`update audit_log set actor = cast(actor as blob) where seq = 7`.execute(db);
    // So is one whose seq is not even a number (it sorts after every number): a copy of entry 25.
    await sql`insert into audit_log select 'x25', ts, tenant_id, actor, action, outcome, resource, details, prev_hash, hash
      from audit_log where seq = 25`.execute(db);

    const seen: unknown[] = [];
    for await (const page of iterateAuditVerificationPages(db, 'sqlite', 4)) {
      assert.ok(page.length <= 4);
      seen.push(...page);
    }
    assert.equal(seen.length, records.length + 1);
    assert.deepEqual(seen.at(-1), { ...records.at(-1), seq: 'x25' });
    for (const [i, r] of records.entries()) {
      const entry = seen[i] as Record<string, unknown>;
      if (r.seq === 7) {
        assert.equal('text' in entry, false);
        assert.ok(Buffer.isBuffer(entry.actor));
        continue;
      }
      assert.deepEqual(entry, { seq: r.seq, prevHash: r.prevHash, hash: r.hash, text: entryText(r) });
    }
  } finally {
    await db.destroy();
  }
});
