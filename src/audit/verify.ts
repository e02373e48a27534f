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

/** A stored entry as a reader hands it over: its stored fields, or the text its hash covers as the store wrote it out. */
export type VerifiableEntry = AuditRecord | AuditHashInput;

/** Entries in ascending seq order, one by one or in pages (a store's pages save an await per entry). */
export type VerifiableEntries = AsyncIterable<VerifiableEntry | readonly VerifiableEntry[]>;

/**
 * One stretch of the chain: the entries with `after < seq <= until` in seq order, or every entry
 * after `after` when `until` is null. Either its entries, for this thread to walk, or a walk run
 * elsewhere (a reader thread runs walkSegment over what it reads) that reports what it found.
 */
export type AuditSegment = { after: number; until: number | null } & (
  | { entries: VerifiableEntries }
  | {
      walk: (
        checkpointHeads: ReadonlyMap<number, string>,
        signal: AbortSignal,
        progress: (entries: number) => void,
      ) => Promise<SegmentWalk>;
    }
);

interface VerifyCommon {
  checkpoints: readonly Checkpoint[];
  /** The stored chain head (seq, hash), or null if none is stored. */
  head: { seq: number; hash: string } | null;
  publicKeys: ReadonlyMap<string, KeyObject>;
  /** Told the running count of entries walked so far, as pages are walked (a progress line for a long log). */
  onProgress?: (walked: number) => void;
}

/**
 * The whole chain from seq 1 (`entries`), or the whole chain in consecutive segments
 * (`segments`: the first after 0, each next one after where the previous one ends, the last
 * unbounded), which are walked at once and joined: the verdict is the one walking the entries in
 * one pass gives.
 */
export type VerifyInput = VerifyCommon & ({ entries: VerifiableEntries } | { segments: readonly AuditSegment[] });

export interface SegmentFailure {
  problem: AuditProblem;
  seq: number;
  message: string;
  /** Entries verified before it, and the last seq among them. */
  count: number;
  lastSeq: number;
}

/** What walking one segment found. */
export interface SegmentWalk {
  /** Seq of the first entry read, whatever it holds; null when the segment was empty. */
  firstSeq: number | null;
  /** prevHash of the first entry, once its seq was the one expected (the link is checked on joining). */
  firstPrev: string | null;
  count: number;
  lastSeq: number;
  lastHash: string | null;
  failure: SegmentFailure | null;
}

const missing = (seq: number, next: number) => `entry ${seq} is missing (the next entry is ${next})`;
const unlinked = (seq: number) => `entry ${seq} does not link to entry ${seq - 1}`;

/**
 * Walks one segment: every entry's seq must follow the last, link to it and hash to what it
 * stores, and match the signed checkpoint at its seq (`checkpointHeads`: seq → the head hash it
 * signs). The first entry's link is left to the join. `stop()` true ends the walk early (an
 * earlier segment already failed); `progress` is told how many entries each page added. Reader
 * threads run this same walk over what they read.
 */
export async function walkSegment(
  segment: { after: number; entries: VerifiableEntries },
  checkpointHeads: ReadonlyMap<number, string>,
  stop: () => boolean,
  progress: (entries: number) => void = () => {},
): Promise<SegmentWalk> {
  const w: SegmentWalk = { firstSeq: null, firstPrev: null, count: 0, lastSeq: segment.after, lastHash: null, failure: null };
  let expected = segment.after + 1;
  const fail = (problem: AuditProblem, seq: number, message: string): SegmentWalk => {
    w.failure = { problem, seq, message, count: w.count, lastSeq: expected - 1 };
    return w;
  };
  let reported = 0;
  for await (const item of segment.entries) {
    if (stop()) return w;
    if (w.count > reported) {
      progress(w.count - reported);
      reported = w.count;
    }
    const page: readonly VerifiableEntry[] = Array.isArray(item) ? item : [item as VerifiableEntry];
    for (const e of page) {
      w.firstSeq ??= e.seq;
      if (e.seq > expected) return fail('missing', expected, missing(expected, e.seq));
      if (e.seq < expected) return fail('inserted_or_reordered', e.seq, `entry ${e.seq} appears out of order`);
      if (w.lastHash === null) w.firstPrev = e.prevHash;
      else if (e.prevHash !== w.lastHash) return fail('inserted_or_reordered', e.seq, unlinked(e.seq));
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
      const signed = checkpointHeads.get(e.seq);
      if (signed !== undefined && signed !== e.hash)
        return fail('checkpoint_mismatch', e.seq, `entry ${e.seq} differs from the signed checkpoint at that seq`);
      w.lastHash = e.hash;
      w.lastSeq = e.seq;
      expected++;
      w.count++;
    }
  }
  if (w.count > reported) progress(w.count - reported);
  return w;
}

/**
 * Walks the chain (invariant 11): every entry's hash is recomputed, every link checked, the
 * sequence must be gap-free from 1, every checkpoint must carry a valid signature from a known
 * key and match the entry at its seq, and nothing may be missing behind the last checkpoint.
 */
export async function verifyAuditChain(input: VerifyInput): Promise<VerifyReport> {
  const checkpointHeads = new Map<number, string>();
  for (const cp of input.checkpoints) checkpointHeads.set(cp.seq, cp.headHash);
  const lastCp = input.checkpoints.reduce<Checkpoint | null>((a, c) => (a === null || c.seq > a.seq ? c : a), null);
  const lastCheckpoint = lastCp ? { seq: lastCp.seq, ts: lastCp.ts } : null;
  const checkpoints = input.checkpoints.length;
  const failed = (f: SegmentFailure): VerifyReport => ({
    ok: false,
    entries: f.count,
    checkpoints,
    lastSeq: f.lastSeq,
    lastCheckpoint,
    firstBadSeq: f.seq,
    problem: f.problem,
    message: f.message,
  });
  const segments = 'segments' in input ? input.segments : [{ after: 0, until: null, entries: input.entries }];
  assertConsecutive(segments);

  // Every checkpoint's signature is checked on the thread pool while this thread walks the chain;
  // a bad signature is still the verdict whatever the walk finds, as when it was checked first.
  const signatures = Promise.all(input.checkpoints.map((cp) => verifyCheckpointInBackground(cp, input.publicKeys)));
  // Segments are walked at once; one that fails stops those after it (the earliest failure by
  // seq is the verdict), and one that cannot be read stops them all.
  const stops = segments.map(() => new AbortController());
  let seen = 0;
  const onProgress = input.onProgress;
  const progress = onProgress
    ? (entries: number) => {
        seen += entries;
        onProgress(seen);
      }
    : () => {};
  const stopFrom = (i: number) => {
    for (const c of stops.slice(i)) c.abort();
  };
  const walks = await Promise.all(
    segments.map((s, i) => {
      const signal = stops[i]!.signal;
      const walk =
        'walk' in s ? s.walk(checkpointHeads, signal, progress) : walkSegment(s, checkpointHeads, () => signal.aborted, progress);
      return walk.then(
        (w) => {
          if (w.failure) stopFrom(i + 1);
          return w;
        },
        (err: unknown) => {
          stopFrom(0);
          throw err;
        },
      );
    }),
  );
  const walked = join(segments, walks);
  const valid = await signatures;
  const bad = input.checkpoints.find((_, i) => !valid[i]);
  if (bad) {
    // Reported as before the walk: nothing behind an untrusted checkpoint counts as verified.
    return failed({
      problem: 'bad_checkpoint_signature',
      seq: bad.seq,
      message: `checkpoint at seq ${bad.seq} has no valid signature from a trusted audit key (key ${bad.keyId})`,
      count: 0,
      lastSeq: 0,
    });
  }
  if (walked.failure) return failed(walked.failure);
  const { count, lastSeq, lastHash } = walked;
  if (lastCp && lastCp.seq > lastSeq) {
    return failed({
      problem: 'truncated',
      seq: lastSeq + 1,
      message: `the log ends at ${lastSeq} but a signed checkpoint covers up to ${lastCp.seq}: entries were removed`,
      count,
      lastSeq,
    });
  }
  if (input.head && (input.head.seq !== lastSeq || (lastSeq > 0 && input.head.hash !== lastHash))) {
    return failed({
      problem: 'head_mismatch',
      seq: Math.min(input.head.seq, lastSeq) + 1,
      message: `the chain head records seq ${input.head.seq} but the log ends at ${lastSeq}`,
      count,
      lastSeq,
    });
  }
  return {
    ok: true,
    entries: count,
    checkpoints,
    lastSeq,
    lastCheckpoint,
    firstBadSeq: null,
    problem: null,
    message: `audit log intact: ${count} entries, ${checkpoints} signed checkpoints`,
  };
}

function assertConsecutive(segments: readonly AuditSegment[]): void {
  if (segments.length === 0 || segments[0]!.after !== 0 || segments.at(-1)!.until !== null) {
    throw new Error('audit segments must start after seq 0 and the last must be unbounded');
  }
  for (let i = 1; i < segments.length; i++) {
    const until = segments[i - 1]!.until;
    if (until === null || until < segments[i - 1]!.after || segments[i]!.after !== until) {
      throw new Error('each audit segment must start where the one before it ends');
    }
  }
}

/**
 * Joins the segments' walks in seq order into what one pass over the whole chain finds: the
 * first failure by seq, a gap or a broken link where two segments meet, or the chain's end.
 */
function join(
  segments: readonly AuditSegment[],
  walks: readonly SegmentWalk[],
): { failure: SegmentFailure | null; count: number; lastSeq: number; lastHash: string } {
  let count = 0;
  let lastSeq = 0;
  let lastHash = GENESIS_HASH;
  const at = (problem: AuditProblem, seq: number, message: string): SegmentFailure => ({ problem, seq, message, count, lastSeq });
  for (let i = 0; i < walks.length; i++) {
    const w = walks[i]!;
    if (w.firstSeq === null) continue; // nothing stored in this stretch: a gap shows at the next entry
    // Entries between the last one verified and this segment's start are missing.
    if (lastSeq < segments[i]!.after)
      return { failure: at('missing', lastSeq + 1, missing(lastSeq + 1, w.firstSeq)), count, lastSeq, lastHash };
    if (w.firstPrev !== null && w.firstPrev !== lastHash) {
      return { failure: at('inserted_or_reordered', w.firstSeq, unlinked(w.firstSeq)), count, lastSeq, lastHash };
    }
    if (w.failure) return { failure: { ...w.failure, count: count + w.failure.count }, count, lastSeq, lastHash };
    count += w.count;
    lastSeq = w.lastSeq;
    lastHash = w.lastHash ?? lastHash;
  }
  return { failure: null, count, lastSeq, lastHash };
}
