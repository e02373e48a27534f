import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuditRecord, GENESIS_HASH, sealEntry } from './chain.ts';
import { CheckpointSigner, generateAuditKeyPair, publicKeyMap } from './signing.ts';
import { type AuditSegment, verifyAuditChain } from './verify.ts';

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const e = sealEntry(i, `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`, prev, {
      tenantId: 't',
      actor: 'a',
      action: 'plan.propose',
      outcome: 'allowed',
      resource: `plan:${i}`,
      details: { i },
    });
    out.push(e);
    prev = e.hash;
  }
  return out;
}

async function* iter(rows: AuditRecord[]) {
  yield* rows;
}

const keys = generateAuditKeyPair();
const signer = new CheckpointSigner(keys.privateKeyPem);
const publicKeys = publicKeyMap([keys.publicKeyPem]);

test('an intact chain with a checkpoint verifies', async () => {
  const rows = chain(10);
  const cp = signer.sign(10, rows[9]!.hash, 'now');
  const r = await verifyAuditChain({ entries: iter(rows), checkpoints: [cp], head: { seq: 10, hash: rows[9]!.hash }, publicKeys });
  assert.equal(r.ok, true);
  assert.equal(r.entries, 10);
});

test('a checkpoint signed by an unknown key is refused', async () => {
  const rows = chain(3);
  const other = new CheckpointSigner(generateAuditKeyPair().privateKeyPem);
  const r = await verifyAuditChain({ entries: iter(rows), checkpoints: [other.sign(3, rows[2]!.hash, 'now')], head: null, publicKeys });
  assert.equal(r.problem, 'bad_checkpoint_signature');
});

test('a checkpoint that does not match its entry is refused', async () => {
  const rows = chain(5);
  const r = await verifyAuditChain({ entries: iter(rows), checkpoints: [signer.sign(3, 'f'.repeat(64), 'now')], head: null, publicKeys });
  assert.equal(r.problem, 'checkpoint_mismatch');
  assert.equal(r.firstBadSeq, 3);
});

test('a log that does not start at seq 1 is missing its head', async () => {
  const rows = chain(5).slice(2);
  const r = await verifyAuditChain({ entries: iter(rows), checkpoints: [], head: null, publicKeys });
  assert.equal(r.problem, 'missing');
  assert.equal(r.firstBadSeq, 1);
});

async function* pages(rows: AuditRecord[], size: number) {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

test('pages of entries and single entries give the same verdicts', async () => {
  const rows = chain(25);
  const cps = [signer.sign(10, rows[9]!.hash, 'now'), signer.sign(20, rows[19]!.hash, 'now')];
  const head = { seq: 25, hash: rows[24]!.hash };
  const paged = await verifyAuditChain({ entries: pages(rows, 7), checkpoints: cps, head, publicKeys });
  const single = await verifyAuditChain({ entries: iter(rows), checkpoints: cps, head, publicKeys });
  assert.deepEqual(paged, single);
  assert.equal(paged.ok, true);
  assert.equal(paged.entries, 25);
  // An edit inside the third page is found at its seq either way.
  const edited = rows.map((r) => (r.seq === 16 ? { ...r, details: '{"i":99}' } : r));
  const a = await verifyAuditChain({ entries: pages(edited, 7), checkpoints: cps, head, publicKeys });
  const b = await verifyAuditChain({ entries: iter(edited), checkpoints: cps, head, publicKeys });
  assert.deepEqual(a, b);
  assert.equal(a.problem, 'modified');
  assert.equal(a.firstBadSeq, 16);
});

test('a bad checkpoint signature is the verdict even when the chain breaks too, and nothing counts as verified', async () => {
  const rows = chain(12);
  const forged = { ...signer.sign(10, rows[9]!.hash, 'now'), signature: signer.sign(9, rows[8]!.hash, 'now').signature };
  const broken = rows.filter((r) => r.seq !== 4);
  const r = await verifyAuditChain({
    entries: pages(broken, 5),
    checkpoints: [signer.sign(5, rows[4]!.hash, 'now'), forged],
    head: null,
    publicKeys,
  });
  assert.equal(r.ok, false);
  assert.equal(r.problem, 'bad_checkpoint_signature');
  assert.equal(r.firstBadSeq, 10);
  assert.equal(r.entries, 0);
  assert.equal(r.lastSeq, 0);
});

/** The chain cut after each of `cuts` (ascending) into segments, each walked on its own. */
function segmentsOf(rows: AuditRecord[], cuts: number[], pageSize: number): AuditSegment[] {
  const bounds = [0, ...cuts];
  return bounds.map((after, i) => {
    const until = i + 1 < bounds.length ? bounds[i + 1]! : null;
    const own = rows.filter((r) => r.seq > after && (until === null || r.seq <= until));
    return { after, until, entries: pages(own, pageSize) };
  });
}

test('a chain walked in segments at once gets the verdict of one pass, wherever the cuts fall and whatever was done to it', async () => {
  const rows = chain(30);
  const cps = [signer.sign(10, rows[9]!.hash, 'now'), signer.sign(20, rows[19]!.hash, 'now')];
  const head = { seq: 30, hash: rows[29]!.hash };
  const at = (seq: number) => rows[seq - 1]!;
  const resealed = (seq: number, prev: string) =>
    sealEntry(seq, '2026-01-02T00:00:00.000Z', prev, {
      tenantId: 't',
      actor: 'x',
      action: 'plan.propose',
      outcome: 'allowed',
      resource: 'plan:forged',
    });
  // What an attacker with write access to the table can leave behind; the store reads rows by seq.
  const cases: Record<string, { rows: AuditRecord[]; head?: { seq: number; hash: string } | null }> = {
    intact: { rows },
    'entry 14 edited': { rows: rows.map((r) => (r.seq === 14 ? { ...r, details: '{"i":99}' } : r)) },
    'entry 15 deleted': { rows: rows.filter((r) => r.seq !== 15) },
    'entries 11 to 14 deleted': { rows: rows.filter((r) => r.seq < 11 || r.seq > 14) },
    'entry 1 deleted': { rows: rows.filter((r) => r.seq !== 1) },
    'entry 15 twice': { rows: [...rows.slice(0, 15), at(15), ...rows.slice(15)] },
    'entries 15 and 16 swapped': {
      rows: rows.map((r) => (r.seq === 15 ? { ...at(16), seq: 15 } : r.seq === 16 ? { ...at(15), seq: 16 } : r)),
    },
    'entry 16 relinked to 14': { rows: rows.map((r) => (r.seq === 16 ? { ...r, prevHash: at(14).hash } : r)) },
    'entry 15 forged and resealed': { rows: rows.map((r) => (r.seq === 15 ? resealed(15, at(14).hash) : r)) },
    'entry 10 forged and resealed under its checkpoint': { rows: rows.map((r) => (r.seq === 10 ? resealed(10, at(9).hash) : r)) },
    'entry 17 unhashable': { rows: rows.map((r) => (r.seq === 17 ? ({ ...r, details: 7 } as unknown as AuditRecord) : r)) },
    'last 12 entries removed (behind a checkpoint)': { rows: rows.slice(0, 18) },
    'last 5 entries removed': { rows: rows.slice(0, 25) },
    'head ahead of the log': { rows, head: { seq: 31, hash: at(30).hash } },
    'no head stored': { rows, head: null },
    'entry 31 appended without a head': { rows: [...rows, resealed(31, at(30).hash)] },
  };
  const cutSets = [[], [1], [9], [10], [14], [15], [16], [17], [29], [30], [45], [5, 12, 25], [14, 15, 16], [1, 2, 3, 4], [15, 40, 50]];
  for (const [name, c] of Object.entries(cases)) {
    const stored = [...c.rows].sort((a, b) => a.seq - b.seq);
    const input = { checkpoints: cps, head: c.head === undefined ? head : c.head, publicKeys };
    const once = await verifyAuditChain({ ...input, entries: pages(stored, 4) });
    if (name === 'intact') assert.equal(once.ok, true);
    else assert.equal(once.ok, name === 'no head stored', `${name}: ${once.message}`);
    for (const cuts of cutSets) {
      for (const pageSize of [3, 100]) {
        const joined = await verifyAuditChain({ ...input, segments: segmentsOf(stored, cuts, pageSize) });
        assert.deepEqual(joined, once, `${name}, cut after ${cuts.join(', ') || 'nothing'}, pages of ${pageSize}`);
      }
    }
  }
});

test('segments that do not cover the chain from seq 1 to its end are refused before anything is read', async () => {
  const rows = chain(5);
  const input = { checkpoints: [], head: null, publicKeys };
  const seg = (after: number, until: number | null) => ({ after, until, entries: pages(rows, 5) });
  for (const segments of [
    [],
    [seg(1, null)],
    [seg(0, 3)],
    [seg(0, 2), seg(3, null)],
    [seg(0, 3), seg(2, null)],
    [seg(0, null), seg(0, null)],
  ]) {
    await assert.rejects(verifyAuditChain({ ...input, segments }), /audit segment/);
  }
});

test('a segment that cannot be read fails the verification, and the segments after an early failure stop reading', async () => {
  const rows = chain(40);
  async function* failing(): AsyncGenerator<AuditRecord[]> {
    yield rows.slice(10, 12);
    throw new Error('disk I/O error');
  }
  let readAfterStop = 0;
  async function* slow(from: number): AsyncGenerator<AuditRecord[]> {
    for (let i = from; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 2));
      readAfterStop++;
      yield [rows[i]!];
    }
  }
  const input = { checkpoints: [], head: null, publicKeys };
  await assert.rejects(
    verifyAuditChain({
      ...input,
      segments: [
        { after: 0, until: 10, entries: pages(rows.slice(0, 10), 5) },
        { after: 10, until: null, entries: failing() },
      ],
    }),
    /disk I\/O error/,
  );
  // Entry 3 edited: the first segment fails at once; the second, 30 entries slow, stops early.
  const edited = rows.map((r) => (r.seq === 3 ? { ...r, actor: 'mallory' } : r));
  const r = await verifyAuditChain({
    ...input,
    segments: [
      { after: 0, until: 10, entries: pages(edited.slice(0, 10), 10) },
      { after: 10, until: null, entries: slow(10) },
    ],
  });
  assert.equal(r.problem, 'modified');
  assert.equal(r.firstBadSeq, 3);
  assert.equal(r.entries, 2);
  assert.ok(readAfterStop < 30, `the later segment read ${readAfterStop} of its 30 entries`);
});

test('progress counts every entry walked, once, in one pass and in segments', async () => {
  const rows = chain(30);
  const input = { checkpoints: [], head: { seq: 30, hash: rows[29]!.hash }, publicKeys };
  for (const cuts of [[], [7], [10, 20]]) {
    const seen: number[] = [];
    const r = await verifyAuditChain({ ...input, segments: segmentsOf(rows, cuts, 4), onProgress: (n) => seen.push(n) });
    assert.equal(r.ok, true);
    assert.equal(seen.at(-1), 30, `cut after ${cuts.join(', ')}`);
    assert.ok(
      seen.every((n, i) => i === 0 || n > seen[i - 1]!),
      'the count only grows',
    );
  }
});
