// A reader thread of a SQLite audit chain's verification (see audit-readers.ts): reads one
// segment of the chain on its own read-only connection, SQLite writing out the text each hash
// covers, and walks it with the verifier's own walk (walkSegment), which hashes every entry and
// checks every seq, link and checkpoint in the segment. The verifying thread joins the segments.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type AuditHashInput, type AuditRecord, type SegmentWalk, walkSegment } from '../../audit/index.ts';
import { AUDIT_ROW_SQL, type AuditRow, type AuditTextRow, auditTextPageSql, fromAuditRow } from './audit-text.ts';

export interface AuditReaderData {
  path: string;
  after: number;
  until: number | null;
  pageSize: number;
  /** The signed checkpoints in this segment: [seq, head hash]. */
  checkpointHeads: [number, string][];
  /** [0] becomes 1 when the verifier no longer needs this segment (an earlier one failed). */
  stop: Int32Array;
}

export type AuditReaderMessage =
  | { type: 'progress'; entries: number }
  | { type: 'walked'; walk: SegmentWalk }
  | { type: 'error'; message: string };

const data = workerData as AuditReaderData;
if (!parentPort) throw new Error('audit-reader-worker runs as a worker thread');
const port = parentPort;

/** The segment's pages, each read when the walk asks for it. */
function* pages(db: Database.Database): Generator<(AuditHashInput | AuditRecord)[]> {
  const bounded = data.until !== null;
  const page = db.prepare(auditTextPageSql(bounded)).raw(true);
  const whole = db.prepare(AUDIT_ROW_SQL).raw(true);
  let after: unknown = data.after;
  for (;;) {
    const rows = (bounded ? page.all(after, data.until, data.pageSize) : page.all(after, data.pageSize)) as AuditTextRow[];
    const entries: (AuditHashInput | AuditRecord)[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r[3] !== null) {
        entries[i] = { seq: r[0], prevHash: r[1], hash: r[2], text: r[3] };
        continue;
      }
      // An unusual row: read whole by its rowid, for the walk to judge field by field.
      const row = whole.get(r[4]) as AuditRow | undefined;
      if (row === undefined) throw new Error(`audit entry ${r[0]} changed while it was being verified`);
      entries[i] = fromAuditRow(row);
    }
    yield entries;
    if (rows.length < data.pageSize) return;
    after = rows.at(-1)![0];
  }
}

async function* asyncPages(db: Database.Database): AsyncGenerator<(AuditHashInput | AuditRecord)[]> {
  yield* pages(db);
}

async function main(): Promise<SegmentWalk> {
  const db = new Database(data.path, { fileMustExist: true });
  try {
    // Not the driver's readonly flag (it leaves -wal and -shm files behind): query_only refuses
    // every write. WAL readers take no lock, so nothing here waits inside SQLite.
    db.pragma('query_only = ON');
    const progress = (entries: number) => port.postMessage({ type: 'progress', entries } satisfies AuditReaderMessage);
    return await walkSegment(
      { after: data.after, entries: asyncPages(db) },
      new Map(data.checkpointHeads),
      () => Atomics.load(data.stop, 0) !== 0,
      progress,
    );
  } finally {
    db.close();
  }
}

main().then(
  (walk) => port.postMessage({ type: 'walked', walk } satisfies AuditReaderMessage),
  (err: unknown) =>
    port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies AuditReaderMessage),
);
