import type { KeyObject } from 'node:crypto';
import { type AuditHashInput, type AuditRecord, entryHash, GENESIS_HASH, hashEntryText } from './chain.ts';
import { type Checkpoint, verifyCheckpointInBackground } from './signing.ts';

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
  /**
   * Entries in ascending seq order, one by one or in pages (a store's pages save an await per
   * entry); an entry is either its stored fields or the text its hash covers as the store wrote it out.
   */
  entries: AsyncIterable<AuditRecord | AuditHashInput | readonly (AuditRecord | AuditHashInput)[]>;
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

  // Every checkpoint's signature is checked on the thread pool while this thread walks the chain;
  // a bad signature is still the verdict whatever the walk finds, as when it was checked first.
  const signatures = Promise.all(input.checkpoints.map((cp) => verifyCheckpointInBackground(cp, input.publicKeys)));
  const walked = await walk();
  const valid = await signatures;
  const bad = input.checkpoints.find((_, i) => !valid[i]);
  if (bad) {
    // Reported as before the walk: nothing behind an untrusted checkpoint counts as verified.
    count = 0;
    expected = 1;
    return fail(
      'bad_checkpoint_signature',
      bad.seq,
      `checkpoint at seq ${bad.seq} has no valid signature from a trusted audit key (key ${bad.keyId})`,
    );
  }
  return walked;

  async function walk(): Promise<VerifyReport> {
    for await (const item of input.entries) {
      const page: readonly (AuditRecord | AuditHashInput)[] = Array.isArray(item) ? item : [item as AuditRecord | AuditHashInput];
      for (const e of page) {
        if (e.seq > expected) return fail('missing', expected, `entry ${expected} is missing (the next entry is ${e.seq})`);
        if (e.seq < expected) return fail('inserted_or_reordered', e.seq, `entry ${e.seq} appears out of order`);
        if (e.prevHash !== prev) return fail('inserted_or_reordered', e.seq, `entry ${e.seq} does not link to entry ${e.seq - 1}`);
        // entryHash reads every field but `hash`: no copy of the entry without it.
        let computed: string;
        try {
          computed = 'text' in e ? hashEntryText(e.text) : entryHash(e);
        } catch (err) {
          // A field no honest writer stores (not text, a lone surrogate): the row was changed.
          const why = err instanceof Error ? err.message : String(err);
          return fail('modified', e.seq, `entry ${e.seq} was modified (it cannot be hashed: ${why})`);
        }
        if (computed !== e.hash) return fail('modified', e.seq, `entry ${e.seq} was modified (its hash does not match its content)`);
        const cp = bySeq.get(e.seq);
        if (cp && cp.headHash !== e.hash)
          return fail('checkpoint_mismatch', e.seq, `entry ${e.seq} differs from the signed checkpoint at that seq`);
        prev = e.hash;
        expected++;
        count++;
      }
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
}
