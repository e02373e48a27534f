// Figures: Merkle proofs of the audit log (issue 17) beside today's full chain walk, on a
// 100k-entry log sealed by the product's own sealEntry, in memory (no database read):
//  - verifying one entry: its inclusion proof vs walking the whole chain (what `audit verify` does);
//  - making a proof for one entry from the tree;
//  - checkpointing: building the tree and signing a checkpoint, per 1,000 entries, vs the chain walk.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  type AuditRecord,
  auditLeafHash,
  buildAuditTree,
  GENESIS_HASH,
  type InclusionBundle,
  inclusionBundle,
  sealEntry,
  signCheckpoint,
  verifierKey,
  verifyAuditChain,
  verifyBundle,
} from '../src/audit/index.ts';
import { median, nowMs, progress, type Row } from './lib.ts';

const ENTRIES = 100_000;
const PROOFS = 2_000;

async function* fromArray(records: readonly AuditRecord[]): AsyncGenerator<AuditRecord> {
  for (const r of records) yield r;
}

function makeLog(): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = GENESIS_HASH;
  const base = Date.parse('2026-12-01T00:00:00Z');
  for (let seq = 1; seq <= ENTRIES; seq++) {
    const r = sealEntry(seq, new Date(base + seq).toISOString(), prev, {
      tenantId: 'ten_bench',
      actor: 'prn_bench',
      action: 'plan.propose',
      outcome: 'allowed',
      resource: `plan:pln_${String(seq).padStart(20, '0')}`,
      details: { risk: 'low', environment: 'dev', source: 'api', steps: 3, policies: ['role-admin'] },
    });
    out.push(r);
    prev = r.hash;
  }
  return out;
}

export async function run(): Promise<Row[]> {
  progress(`audit proofs: sealing a ${ENTRIES.toLocaleString('en-US')}-entry log`);
  const log = makeLog();
  const { privateKey: generated } = generateKeyPairSync('ed25519');
  const privateKey = createPrivateKey(generated.export({ type: 'pkcs8', format: 'pem' }));
  const signer = { origin: 'countersign/bench', privateKey, publicKey: createPublicKey(privateKey) };
  const key = verifierKey(signer.origin, signer.publicKey);

  progress('audit proofs: the full chain walk, median of 3');
  const walks: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = nowMs();
    const report = await verifyAuditChain({ entries: fromArray(log), checkpoints: [], head: null, publicKeys: new Map() });
    if (!report.ok) throw new Error(`the bench log does not verify: ${report.message}`);
    walks.push(nowMs() - start);
  }
  const walkMs = median(walks);

  progress('audit proofs: building the tree and signing a checkpoint, median of 3');
  const builds: number[] = [];
  let tree = await buildAuditTree(fromArray(log));
  let note = '';
  for (let i = 0; i < 3; i++) {
    const start = nowMs();
    tree = await buildAuditTree(fromArray(log));
    note = signCheckpoint(tree.tree, tree.tree.size, signer);
    builds.push(nowMs() - start);
  }
  const buildMs = median(builds);

  progress(`audit proofs: ${PROOFS} proofs made and verified`);
  const bundles: InclusionBundle[] = [];
  const seqs = Array.from({ length: PROOFS }, (_, i) => 1 + Math.floor((i * ENTRIES) / PROOFS));
  let start = nowMs();
  for (const seq of seqs) bundles.push(inclusionBundle(tree, seq, note));
  const proveMs = (nowMs() - start) / PROOFS;
  start = nowMs();
  for (const b of bundles) if (!verifyBundle(b, key).ok) throw new Error(`proof of ${b.entry.seq} does not verify`);
  const verifyMs = (nowMs() - start) / PROOFS;
  // The leaf hash alone: the least any check of one entry must do.
  start = nowMs();
  for (const seq of seqs) auditLeafHash(log[seq - 1]?.hash ?? '');
  const leafMs = (nowMs() - start) / PROOFS;

  const walk = { label: `full chain walk of ${ENTRIES / 1000}k entries`, value: walkMs };
  return [
    {
      id: 'audit.proof.verify_one',
      figure: 'verify one entry: inclusion proof',
      kind: 'latency',
      value: verifyMs,
      floor: walk,
      notes: [
        `checkpoint signature + entry hash from its fields + ${Math.ceil(Math.log2(ENTRIES))} Merkle hashes; today one entry is checked by walking the whole chain (the floor column, ${walkMs.toFixed(0)} ms); leaf hash alone ${(leafMs * 1000).toFixed(1)} µs`,
      ],
    },
    { id: 'audit.proof.make_one', figure: 'make one inclusion proof (tree in memory)', kind: 'latency', value: proveMs, floor: walk },
    {
      id: 'audit.proof.checkpoint_per_1000',
      figure: 'checkpoint: build tree + sign, per 1,000 entries',
      kind: 'latency',
      value: (buildMs * 1000) / ENTRIES,
      floor: { label: 'chain walk per 1,000 entries', value: (walkMs * 1000) / ENTRIES },
      notes: [
        `whole log: tree + signed checkpoint ${buildMs.toFixed(0)} ms vs chain walk ${walkMs.toFixed(0)} ms (both recompute every entry hash)`,
      ],
    },
  ];
}
