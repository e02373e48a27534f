import type { KeyObject } from 'node:crypto';
import { type AuditRecord, entryHash, GENESIS_HASH } from './chain.ts';
import { auditLeafHash, MerkleTree, verifyConsistency, verifyInclusion } from './merkle.ts';
import { checkpointOf, formatCheckpoint, openNote, parseCheckpoint, signNote } from './note.ts';

/** The audit log as a Merkle tree: leaf i is the entry with seq i + 1. */
export interface AuditTree {
  tree: MerkleTree;
  /** Every entry, by leaf index, for proofs that carry the entry itself. */
  entries: AuditRecord[];
}

/**
 * Reads the whole log into a Merkle tree, checking as it goes what a signer must never sign
 * over: every entry's hash is the hash of its fields, each links to the one before, and the
 * sequence has no gap. A broken log is refused (verify it with `countersign audit verify`).
 */
export async function buildAuditTree(entries: AsyncIterable<AuditRecord>): Promise<AuditTree> {
  const builder = new AuditTreeBuilder();
  const all: AuditRecord[] = [];
  for await (const e of entries) {
    builder.add(e);
    all.push(e);
  }
  return { tree: builder.tree, entries: all };
}

/**
 * The audit tree grown one entry at a time, with the same checks: the server keeps one and
 * extends it with the entries written since its last checkpoint instead of re-reading the log.
 */
export class AuditTreeBuilder {
  readonly tree = new MerkleTree();
  #prev = GENESIS_HASH;

  get size(): number {
    return this.tree.size;
  }

  add(e: AuditRecord): void {
    const expected = this.tree.size + 1;
    if (e.seq !== expected) throw new Error(`the audit log has no entry ${expected} (next is ${e.seq}): run \`countersign audit verify\``);
    if (e.prevHash !== this.#prev || entryHash(e) !== e.hash) {
      throw new Error(`audit entry ${e.seq} does not match its hash or its predecessor: run \`countersign audit verify\``);
    }
    this.tree.append(auditLeafHash(e.hash));
    this.#prev = e.hash;
  }
}

export interface AuditSigner {
  /** The checkpoint origin and the note key name: one per installation. */
  origin: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A C2SP checkpoint of the first `size` entries, signed with the audit key. */
export function signCheckpoint(tree: MerkleTree, size: number, signer: AuditSigner): string {
  return signNote(
    formatCheckpoint({ origin: signer.origin, size, root: tree.root(size) }),
    signer.origin,
    signer.privateKey,
    signer.publicKey,
  );
}

/** Everything an auditor needs to check one entry: no database, only the audit public key. */
export interface InclusionBundle {
  type: 'countersign-audit-inclusion/v1';
  entry: AuditRecord;
  leafIndex: number;
  /** Base64 hashes, leaf to root. */
  proof: string[];
  /** The signed checkpoint the proof leads to. */
  checkpoint: string;
}

export interface ConsistencyBundle {
  type: 'countersign-audit-consistency/v1';
  old: string;
  new: string;
  proof: string[];
}

export function inclusionBundle(t: AuditTree, seq: number, checkpoint: string): InclusionBundle {
  const size = checkpointOf(checkpoint).size;
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > size)
    throw new RangeError(`entry ${seq} is not covered by a checkpoint of ${size} entries`);
  const entry = t.entries[seq - 1];
  if (!entry) throw new RangeError(`no entry ${seq}`);
  return {
    type: 'countersign-audit-inclusion/v1',
    entry,
    leafIndex: seq - 1,
    proof: t.tree.inclusionProof(seq - 1, size).map((h) => h.toString('base64')),
    checkpoint,
  };
}

export function consistencyBundle(t: AuditTree, oldCheckpoint: string, newCheckpoint: string): ConsistencyBundle {
  return {
    type: 'countersign-audit-consistency/v1',
    old: oldCheckpoint,
    new: newCheckpoint,
    proof: t.tree.consistencyProof(checkpointOf(oldCheckpoint).size, checkpointOf(newCheckpoint).size).map((h) => h.toString('base64')),
  };
}

export type BundleCheck = { ok: true; message: string } | { ok: false; message: string };

const hashes = (proof: unknown): Buffer[] | null =>
  Array.isArray(proof) && proof.every((p) => typeof p === 'string') ? proof.map((p) => Buffer.from(p, 'base64')) : null;

/**
 * Checks a proof bundle with nothing but the audit verifier key (`countersign audit
 * verifier-key`): the checkpoint signature(s), the entry's hash recomputed from its fields, and
 * the Merkle proof. Fails closed on anything malformed.
 */
export function verifyBundle(bundle: unknown, key: string): BundleCheck {
  try {
    const b = (bundle ?? {}) as {
      type?: unknown;
      entry?: AuditRecord;
      leafIndex?: unknown;
      proof?: unknown;
      checkpoint?: unknown;
      old?: unknown;
      new?: unknown;
    };
    if (b.type === 'countersign-audit-inclusion/v1') {
      const cp = parseCheckpoint(openNote(String(b.checkpoint), key));
      const e = b.entry;
      const proof = hashes(b.proof);
      if (!e || typeof e.hash !== 'string' || !proof || typeof b.leafIndex !== 'number')
        return { ok: false, message: 'the bundle is incomplete' };
      if (entryHash(e) !== e.hash) return { ok: false, message: `entry ${e.seq} was changed: its fields do not hash to ${e.hash}` };
      if (b.leafIndex !== e.seq - 1) return { ok: false, message: `entry ${e.seq} is not leaf ${b.leafIndex}` };
      if (!verifyInclusion(auditLeafHash(e.hash), b.leafIndex, cp.size, proof, cp.root)) {
        return { ok: false, message: `entry ${e.seq} is not in the log of ${cp.size} entries that ${cp.origin} signed` };
      }
      return { ok: true, message: `entry ${e.seq} is in the log of ${cp.size} entries that ${cp.origin} signed` };
    }
    if (b.type === 'countersign-audit-consistency/v1') {
      const older = parseCheckpoint(openNote(String(b.old), key));
      const newer = parseCheckpoint(openNote(String(b.new), key));
      const proof = hashes(b.proof);
      if (!proof) return { ok: false, message: 'the bundle is incomplete' };
      if (older.origin !== newer.origin) return { ok: false, message: 'the two checkpoints are of different logs' };
      if (!verifyConsistency(older.size, newer.size, older.root, newer.root, proof)) {
        return { ok: false, message: `the log of ${newer.size} entries does not extend the log of ${older.size}: history was rewritten` };
      }
      return { ok: true, message: `the log of ${newer.size} entries extends the log of ${older.size} unchanged` };
    }
    return { ok: false, message: 'not a Countersign audit proof bundle' };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}
