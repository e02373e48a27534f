// Audit proofs (issue 17): checkpoints of the Merkle tree in the C2SP format, signed with the
// audit key and appended to a file outside the database; an inclusion proof of any entry that an
// auditor checks with the verifier key alone; and the attacks: an edited entry in a proof, an
// edited entry in the database, and a history rewritten with recomputed hashes (the attack the
// hash chain cannot see once its in-database checkpoints are deleted) caught by consistency.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { entryHash } from '../../src/audit/index.ts';
import { runCli } from '../support/cli.ts';
import { ENGINES } from '../support/engines.ts';
import { rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer, tempDir } from '../support/server.ts';

const sqlite = ENGINES.find((e) => e.name === 'sqlite');

describe('audit proofs: checkpoints, inclusion, consistency', () => {
  let s: TestServer;
  let key: string;
  const out = tempDir('cs-proofs-');
  const cli = (...args: string[]) => runCli([...args, '--dir', s.dir]);

  before(async () => {
    assert.ok(sqlite);
    s = await startTestServer(sqlite);
    for (let i = 0; i < 6; i++) assert.equal((await s.request('POST', '/v1/plans', { body: echoPlan(`proof ${i}`) })).status, 201);
    const k = await cli('audit', 'verifier-key');
    assert.equal(k.code, 0, k.stderr);
    key = k.stdout.trim();
    assert.match(key, /^countersign\/ins_[0-9a-z]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]{44}$/);
  });
  after(async () => s?.close());

  test('a checkpoint is a C2SP signed note appended to the file; an entry proof verifies with the key alone', async () => {
    const cp = await cli('audit', 'checkpoint', '--json');
    assert.equal(cp.code, 0, cp.stderr);
    const first = JSON.parse(cp.stdout);
    assert.match(first.note, /^countersign\/ins_\S+\n\d+\n[A-Za-z0-9+/]{43}=\n\n\u2014 countersign\/ins_\S+ [A-Za-z0-9+/=]+\n$/);
    assert.equal(readFileSync(first.file, 'utf8'), `${first.note}\n`);
    // The command is the audited host operation audit.checkpoint: the log says who signed which head.
    const audited = await rawSql(s, "select outcome, details from audit_log where action = 'audit.checkpoint' order by seq");
    assert.deepEqual(
      audited.map((e) => [e.outcome, JSON.parse(e.details).size]),
      [
        ['allowed', first.size],
        ['succeeded', first.size],
      ],
    );
    // First, middle and last entry through the CLI (every entry of large trees: test/audit-merkle.test.ts).
    for (const seq of new Set([1, 2, Math.ceil(first.size / 2), first.size])) {
      const file = join(out, `entry-${seq}.json`);
      const p = await cli('audit', 'prove', String(seq), '--output', file);
      assert.equal(p.code, 0, p.stderr);
      // The auditor's side: no data directory, only the proof file and the key.
      const v = await runCli(['audit', 'verify-proof', file, '--key', key, '--json']);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      assert.equal(JSON.parse(v.stdout).ok, true);
    }
  });

  test('a proof whose entry, path or checkpoint was edited fails', async () => {
    const bundle = JSON.parse(readFileSync(join(out, 'entry-2.json'), 'utf8'));
    const cases: [string, (b: any) => void, RegExp][] = [
      ['entry field', (b) => (b.entry.outcome = 'denied'), /entry 2 was changed/],
      [
        'entry and hash',
        (b) => {
          b.entry.actor = 'someone-else';
          b.entry.hash = entryHash(b.entry);
        },
        /is not in the log/,
      ],
      ['path', (b) => (b.proof[0] = Buffer.alloc(32, 1).toString('base64')), /is not in the log/],
      ['checkpoint size', (b) => (b.checkpoint = b.checkpoint.replace(/\n\d+\n/, '\n999\n')), /does not verify/],
      ['another key', (b) => b, /no signature by|does not verify|verifier key/],
    ];
    for (const [name, edit, why] of cases) {
      const copy = structuredClone(bundle);
      edit(copy);
      const file = join(out, `bad-${name.replace(/ /g, '-')}.json`);
      writeFileSync(file, JSON.stringify(copy));
      const otherKey = key.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
      const v = await runCli(['audit', 'verify-proof', file, '--key', name === 'another key' ? otherKey : key]);
      assert.equal(v.code, 1, `${name}: ${v.stdout}${v.stderr}`);
      assert.match(v.stdout + v.stderr, why, name);
    }
  });

  test('an entry edited in the database: no proof is signed over it', async () => {
    const [row] = await rawSql(s, 'select seq, details from audit_log where seq = 3');
    await rawSql(s, 'update audit_log set details = ? where seq = 3', ['{"edited":true}']);
    try {
      const p = await cli('audit', 'prove', '3');
      assert.notEqual(p.code, 0);
      assert.match(p.stderr, /audit entry 3 does not match its hash/);
    } finally {
      await rawSql(s, 'update audit_log set details = ? where seq = 3', [row.details]);
    }
  });

  test('a history rewritten with recomputed hashes is caught by the checkpoint kept outside the database', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await s.request('POST', '/v1/plans', { body: echoPlan(`more ${i}`) })).status, 201);
    const second = await cli('audit', 'checkpoint', '--json');
    assert.equal(second.code, 0, second.stderr);
    // Honest growth: the newer checkpoint extends the older one.
    const honest = join(out, 'consistency.json');
    assert.equal((await cli('audit', 'consistency', '--output', honest)).code, 0);
    const ok = await runCli(['audit', 'verify-proof', honest, '--key', key]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /extends the log of \d+ unchanged/);

    // The writer rewrites entry 2 and every hash after it, and deletes the in-database checkpoints.
    const rows = await rawSql(s, 'select * from audit_log order by seq');
    const original = rows.map((r: any) => ({ ...r }));
    let prev = rows[0].hash;
    for (const r of rows.slice(1)) {
      const rec = {
        seq: Number(r.seq),
        ts: r.ts,
        tenantId: r.tenant_id,
        actor: r.actor,
        action: r.action,
        outcome: r.outcome,
        resource: r.resource,
        details: Number(r.seq) === 2 ? '{"rewritten":true}' : r.details,
        prevHash: prev,
      };
      const hash = entryHash(rec);
      await rawSql(s, 'update audit_log set details = ?, prev_hash = ?, hash = ? where seq = ?', [rec.details, prev, hash, rec.seq]);
      prev = hash;
    }
    await rawSql(s, 'update audit_head set hash = ? where id = 1', [prev]);
    try {
      const r = await cli('audit', 'consistency');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no longer have the root that was signed: history was rewritten/);
    } finally {
      for (const r of original) {
        await rawSql(s, 'update audit_log set details = ?, prev_hash = ?, hash = ? where seq = ?', [r.details, r.prev_hash, r.hash, r.seq]);
      }
      await rawSql(s, 'update audit_head set hash = ? where id = 1', [original.at(-1).hash]);
    }
  });
});
