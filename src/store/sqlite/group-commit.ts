import { AsyncResource } from 'node:async_hooks';
import { type Kysely, sql, type Transaction } from 'kysely';

/** Most transactions one commit carries: bounds how long the write lock is held in one go. */
export const GROUP_COMMIT_MAX = 32;

/** Resolves after the event loop's current turn: I/O callbacks that are due run first. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Job<DB> {
  readonly fn: (trx: Transaction<DB>) => Promise<unknown>;
  /** The caller's async context, when the job runs in a drain another caller started. */
  readonly context: AsyncResource | null;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; err: unknown };
}

/**
 * Group commit for SQLite. The store has one connection, so its transactions already run one at
 * a time; a commit writes every page the transaction changed (a plan touches a dozen: its table
 * and indexes, the audit log's, the chain head, the outbox) and costs more than the work before
 * it. Transactions that arrive while one runs are carried by the next commit together, each in a
 * savepoint of its own:
 *
 * - each runs alone, in arrival order, seeing what those before it wrote, as before;
 * - one that throws is rolled back to its savepoint — its writes and audit entries are gone —
 *   and its caller gets its error, while the others go on;
 * - every caller hears back only after the commit, and a commit that fails fails them all, with
 *   nothing of any of them stored.
 *
 * A transaction that finds none running starts at once, without a savepoint (if it throws, the
 * batch it began is rolled back whole and the rest start anew). When the queue is empty, the
 * commit waits one turn of the event loop (not a timer): requests whose bytes have already
 * arrived are read and run up to their own transaction in that turn, so a busy server's
 * concurrent requests share commits instead of each paying one (without the turn, a batch only
 * forms when a transaction awaits real I/O). An idle server pays one empty loop turn.
 * Each runs in its caller's async context, so its spans and log fields stay its caller's.
 *
 * A drain ends as its last batch's callers are told: a caller that starts its next transaction
 * as soon as it hears back (one request after another) starts a drain of its own, in its own
 * context, instead of joining the one that is ending.
 */
export class GroupCommit<DB> {
  readonly #db: Kysely<DB>;
  readonly #max: number;
  readonly #linger: boolean;
  readonly #queue: Job<DB>[] = [];
  /** The running drain (a token of its own), or null when none runs. */
  #drainer: object | null = null;
  /** Transactions committed, and the commits that carried them (their ratio is the batching). */
  transactions = 0;
  commits = 0;

  /**
   * @param max most transactions one commit carries
   * @param linger wait one event-loop turn for more transactions before committing (see above)
   */
  constructor(db: Kysely<DB>, max = GROUP_COMMIT_MAX, linger = true) {
    this.#db = db;
    this.#max = max;
    this.#linger = linger;
  }

  /** No transaction runs or waits: the connection is free until the next `run`. */
  get idle(): boolean {
    return this.#drainer === null && this.#queue.length === 0;
  }

  /** A transaction committed on its own while the group was idle (appendAuditNow): one transaction, one commit. */
  countCommittedAlone(): void {
    this.transactions++;
    this.commits++;
  }

  run<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        fn,
        // A drain runs in the context of the caller that started it: a job queued behind it keeps
        // its own caller's context. (An AsyncResource, not AsyncResource.bind: the bound function's
        // deprecated property made each bind cost ~8 µs here.)
        context: this.#drainer === null ? null : new AsyncResource('countersign.GroupCommit'),
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (this.#drainer === null) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    const me = {};
    this.#drainer = me;
    try {
      // #batch hands the drain back (sets #drainer to null) when the queue is empty as it tells
      // its callers; a caller may then already have started the next drain.
      while (this.#drainer === me && this.#queue.length > 0) await this.#batch();
    } finally {
      if (this.#drainer === me) this.#drainer = null;
    }
  }

  /** Ends the drain if nothing waits, then tells the callers (see the class comment). */
  #settle(tell: () => void): void {
    if (this.#queue.length === 0) this.#drainer = null;
    tell();
  }

  #runJob(job: Job<DB>, trx: Transaction<DB>): Promise<unknown> {
    return job.context === null ? job.fn(trx) : job.context.runInAsyncScope(job.fn, null, trx);
  }

  async #batch(): Promise<void> {
    const batch: Job<DB>[] = [];
    try {
      await this.#db.transaction().execute(async (trx) => {
        let lingered = !this.#linger;
        for (;;) {
          if (this.#queue.length === 0 && !lingered) {
            lingered = true;
            await nextTurn();
          }
          if (this.#queue.length === 0 || batch.length >= this.#max) break;
          const job = this.#queue.shift() as Job<DB>;
          batch.push(job);
          if (batch.length === 1) {
            // The first runs bare: if it throws, the transaction rolls back with only its work in it.
            job.outcome = { ok: true, value: await this.#runJob(job, trx) };
            continue;
          }
          await sql`savepoint countersign_tx`.execute(trx);
          try {
            job.outcome = { ok: true, value: await this.#runJob(job, trx) };
          } catch (err) {
            job.outcome = { ok: false, err };
            await sql`rollback to countersign_tx`.execute(trx);
          }
          await sql`release countersign_tx`.execute(trx);
        }
      });
    } catch (err) {
      if (batch.length === 0) {
        // The transaction never began (the write lock stayed busy past its wait): the oldest
        // waiting one fails with that, as it would alone; the rest try again, each for its own wait.
        const oldest = this.#queue.shift();
        this.#settle(() => oldest?.reject(err));
        return;
      }
      // Nothing of this batch is stored. A job that never finished (the first throwing, or a
      // savepoint statement failing under it) gets the error; one that had finished gets it too.
      this.#settle(() => {
        for (const job of batch) job.reject(job.outcome?.ok === false ? job.outcome.err : err);
      });
      return;
    }
    this.commits++;
    this.transactions += batch.filter((job) => job.outcome?.ok).length;
    this.#settle(() => {
      for (const job of batch) {
        const outcome = job.outcome as NonNullable<Job<DB>['outcome']>;
        if (outcome.ok) job.resolve(outcome.value);
        else job.reject(outcome.err);
      }
    });
  }
}
