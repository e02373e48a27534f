// Request budgets shared across API replicas (issue 16): two `countersign api` processes on one
// PostgreSQL allow one principal's budget once, not twice; per address too; and when the shared
// counter cannot be read, a replica refuses (503 RATE_LIMIT_UNAVAILABLE) instead of letting
// requests through unbudgeted. Both replicas read their keys from one read-only path outside the
// data directory (`keys.dir`, as a mounted secret would be; `<dir>/keys` is gone), sign with the
// same audit key, and a private key others could read stops a replica's start. The limiters themselves run against the real store on both
// engines: reserving several requests per round trip never allows more than the budget.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { verifyStoreAudit } from '../../src/backup/index.ts';
import { SharedRateLimiter, WindowCounts } from '../../src/limits/index.ts';
import { systemRuntime } from '../../src/runtime.ts';
import { openServerContext } from '../../src/server/context.ts';
import { initDataDir } from '../../src/server/init.ts';
import { Store } from '../../src/store/index.ts';
import { type ApiProcess, startApiProcess } from '../support/api-process.ts';
import { ENGINES, freshPostgresDatabase } from '../support/engines.ts';
import { httpClient } from '../support/http-client.ts';
import { tempDir } from '../support/server.ts';
import { freshStore } from '../support/store.ts';

const PER_PRINCIPAL = 30;
const PER_ADDRESS = 50;

const windowOf = (t: number) => t - (t % 60_000);

/** A burst must fall inside one fixed window: wait out the last seconds of a minute first (5 s at most). */
async function awayFromWindowEdge(): Promise<number> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await sleep(left + 100);
  return windowOf(Date.now());
}

const statuses = (rs: { status: number }[]) => rs.map((r) => r.status);
const count = (xs: number[], s: number) => xs.filter((x) => x === s).length;

const postgres = ENGINES.find((e) => e.name === 'postgres')!;

describe('request budgets shared by two API replicas on one PostgreSQL', { skip: postgres.skip }, () => {
  let db: { databaseUrl: string; drop(): Promise<void> };
  let adminKey: string;
  let dir: string;
  let sharedKeys: string;
  let a: ApiProcess | undefined;
  let b: ApiProcess | undefined;
  /** The minute window of the burst: the address test counts on what it left. */
  let window = 0;
  before(async () => {
    db = await freshPostgresDatabase();
    dir = join(tempDir(), 'data');
    adminKey = (await initDataDir(dir, { databaseUrl: db.databaseUrl })).adminKey;
    // The "secret mount": the keys moved out of the data directory, the directory read-only.
    sharedKeys = join(tempDir('cs-secret-mount-'), 'countersign-keys');
    renameSync(join(dir, 'keys'), sharedKeys);
    chmodSync(sharedKeys, 0o500);
    const file = join(dir, 'countersign.yaml');
    writeFileSync(
      file,
      `${readFileSync(file, 'utf8')}keys:\n  dir: ${sharedKeys}\n`
        .replace(/perPrincipalPerMinute: \d+/, `perPrincipalPerMinute: ${PER_PRINCIPAL}`)
        .replace(/perAddressPerMinute: \d+/, `perAddressPerMinute: ${PER_ADDRESS}`),
    );
    [a, b] = await Promise.all([startApiProcess(dir, db.databaseUrl), startApiProcess(dir, db.databaseUrl)]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  test('fails closed: with the shared counter unreadable a replica refuses with 503 RATE_LIMIT_UNAVAILABLE, then recovers', async () => {
    const client = new pg.Client({ connectionString: db.databaseUrl });
    await client.connect();
    try {
      // Only the counter breaks: the keys, the principals and the audit log still answer. Budgets this
      // small reserve one request per round trip, so every request needs the counter.
      await client.query('alter table rate_windows rename to rate_windows_away');
      const r = await httpClient(b!.url, adminKey).request('GET', '/v1/whoami');
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'RATE_LIMIT_UNAVAILABLE');
    } finally {
      await client.query('alter table if exists rate_windows_away rename to rate_windows');
      await client.end();
    }
    // Counting works again: past the address budget to authentication (401 without a key). The
    // refused request counted nothing.
    assert.equal((await httpClient(b!.url, adminKey).request('GET', '/v1/whoami', { key: null })).status, 401);
  });

  test('one principal gets its budget once across both replicas, and each replica says 429 past it', async () => {
    window = await awayFromWindowEdge();
    const onA = httpClient(a!.url, adminKey);
    const onB = httpClient(b!.url, adminKey);
    // Interleaved and concurrent: 20 requests on each replica, 40 in all, against a budget of 30.
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? onA : onB).request('GET', '/v1/whoami')));
    const s = statuses(all);
    assert.equal(windowOf(Date.now()), window, 'the burst and the checks below ran within one minute window');
    assert.equal(count(s, 200), PER_PRINCIPAL, s.join(' '));
    assert.equal(count(s, 429), 40 - PER_PRINCIPAL, s.join(' '));
    const refused = all.find((r) => r.status === 429)!;
    assert.equal(refused.body.error.code, 'RATE_LIMITED');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    // Each replica alone would have allowed 30: both now refuse.
    assert.equal((await onA.request('GET', '/v1/whoami')).status, 429);
    assert.equal((await onB.request('GET', '/v1/whoami')).status, 429);
  });

  test('the per-address budget (before authentication) is shared too: unauthenticated floods through two replicas', async () => {
    // The 42 requests of the burst above counted against the address as well; the rest of its budget goes
    // to requests without a key (401), then both replicas answer 429 before looking for a key.
    const anon = [httpClient(a!.url, ''), httpClient(b!.url, '')];
    const s = statuses(await Promise.all(Array.from({ length: 60 }, (_, i) => anon[i % 2]!.request('GET', '/v1/whoami', { key: null }))));
    assert.ok(count(s, 401) > 0 && count(s, 429) > 0, s.join(' '));
    assert.equal(windowOf(Date.now()), window, 'still the window of the burst above');
    assert.ok(count(s, 401) <= PER_ADDRESS - 42, `at most what the address had left: ${s.join(' ')}`);
    for (const c of anon) assert.equal((await c.request('GET', '/v1/whoami', { key: null })).status, 429);
  });

  test('SIGHUP: both replicas re-read countersign.yaml and apply the raised budgets to the shared windows', async () => {
    const file = join(dir, 'countersign.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace(/perPrincipalPerMinute: \d+/, 'perPrincipalPerMinute: 1000')
        .replace(/perAddressPerMinute: \d+/, 'perAddressPerMinute: 1000'),
    );
    for (const p of [a!, b!]) p.child.kill('SIGHUP');
    const applied = 'config reloaded: applied rateLimit.perAddressPerMinute, rateLimit.perPrincipalPerMinute';
    for (let i = 0; i < 200 && ![a!, b!].every((p) => p.output().includes(applied)); i++) await sleep(50);
    for (const p of [a!, b!]) assert.ok(p.output().includes(applied), p.output());
    for (const p of [a!, b!]) assert.equal((await httpClient(p.url, adminKey).request('GET', '/v1/whoami')).status, 200);
  });

  test('a private key others may read on the shared path stops a replica: the start is refused, not weakened', async () => {
    const auditKey = join(sharedKeys, 'audit.key');
    chmodSync(sharedKeys, 0o700);
    chmodSync(auditKey, 0o644);
    try {
      await assert.rejects(openServerContext(dir, { databaseUrl: db.databaseUrl }), (e: Error & { code?: string }) => {
        return e.code === 'CONFIG_INVALID' && e.message.includes(`${auditKey} is accessible to other users (mode 644)`);
      });
    } finally {
      chmodSync(auditKey, 0o600);
      chmodSync(sharedKeys, 0o500);
    }
  });

  test('both replicas signed their shutdown checkpoints with the audit key of the shared path, and the chain verifies', async () => {
    assert.deepEqual(await Promise.all([a!.stop(), b!.stop()]), [0, 0]);
    const store = await Store.open({ databaseUrl: db.databaseUrl, runtime: systemRuntime, signer: null, access: 'read' });
    try {
      const report = await verifyStoreAudit(store, sharedKeys);
      assert.equal(report.ok, true, report.message);
      assert.ok(report.checkpoints >= 2, `a checkpoint from each replica's drain: ${report.checkpoints}`);
    } finally {
      await store.close();
    }
  });
});

for (const engine of ENGINES) {
  describe(`SharedRateLimiter on the real store (${engine.name})`, { skip: engine.skip }, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await freshStore(engine, { signer: null }));
    });
    after(() => close?.());

    test('two limiters reserving 10 at a time on one counter never allow more than the budget, and waste little', async () => {
      const now = () => 1_700_000_000_000;
      const one = new SharedRateLimiter({ perMinute: 1000, counter: store.budgetCounters, now, reserve: 10 });
      const two = new SharedRateLimiter({ perMinute: 1000, counter: store.budgetCounters, now, reserve: 10 });
      let allowed = 0;
      let refused = 0;
      // Concurrent bursts on both: one reservation in flight per key and limiter.
      await Promise.all(
        Array.from({ length: 1200 }, async (_, i) => {
          try {
            await (i % 3 ? one : two).take('principal:p1');
            allowed++;
          } catch (err) {
            assert.equal((err as { code?: string }).code, 'RATE_LIMITED');
            refused++;
          }
        }),
      );
      assert.ok(allowed <= 1000, `allowed ${allowed}`);
      assert.ok(allowed >= 1000 - 2 * 10, `allowed ${allowed}: at most one reservation per limiter left unused`);
      assert.equal(allowed + refused, 1200);
    });

    test('alert deliveries counted by two replicas: every count is distinct, so exactly one sees the first over the budget', async () => {
      const counter = store.budgetCounters;
      const now = () => 1_750_000_000_000;
      const replicas = [new WindowCounts(counter, now), new WindowCounts(counter, now)];
      const counts = await Promise.all(Array.from({ length: 40 }, (_, i) => replicas[i % 2]!.add('webhook:alertmanager')));
      assert.deepEqual(
        counts.map((c) => c.count).sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
    });

    test('expired windows are swept', async () => {
      let t = 1_800_000_000_000;
      const limiter = new SharedRateLimiter({ perMinute: 5, counter: store.budgetCounters, now: () => t });
      await limiter.take('sweep-me');
      t += 3 * 60_000 + 1;
      await limiter.take('sweep-me'); // a new window: sweeps the first, which ended two minutes ago
      await sleep(100);
      const rows = await store.kyselyForOperatorTooling
        .selectFrom('rate_windows')
        .select('window_start')
        .where('key', '=', 'sweep-me')
        .execute();
      assert.deepEqual(
        rows.map((r) => r.window_start),
        [new Date(t - (t % 60_000)).toISOString()],
      );
    });
  });
}
