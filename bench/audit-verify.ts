// Figure: audit verification rate through verifyAuditChain over a 100k-entry log, against bare
// SHA-256 of as many buffers of the same size as the text each entry's hash covers.

import { execFileSync } from 'node:child_process';
import { createHash, hash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import canonicalize from 'canonicalize';
import { type AuditRecord, CheckpointSigner, publicKeyMap, sealEntry, verifyAuditChain } from '../src/audit/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { readText } from '../src/server/datadir.ts';
import { openStore } from '../src/server/store-binding.ts';
import { median, medianOf, nowMs, progress, type Row, rateOfSync, type Target } from './lib.ts';
import { freshDataDir } from './support/datadir.ts';

/** DESIGN.md: verify ≥ 50% of bare SHA-256. */
const TARGET: Target = { op: '>=', value: 0.5, on: 'ratio', text: '≥ 50% of floor' };
/**
 * A chain long enough for the reader threads `audit verify` starts on a long chain (one per core,
 * each given 100k entries or more: see auditSegmentBounds); the in-memory walk takes its first
 * MEMORY_ENTRIES.
 */
const ENTRIES = 500_000;
const MEMORY_ENTRIES = 100_000;
const RUNS = 3;

/**
 * Extends the data dir's chain to `count` more entries, sealed by the product's sealEntry and
 * checkpointed by its CheckpointSigner at the configured interval, written in one transaction
 * straight into the tables (the append path has its own figure; this only needs a valid log fast).
 * verifyAuditChain must then call the log intact, which the figure checks.
 */
function growChain(dir: string, count: number): { textBytes: number } {
  const config = loadConfig(dir);
  const signer = new CheckpointSigner(readText(join(dir, 'keys', 'audit.key')));
  const db = new Database(join(dir, 'countersign.db'));
  try {
    const head = db.prepare('select seq, hash from audit_head where id = 1').get() as { seq: number; hash: string };
    const tenant = (db.prepare('select id from tenants limit 1').get() as { id: string }).id;
    const actor = (db.prepare('select id from principals limit 1').get() as { id: string }).id;
    const insert = db.prepare(
      'insert into audit_log (seq, ts, tenant_id, actor, action, outcome, resource, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const checkpoint = db.prepare('insert into audit_checkpoints (seq, head_hash, ts, key_id, signature) values (?, ?, ?, ?, ?)');
    let textBytes = 0;
    db.transaction(() => {
      let prev = head.hash;
      let seq = Number(head.seq);
      const base = Date.now();
      for (let i = 0; i < count; i++) {
        seq++;
        const ts = new Date(base + i).toISOString();
        const r = sealEntry(seq, ts, prev, {
          tenantId: tenant,
          actor,
          action: 'plan.propose',
          outcome: 'allowed',
          resource: `plan:pln_01jbench${String(seq).padStart(18, '0')}`,
          details: {
            hash: randomBytes(32).toString('hex'),
            risk: 'low',
            environment: 'dev',
            source: 'api',
            steps: 3,
            policies: ['role-admin'],
          },
        });
        if (i === 0) {
          // The exact text entryHash digests (src/audit/chain.ts).
          const text = canonicalize({
            seq: r.seq,
            ts: r.ts,
            tenant: r.tenantId,
            actor: r.actor,
            action: r.action,
            outcome: r.outcome,
            resource: r.resource,
            details: r.details,
            prev: r.prevHash,
          });
          textBytes = Buffer.byteLength(text ?? '');
        }
        insert.run(r.seq, r.ts, r.tenantId, r.actor, r.action, r.outcome, r.resource, r.details, r.prevHash, r.hash);
        if (seq % config.audit.checkpointEvery === 0) {
          const cp = signer.sign(seq, r.hash, ts);
          checkpoint.run(cp.seq, cp.headHash, cp.ts, cp.keyId, cp.signature);
        }
        prev = r.hash;
      }
      db.prepare('update audit_head set seq = ?, hash = ? where id = 1').run(seq, prev);
    })();
    return { textBytes };
  } finally {
    db.close();
  }
}

/** Bare reading of the same rows, in pages of 1,000 as rows of values (raw mode), straight from better-sqlite3. */
function bareReadRate(dir: string): number {
  const db = new Database(join(dir, 'countersign.db'), { readonly: true });
  try {
    const page = db
      .prepare(
        'select seq, ts, tenant_id, actor, action, outcome, resource, details, prev_hash, hash from audit_log where seq > ? order by seq limit 1000',
      )
      .raw(true);
    const start = nowMs();
    let after = 0;
    let n = 0;
    for (;;) {
      const rows = page.all(after) as unknown[][];
      n += rows.length;
      const last = rows.at(-1);
      if (!last || rows.length < 1000) break;
      after = last[0] as number;
    }
    return (n * 1000) / (nowMs() - start);
  } finally {
    db.close();
  }
}

/** The records in pages of 5,000, as the store hands them to verifyAuditChain. */
async function* fromArray(records: readonly AuditRecord[]): AsyncGenerator<readonly AuditRecord[]> {
  for (let i = 0; i < records.length; i += 5000) yield records.slice(i, i + 5000);
}

/**
 * The reader threads' module as the installed product runs it: bundled from the current source
 * (scripts/build-cli.mjs, into node_modules/.cache so the bundle finds its packages). From source
 * a thread would first start tsx, which takes longer than reading a 100k-entry chain.
 */
function bundledReaderModule(): { module: URL; remove: () => void } {
  const root = join(import.meta.dirname, '..');
  const dir = join(root, 'node_modules', '.cache', `countersign-bench-${process.pid}`);
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs'), '--outdir', dir], { stdio: 'ignore' });
  } catch (err) {
    remove();
    throw err;
  }
  return { module: pathToFileURL(join(dir, 'audit-reader-worker.js')), remove };
}

export async function run(): Promise<Row[]> {
  progress('audit verify: bundling the reader threads as the CLI ships them');
  const bundle = bundledReaderModule();
  const readerModule = bundle.module;
  let data: Awaited<ReturnType<typeof freshDataDir>> | undefined;
  try {
    data = await freshDataDir('audit-verify');
    progress(`audit verify: writing a ${ENTRIES.toLocaleString('en-US')}-entry chain`);
    const { textBytes } = growChain(data.dir, ENTRIES);
    const publicKeys = publicKeyMap([readText(join(data.dir, 'keys', 'audit.pub'))]);
    const store = await openStore(data.dir, loadConfig(data.dir), {}, 'read');
    let stored: { perSecond: number; entries: number };
    let oneThread: { perSecond: number; entries: number };
    let threads = 1;
    let memory: { perSecond: number; entries: number };
    try {
      // What `countersign audit verify` does: read the log from the store (a chain this long in
      // segments, one reader thread per core), then walk it.
      const verifyStored = async (inThreads: boolean) => {
        const start = nowMs();
        const segments = inThreads
          ? await store.auditVerificationSegments({ readerModule })
          : [{ after: 0, until: null, entries: store.auditPagesForVerification() }];
        threads = Math.max(threads, inThreads ? segments.length : 1);
        const report = await verifyAuditChain({
          segments,
          checkpoints: await store.listAuditCheckpoints(),
          head: await store.auditHead(),
          publicKeys,
        });
        if (!report.ok) throw new Error(`the bench chain does not verify: ${report.message}`);
        return { perSecond: (report.entries * 1000) / (nowMs() - start), entries: report.entries };
      };
      await verifyStored(true); // warm-up: JIT and the page cache
      await verifyStored(false);
      // Alternated, so a drift of the machine's speed during the runs weighs on both alike.
      progress(`audit verify: stored log, ${RUNS} runs each, reader threads and this thread alone in turn`);
      const inThreads: { perSecond: number; entries: number }[] = [];
      const alone: { perSecond: number; entries: number }[] = [];
      for (let i = 0; i < RUNS; i++) {
        inThreads.push(await verifyStored(true));
        alone.push(await verifyStored(false));
      }
      const middle = (runs: { perSecond: number; entries: number }[]) => {
        const perSecond = median(runs.map((r) => r.perSecond));
        return runs.find((r) => r.perSecond === perSecond) ?? runs[0]!;
      };
      stored = middle(inThreads);
      oneThread = middle(alone);

      // The walk alone, over the chain's first MEMORY_ENTRIES entries and the checkpoints among them.
      const records: AuditRecord[] = [];
      for await (const r of store.iterateAuditForVerification()) {
        records.push(r);
        if (records.length === MEMORY_ENTRIES) break;
      }
      const checkpoints = (await store.listAuditCheckpoints()).filter((cp) => cp.seq <= records.length);
      const head = null;
      progress(`audit verify: in memory, median of ${RUNS}`);
      memory = await medianOf(
        RUNS,
        async () => {
          const start = nowMs();
          const report = await verifyAuditChain({ entries: fromArray(records), checkpoints, head, publicKeys });
          if (!report.ok) throw new Error(`the bench chain does not verify in memory: ${report.message}`);
          return { perSecond: (report.entries * 1000) / (nowMs() - start), entries: report.entries };
        },
        (r) => r.perSecond,
      );
    } finally {
      await store.close();
    }

    const read = bareReadRate(data.dir);
    // Bare SHA-256: same count, same size, hex digest as entryHash produces; 1,024 distinct buffers
    // cycled. The floor is the one-shot crypto.hash entryHash itself uses (the fastest SHA-256 in
    // Node); a Hash object per buffer (createHash) is shown beside it, the floor until 2026-12-07.
    const buffers = Array.from({ length: 1024 }, () => randomBytes(textBytes));
    const hashOne = (i: number) => hash('sha256', buffers[i & 1023]!, 'hex');
    const hashObject = (i: number) =>
      createHash('sha256')
        .update(buffers[i & 1023]!)
        .digest('hex');
    rateOfSync(10_000, hashOne);
    rateOfSync(10_000, hashObject);
    const sha = { perSecond: median([0, 1, 2].map(() => rateOfSync(stored.entries, hashOne).perSecond)) };
    const shaObject = median([0, 1, 2].map(() => rateOfSync(stored.entries, hashObject).perSecond));
    const floor = { label: `bare SHA-256 of ${textBytes} B`, value: sha.perSecond };

    return [
      {
        id: 'audit.verify.stored',
        figure: `audit verify, ${Math.round(stored.entries / 1000)}k stored entries`,
        kind: 'rate',
        value: stored.perSecond,
        floor,
        target: TARGET,
        detail: {
          entries: stored.entries,
          entryTextBytes: textBytes,
          readerThreads: threads,
          oneThreadPerSecond: Math.round(oneThread.perSecond),
          bareReadPerSecond: Math.round(read),
        },
        notes: [
          `store.auditVerificationSegments + verifyAuditChain, as \`countersign audit verify\` (checkpoint signatures included): ${threads} reader thread${threads === 1 ? '' : 's'} (one per core) each read a stretch of the chain, SQLite writing out the text each hash covers (json_object), and walk it (hash, seq, link, checkpoint); this thread joins the stretches`,
          `the same read and hashed on this thread alone: ${Math.round(oneThread.perSecond).toLocaleString('en-US')}/s (${((100 * oneThread.perSecond) / sha.perSecond).toFixed(0)}% of the floor); bare better-sqlite3 read of the same rows' ten columns alone: ${Math.round(read).toLocaleString('en-US')}/s`,
          `floor: one-shot crypto.hash per buffer; with a Hash object per buffer (createHash) bare SHA-256 runs at ${Math.round(shaObject).toLocaleString('en-US')}/s`,
        ],
      },
      {
        id: 'audit.verify.memory',
        figure: `audit verify, its first ${Math.round(memory.entries / 1000)}k entries in memory`,
        kind: 'rate',
        value: memory.perSecond,
        floor,
        detail: { entries: memory.entries },
        notes: ['the chain walk alone (RFC 8785 canonicalization + SHA-256 per entry), no database read'],
      },
    ];
  } finally {
    data?.remove();
    bundle.remove();
  }
}
