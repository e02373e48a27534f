import type { KeyObject } from 'node:crypto';
import { type AuditRecord, entryHash, GENESIS_HASH } from './chain.ts';
import { type Checkpoint, verifyCheckpoint } from './signing.ts';

export type AuditProblem =
  | 'modified'
  | 'missing'
  | 'inserted_or_reordered'
  | 'truncated'
  | 'bad_checkpoint_signature'
  | 'checkpoint_mismatch'
  | 'head_mismatch';

export interface VerifyReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  lastSeq: number;
  lastCheckpoint: { seq: number; ts: string } | null;
  /** The first sequence number at which the log stops being trustworthy. */
  firstBadSeq: number | null;
  problem: AuditProblem | null;
  message: string;
}

export interface VerifyInput {
  /** Entries in ascending seq order. */
  entries: AsyncIterable<AuditRecord>;
  checkpoints: readonly Checkpoint[];
  /** The stored chain head (seq, hash), or null if none is stored. */
  head: { seq: number; hash: string } | null;
  publicKeys: ReadonlyMap<string, KeyObject>;
}

/**
 * Walks the chain (invariant 11): every entry's hash is recomputed, every link checked, the
 * sequence must be gap-free from 1, every checkpoint must carry a valid signature from a known
 * key and match the entry at its seq, and nothing may be missing behind the last checkpoint.
 */
export async function verifyAuditChain(input: VerifyInput): Promise<VerifyReport> {
  const bySeq = new Map<number, Checkpoint>();
  for (const cp of input.checkpoints) bySeq.set(cp.seq, cp);
  const lastCp = input.checkpoints.reduce<Checkpoint | null>((a, c) => (a === null || c.seq > a.seq ? c : a), null);
  let expected = 1;
  let prev = GENESIS_HASH;
  let count = 0;
  const fail = (problem: AuditProblem, seq: number, message: string): VerifyReport => ({
    ok: false,
    entries: count,
    checkpoints: input.checkpoints.length,
    lastSeq: expected - 1,
    lastCheckpoint: lastCp ? { seq: lastCp.seq, ts: lastCp.ts } : null,
    firstBadSeq: seq,
    problem,
    message,
  });

  for (const cp of input.checkpoints) {
    if (!verifyCheckpoint(cp, input.publicKeys)) {
      return fail(
        'bad_checkpoint_signature',
        cp.seq,
        `checkpoint at seq ${cp.seq} has no valid signature from a trusted audit key (key ${cp.keyId})`,
      );
    }
  }

  for await (const e of input.entries) {
    if (e.seq > expected) return fail('missing', expected, `entry ${expected} is missing (the next entry is ${e.seq})`);
    if (e.seq < expected) return fail('inserted_or_reordered', e.seq, `entry ${e.seq} appears out of order`);
    if (e.prevHash !== prev) return fail('inserted_or_reordered', e.seq, `entry ${e.seq} does not link to entry ${e.seq - 1}`);
    const { hash, ...rest } = e;
    if (entryHash(rest) !== hash) return fail('modified', e.seq, `entry ${e.seq} was modified (its hash does not match its content)`);
    const cp = bySeq.get(e.seq);
    if (cp && cp.headHash !== e.hash)
      return fail('checkpoint_mismatch', e.seq, `entry ${e.seq} differs from the signed checkpoint at that seq`);
    prev = e.hash;
    expected++;
    count++;
  }
  const lastSeq = expected - 1;
  if (lastCp && lastCp.seq > lastSeq) {
    return fail(
      'truncated',
      lastSeq + 1,
      `the log ends at ${lastSeq} but a signed checkpoint covers up to ${lastCp.seq}: entries were removed`,
    );
  }
  if (input.head && (input.head.seq !== lastSeq || (lastSeq > 0 && input.head.hash !== prev))) {
    const seq = Math.min(input.head.seq, lastSeq) + 1;
    return fail('head_mismatch', seq, `the chain head records seq ${input.head.seq} but the log ends at ${lastSeq}`);
  }
  return {
    ok: true,
    entries: count,
    checkpoints: input.checkpoints.length,
    lastSeq,
    lastCheckpoint: lastCp ? { seq: lastCp.seq, ts: lastCp.ts } : null,
    firstBadSeq: null,
    problem: null,
    message: `audit log intact: ${count} entries, ${input.checkpoints.length} signed checkpoints`,
  };
}
