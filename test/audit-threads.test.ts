// Invariant 11 on reader threads: a long SQLite chain is verified in stretches, each read and
// walked by a thread of its own (src/store/sqlite/audit-readers.ts), and the verdict must be the
// one a single pass over the same database gives, whatever an attacker with write access to the
// file changed, wherever the stretches meet.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { CheckpointSigner, publicKeyMap, sealEntry, type VerifyReport, verifyAuditChain } from '../src/audit/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { usableCpus } from '../src/cpus.ts';
import { readText } from '../src/server/datadir.ts';
import { initDataDir } from '../src/server/init.ts';
import { openStore } from '../src/server/store-binding.ts';
import type { SegmentOptions, Store } from '../src/store/index.ts';
import { readerThreads } from '../src/store/sqlite/audit-readers.ts';
import { runCli } from './support/cli.ts';

/** Entries added to the chain init leaves; the threads get stretches of 1,000 and meet at 1,000 and 2,000. */
const GROWN = 2_997;
const THREADS: SegmentOptions = { threads: 3, minEntriesPerThread: 500 };

let root: string;
let dir: string;
let pristine: string;
let publicKeys: ReturnType<typeof publicKeyMap>;
/** The entries init wrote before the chain was grown. */
let initialEntries: number;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'cs-audit-threads-'));
  dir = join(root, 'data');
  await initDataDir(dir, {});
  const db = new Database(join(dir, 'countersign.db'));
  try {
    const signer = new CheckpointSigner(readText(join(dir, 'keys', 'audit.key')));
    const head = db.prepare('select seq, hash from audit_head where id = 1').get() as { seq: number; hash: string };
    initialEntries = head.seq;
    const tenant = (db.prepare('select id from tenants limit 1').get() as { id: string }).id;
    const insert = db.prepare(
      'insert into audit_log (seq, ts, tenant_id, actor, action, outcome, resource, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const checkpoint = db.prepare('insert into audit_checkpoints (seq, head_hash, ts, key_id, signature) values (?, ?, ?, ?, ?)');
    db.transaction(() => {
      let prev = head.hash;
      let seq = head.seq;
      for (let i = 0; i < GROWN; i++) {
        seq++;
        const ts = new Date(Date.UTC(2026, 0, 1) + seq).toISOString();
        // Details with quotes, escapes and non-ASCII text: SQLite writes out what JSON.stringify would.
        const r = sealEntry(seq, ts, prev, {
          tenantId: tenant,
          actor: 'prn_threads',
          action: 'plan.propose',
          outcome: 'allowed',
          resource: `plan:pln_${seq}`,
          details: { n: seq, note: `"quoted" \\ tab\t ünïcode ✓ ${seq}` },
        });
        insert.run(r.seq, r.ts, r.tenantId, r.actor, r.action, r.outcome, r.resource, r.details, r.prevHash, r.hash);
        if (seq % 250 === 0) {
          const cp = signer.sign(seq, r.hash, ts);
          checkpoint.run(cp.seq, cp.headHash, cp.ts, cp.keyId, cp.signature);
        }
        prev = r.hash;
      }
      db.prepare('update audit_head set seq = ?, hash = ? where id = 1').run(seq, prev);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  pristine = join(root, 'pristine.db');
  copyFileSync(join(dir, 'countersign.db'), pristine);
  publicKeys = publicKeyMap([readText(join(dir, 'keys', 'audit.pub'))]);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** The data dir's database as it was grown, changed by `sql` as someone with the file could. */
function tamper(...sql: (string | ((db: Database.Database) => void))[]): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, `countersign.db${suffix}`), { force: true });
  copyFileSync(pristine, join(dir, 'countersign.db'));
  const db = new Database(join(dir, 'countersign.db'));
  try {
    for (const s of sql) {
      if (typeof s === 'string') db.exec(s);
      else s(db);
    }
  } finally {
    db.close();
  }
}

async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(dir, loadConfig(dir), {}, 'read');
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function verifyBoth(
  options: SegmentOptions = THREADS,
): Promise<{ threads: VerifyReport; once: VerifyReport; segments: number; progress: number[] }> {
  return withStore(async (store) => {
    const segments = await store.auditVerificationSegments(options);
    const common = { checkpoints: await store.listAuditCheckpoints(), head: await store.auditHead(), publicKeys };
    const progress: number[] = [];
    const threads = await verifyAuditChain({ ...common, segments, onProgress: (n) => progress.push(n) });
    const once = await verifyAuditChain({ ...common, entries: store.auditPagesForVerification() });
    return { threads, once, segments: segments.length, progress };
  });
}

test('an intact chain of 3,000 entries verifies on three reader threads, as in one pass', async () => {
  tamper();
  const r = await verifyBoth();
  assert.equal(r.segments, 3);
  assert.equal(r.progress.at(-1), r.threads.entries, 'the threads report every entry they walked');
  assert.equal(r.threads.ok, true, r.threads.message);
  assert.equal(r.threads.entries, initialEntries + GROWN);
  assert.equal(r.threads.lastSeq, initialEntries + GROWN);
  assert.deepEqual(r.threads, r.once);
});

test('what an attacker changes in the file is found on reader threads at the seq one pass names, wherever the stretches meet', async () => {
  /** Entry `seq` replaced by a forged one sealed as the product would, on the same link: only its hash changes. */
  const resealed = (seq: number) => (db: Database.Database) => {
    const row = db.prepare('select ts, tenant_id, prev_hash from audit_log where seq = ?').get(seq) as {
      ts: string;
      tenant_id: string;
      prev_hash: string;
    };
    const forged = sealEntry(seq, row.ts, row.prev_hash, {
      tenantId: row.tenant_id,
      actor: 'mallory',
      action: 'plan.propose',
      outcome: 'allowed',
      resource: 'plan:forged',
    });
    db.prepare('update audit_log set actor = ?, resource = ?, details = ?, hash = ? where seq = ?').run(
      forged.actor,
      forged.resource,
      forged.details,
      forged.hash,
      seq,
    );
  };
  const cases: Record<string, (string | ((db: Database.Database) => void))[]> = {
    'an entry under a signed checkpoint forged and resealed': [resealed(1250)],
    'an entry forged and resealed where two stretches meet': [resealed(2000)],
    'an entry edited in the middle stretch': [`update audit_log set details = '{"n":1500}' where seq = 1500`],
    'the first entry of a stretch deleted': ['delete from audit_log where seq = 1001'],
    'the last entry of a stretch deleted': ['delete from audit_log where seq = 1000'],
    'entries across two stretches deleted': ['delete from audit_log where seq between 990 and 1010'],
    'a whole stretch deleted': ['delete from audit_log where seq between 1001 and 2000'],
    'a link changed where two stretches meet': [
      `update audit_log set prev_hash = (select hash from audit_log where seq = 1999) where seq = 2001`,
    ],
    'an entry whose details are the JSONB of the same text': ['update audit_log set details = jsonb(details) where seq = 1700'],
    'an entry whose seq became text': [`update audit_log set seq = 'x2500' where seq = 2500`],
    'an entry whose seq became a fraction': ['update audit_log set seq = 1999.5 where seq = 1999'],
    'the last 100 entries removed, head moved back': [
      'delete from audit_log where seq > (select max(seq) - 100 from audit_log)',
      'update audit_head set seq = (select max(seq) from audit_log), hash = (select hash from audit_log order by seq desc limit 1)',
    ],
    'the chain head moved on': ['update audit_head set seq = seq + 1'],
    'a checkpoint re-pointed': [`update audit_checkpoints set head_hash = (select hash from audit_log where seq = 1249) where seq = 1250`],
  };
  for (const [name, sql] of Object.entries(cases)) {
    tamper(...sql);
    const r = await verifyBoth();
    assert.equal(r.segments, 3, name);
    assert.equal(r.once.ok, false, `${name}: one pass calls it ${r.once.message}`);
    assert.deepEqual(r.threads, r.once, name);
  }
});

test("verifications at once share the process's reader threads, never more than its CPUs, each with the one-pass verdict", async () => {
  const cap = Math.min(usableCpus(), 8);
  for (const change of [[], [`update audit_log set details = '{"n":1}' where seq = 40`]]) {
    tamper(...change);
    readerThreads.peak = 0;
    const reports = await Promise.all([verifyBoth(), verifyBoth(), verifyBoth()]);
    for (const r of reports) {
      assert.equal(r.segments, 3);
      assert.deepEqual(r.threads, r.once);
    }
    assert.equal(reports[0]?.threads.ok, change.length === 0, reports[0]?.threads.message);
    assert.ok(readerThreads.peak >= 1 && readerThreads.peak <= cap, `${readerThreads.peak} reader threads at once, ${cap} CPUs`);
    assert.equal(readerThreads.running, 0, 'every thread gave its slot back');
  }
});

test('short chains, one core or --threads 1 are read on the calling thread', async () => {
  tamper();
  assert.equal((await verifyBoth({ threads: 1, minEntriesPerThread: 500 })).segments, 1);
  assert.equal((await verifyBoth({ threads: 3 })).segments, 1, 'default: 100,000 entries per thread at least');
  tamper('update audit_head set seq = 9007199254740993');
  assert.equal((await verifyBoth()).segments, 1, 'a head that is no safe integer does not size the cut');
  tamper('update audit_head set seq = 10');
  const r = await verifyBoth({ threads: 3, minEntriesPerThread: 5 });
  assert.equal(r.segments, 2, 'the head only sizes the cut');
  assert.equal(r.threads.problem, 'head_mismatch');
  assert.deepEqual(r.threads, r.once);
});

test('a reader thread that cannot read its stretch fails the verification', async () => {
  tamper();
  await withStore(async (store) => {
    const segments = await store.auditVerificationSegments(THREADS);
    const common = { checkpoints: await store.listAuditCheckpoints(), head: await store.auditHead(), publicKeys };
    // The threads open the file when the walk starts: by then the table is gone.
    const db = new Database(join(dir, 'countersign.db'));
    db.exec('alter table audit_log rename to audit_log_gone');
    db.close();
    await assert.rejects(verifyAuditChain({ ...common, segments }), /reading the audit log failed: no such table: audit_log/);
  });
});

// A whole run (scripts/test.mjs) builds dist/ from this source first; a run of chosen files may have none or an old one.
if (process.env.COUNTERSIGN_TEST_CLI === 'dist') {
  test('the bundled reader thread (as installed) gives the verdicts the source one does', async () => {
    const readerModule = new URL('../dist/bundle/audit-reader-worker.js', import.meta.url);
    for (const sql of [[], ['delete from audit_log where seq = 1001'], [`update audit_log set actor = 'mallory' where seq = 2999`]]) {
      tamper(...sql);
      const r = await verifyBoth({ ...THREADS, readerModule });
      assert.equal(r.segments, 3);
      assert.deepEqual(r.threads, r.once);
    }
  });
}

test('countersign audit verify --threads takes a whole number of threads, and says so otherwise', async () => {
  tamper();
  const ok = await runCli(['audit', 'verify', '--dir', dir, '--threads', '2', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).ok, true);
  for (const bad of ['0', '-1', '1.5', 'many', '65']) {
    const r = await runCli(['audit', 'verify', '--dir', dir, '--threads', bad]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--threads must be a whole number from 1 to 64/);
  }
});
