import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuditRecord, GENESIS_HASH, sealEntry } from './chain.ts';
import { CheckpointSigner, generateAuditKeyPair, publicKeyMap } from './signing.ts';
import { verifyAuditChain } from './verify.ts';

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
