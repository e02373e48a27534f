import { appendFileSync } from 'node:fs';
import { type AuditSigner, AuditTreeBuilder, signCheckpoint } from '../audit/index.ts';
import type { Store } from '../store/index.ts';
import { submitCheckpoint, type WitnessEndpoint, witnessName } from './client.ts';

export interface PublisherOptions {
  store: Store;
  signer: AuditSigner;
  witnesses: readonly WitnessEndpoint[];
  quorum: number;
  /** The append-only checkpoint file (`<dir>/audit-checkpoints`): every signed head is copied there. */
  checkpointFile: string;
  intervalMs: number;
  now: () => Date;
  log: (line: string) => void;
  /** Per witness request. */
  timeoutMs?: number;
}

export interface PublishResult {
  size: number;
  cosignedBy: string[];
  refused: { witness: string; reason: string }[];
  witnessed: boolean;
}

/**
 * The API server's side of witnessing (issue 17): it keeps the audit tree in memory, extends it
 * with the entries written since the last round, signs a C2SP checkpoint of it with the audit
 * key, appends the note to the checkpoint file, hands it to every configured witness and stores
 * the note with the cosignatures that verified once a quorum has cosigned. It runs on a timer
 * and when kicked (an approval a grant will wait for); one round at a time per process. Several
 * replicas may each publish: the witnesses' 409 answers and the stored row's unique size make
 * that harmless.
 *
 * Its rounds write no audit entry on purpose: an entry per round would grow the log it just
 * checkpointed, so every round would find a new head to sign, forever. What it stores needs no
 * trust in turn: the note is signed with the audit key and cosigned by the witnesses, and every
 * reader (the grant hold, `audit verify-proof`) verifies those signatures, not the row. The
 * operator's own `audit checkpoint` is the audited host operation.
 */
export class CheckpointPublisher {
  readonly #o: PublisherOptions;
  readonly #builder = new AuditTreeBuilder();
  #published = 0;
  #signed: { size: number; note: string } | null = null;
  #round: Promise<PublishResult | null> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: PublisherOptions) {
    this.#o = options;
  }

  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      this.kick().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(loop, this.#o.intervalMs);
      });
    };
    this.#timer = setTimeout(loop, 0);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#round?.catch(() => undefined);
  }

  /** Runs a round now, or right after the one in flight; resolves with that round's result. */
  kick(): Promise<PublishResult | null> {
    if (this.#round) {
      this.#again = true;
      return this.#round;
    }
    const run = async (): Promise<PublishResult | null> => {
      let result: PublishResult | null = null;
      do {
        this.#again = false;
        result = await this.#publish().catch((err: Error) => {
          this.#o.log(`audit witnessing: ${err.message}`);
          return null;
        });
      } while (this.#again && !this.#stopped);
      return result;
    };
    this.#round = run().finally(() => {
      this.#round = null;
    });
    return this.#round;
  }

  async #publish(): Promise<PublishResult | null> {
    for await (const e of this.#o.store.iterateAuditAfter(this.#builder.size)) this.#builder.add(e);
    const size = this.#builder.size;
    if (size === 0 || size === this.#published) return null;
    // A head signed in an earlier round whose witnesses did not answer is offered again, not re-signed.
    if (this.#signed?.size !== size) {
      this.#signed = { size, note: signCheckpoint(this.#builder.tree, size, this.#o.signer) };
      appendFileSync(this.#o.checkpointFile, `${this.#signed.note}\n`, { mode: 0o600 });
    }
    const note = this.#signed.note;
    let lines = '';
    const cosignedBy: string[] = [];
    const refused: PublishResult['refused'] = [];
    // The tree object is shared with later rounds only after this one ends: proofs read a stable tree.
    await Promise.all(
      this.#o.witnesses.map(async (w) => {
        try {
          const answer = await submitCheckpoint(this.#builder.tree, note, w, this.#o.timeoutMs);
          lines += answer;
          cosignedBy.push(witnessName(w));
        } catch (err) {
          refused.push({ witness: witnessName(w), reason: (err as Error).message });
          this.#o.log(`audit witnessing: ${witnessName(w)} did not cosign the checkpoint of ${size} entries: ${(err as Error).message}`);
        }
      }),
    );
    const witnessed = cosignedBy.length >= this.#o.quorum;
    if (witnessed) {
      await this.#o.store.witnessed.insert({
        size,
        note: `${note}${lines}`,
        witnesses: cosignedBy.sort(),
        createdAt: this.#o.now().toISOString(),
      });
      this.#published = size;
    }
    return { size, cosignedBy, refused, witnessed };
  }
}
