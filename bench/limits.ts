// Figure: the request budget shared by API replicas on PostgreSQL (src/limits) against the
// in-process limiter a single SQLite server keeps, same run: one upsert per request (reserve 1,
// exact), and the default reservation of 1 % of the budget per round trip (a budget of 6,000 a
// minute reserves 60), sequential and with 16 requests in flight; a bare `select 1` round trip on
// the same pool shows what one database visit costs here.
import { sql } from 'kysely';
import { PrincipalRateLimiter, reserveSize, SharedRateLimiter } from '../src/limits/index.ts';
import { systemRuntime } from '../src/runtime.ts';
import { Store } from '../src/store/index.ts';
import { owe, progress, type Row, rateWithin } from './lib.ts';
import { freshPostgresDatabase } from './support/postgres.ts';

const BUDGET_MS = 2_000;
const MAX = 200_000;
/** High enough that no key runs out during the figure: what is measured is the counting. */
const PER_MINUTE = 1_000_000_000;
const KEYS = 100;

async function concurrently(budgetMs: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() - start < budgetMs) await fn(done++);
    }),
  );
  return (done * 1000) / (performance.now() - start);
}

export async function run(): Promise<Row[]> {
  const server = process.env.COUNTERSIGN_TEST_DATABASE_URL;
  if (!server) {
    return [
      {
        id: 'limits.shared.postgres',
        figure: 'shared request budget, postgres',
        kind: 'rate',
        value: null,
        status: 'SKIP',
        notes: ['skipped: COUNTERSIGN_TEST_DATABASE_URL is not set'],
      },
    ];
  }
  const db = await freshPostgresDatabase(server);
  const drop = owe(db.drop);
  const store = await Store.open({ databaseUrl: db.databaseUrl, runtime: systemRuntime, signer: null });
  try {
    await store.migrate();
    const key = (i: number) => `principal:bench-${i % KEYS}`;
    progress('limits: in-process limiter');
    const memory = new PrincipalRateLimiter(PER_MINUTE);
    const floor = await rateWithin(BUDGET_MS, MAX * 10, (i) => memory.take(key(i)));
    progress('limits: bare select 1 round trip');
    const db_ = store.kyselyForOperatorTooling;
    const bare = await rateWithin(BUDGET_MS, MAX, () => sql`select 1`.execute(db_));
    progress('limits: shared, one upsert per request');
    const exact = new SharedRateLimiter({ perMinute: PER_MINUTE, counter: store.budgetCounters, reserve: 1 });
    const exactSeq = await rateWithin(BUDGET_MS, MAX, (i) => exact.take(key(i)));
    const exactPar = await concurrently(BUDGET_MS, 16, (i) => exact.take(key(i)));
    progress('limits: shared, default reservation');
    const reserve = reserveSize(6_000);
    const reserved = new SharedRateLimiter({ perMinute: PER_MINUTE, counter: store.budgetCounters, reserve });
    const reservedSeq = await rateWithin(BUDGET_MS, MAX * 10, (i) => reserved.take(key(i)));
    const reservedPar = await concurrently(BUDGET_MS, 16, (i) => reserved.take(key(i)));
    const memoryFloor = { label: 'in-process limiter', value: floor.perSecond };
    return [
      { id: 'limits.memory', figure: 'request budget, in process (SQLite server)', kind: 'rate', value: floor.perSecond },
      {
        id: 'limits.shared.exact',
        figure: 'shared budget, 1 upsert per request',
        kind: 'rate',
        value: exactSeq.perSecond,
        floor: { label: 'bare select 1 round trip', value: bare.perSecond },
        notes: [`16 in flight: ${Math.round(exactPar)}/s`],
        detail: { concurrent16: Math.round(exactPar) },
      },
      {
        id: 'limits.shared.reserved',
        figure: `shared budget, ${reserve} reserved per round trip`,
        kind: 'rate',
        value: reservedSeq.perSecond,
        floor: memoryFloor,
        notes: [`16 in flight: ${Math.round(reservedPar)}/s`, `a budget of 6,000/min reserves ${reserve} per round trip`],
        detail: { concurrent16: Math.round(reservedPar), reserve },
      },
    ];
  } finally {
    await store.close();
    await drop();
  }
}
