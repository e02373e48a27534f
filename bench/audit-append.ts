// Figure: audit append rate through TenantScope.audit on a real SQLite data dir, against a bare
// better-sqlite3 insert of a row of the same shape into a table of the same DDL, same pragmas.
import { join } from 'node:path';
import type { AuditEvent } from '../src/audit/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { openStore } from '../src/server/store-binding.ts';
import type { Store } from '../src/store/index.ts';
import { progress, type Row, rateOfSync, rateWithin, type Target } from './lib.ts';
import { freshDataDir } from './support/datadir.ts';
import { auditLogDdl, auditShapedRow, commitsPerSecond, openBareAuditDb, type Synchronous } from './support/sqlite.ts';

/** DESIGN.md: audit append ≥ 50% of a bare insert. */
const TARGET: Target = { op: '>=', value: 0.5, on: 'ratio', text: '≥ 50% of floor' };
/** Per-transaction lines: product and floor alternate, SLICES × SLICE_MS each (~2.5 s apiece). */
const SLICES = 5;
const SLICE_MS = 500;
const MAX_EACH = 50_000;
const BATCH = 20_000;

/** What a plan proposal records: the most frequent entry the API writes. */
function proposeEvent(actor: string, i: number): Omit<AuditEvent, 'tenantId'> {
  return {
    actor,
    action: 'plan.propose',
    outcome: 'allowed',
    resource: `plan:pln_01jbench${String(i).padStart(18, '0')}`,
    details: {
      hash: 'a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef',
      risk: 'low',
      environment: 'dev',
      source: 'api',
      steps: 3,
      policies: ['role-admin'],
    },
  };
}

async function openProductStore(dir: string, synchronous: Synchronous): Promise<Store> {
  const config = loadConfig(dir);
  // The product's own path from config to store; only the durability setting is varied.
  return openStore(dir, { ...config, database: { ...config.database, sqliteSynchronous: synchronous } }, {}, 'write');
}

export async function run(): Promise<Row[]> {
  const data = await freshDataDir('audit-append');
  try {
    const { tenantId, adminPrincipalId: actor } = data.init;
    // The bare floor gets the product's audit_log DDL, read back from the product's own file.
    const productDb = join(data.dir, 'countersign.db');
    const ddl = auditLogDdl(productDb);
    let bareSeq = 1;

    /**
     * One transaction per entry, product and bare floor alternating in slices so a burst of
     * disk latency from a neighbour lands on both (each commit waits for a WAL sync under FULL).
     */
    const eachInOwnTransaction = async (synchronous: Synchronous) => {
      const store = await openProductStore(data.dir, synchronous);
      const bare = openBareAuditDb(join(data.dir, '..', `bare-${synchronous}.db`), ddl, synchronous);
      const scope = store.scope(tenantId);
      let n = 1_000_000 * (synchronous === 'full' ? 1 : 2);
      try {
        for (let i = 0; i < 200; i++) await scope.audit(proposeEvent(actor, n++)); // warm-up
        bareSeq += commitsPerSecond(bare, bareSeq, Number.POSITIVE_INFINITY, 200).count;
        progress(
          `audit append: ${SLICES}×${SLICE_MS} ms of one transaction per entry, product and bare alternating (synchronous=${synchronous})`,
        );
        const product = { count: 0, ms: 0 };
        const floor = { count: 0, ms: 0 };
        for (let slice = 0; slice < SLICES; slice++) {
          const p = await rateWithin(SLICE_MS, MAX_EACH, () => scope.audit(proposeEvent(actor, n++)));
          product.count += p.count;
          product.ms += p.ms;
          const b = commitsPerSecond(bare, bareSeq, SLICE_MS, MAX_EACH);
          bareSeq += b.count;
          floor.count += b.count;
          floor.ms += b.ms;
        }
        return {
          perSecond: (product.count * 1000) / product.ms,
          count: product.count,
          ms: product.ms,
          floorPerSecond: (floor.count * 1000) / floor.ms,
        };
      } finally {
        bare.close();
        await store.close();
      }
    };

    /** The bare floor for the batched line: the same number of rows in one transaction. */
    const bareBatched = () => {
      const bare = openBareAuditDb(join(data.dir, '..', 'bare-batched.db'), ddl, 'full');
      try {
        const batched = bare.db.transaction((k: number) => {
          for (let i = 0; i < k; i++) bare.insert(auditShapedRow(bareSeq++));
        });
        batched(1_000);
        return (BATCH * 1000) / rateOfSync(1, () => batched(BATCH)).ms;
      } finally {
        bare.close();
      }
    };

    const full = await eachInOwnTransaction('full');

    // Batched: many entries in one store transaction (the way provisioning writes several).
    const store = await openProductStore(data.dir, 'full');
    let batchedRate: number;
    try {
      let n = 3_000_000;
      await store.transaction(tenantId, async (scope) => {
        for (let i = 0; i < 1_000; i++) await scope.audit(proposeEvent(actor, n++));
      });
      progress(`audit append: ${BATCH} entries in one transaction`);
      const start = performance.now();
      await store.transaction(tenantId, async (scope) => {
        for (let i = 0; i < BATCH; i++) await scope.audit(proposeEvent(actor, n++));
      });
      batchedRate = (BATCH * 1000) / (performance.now() - start);
    } finally {
      await store.close();
    }

    const bareBatchedRate = bareBatched();
    const normal = await eachInOwnTransaction('normal');

    return [
      {
        id: 'audit.append.txn_each',
        figure: 'audit append, 1 txn/entry, sync FULL',
        kind: 'rate',
        value: full.perSecond,
        floor: { label: 'bare insert, 1 txn/row', value: full.floorPerSecond },
        detail: { entries: full.count, ms: Math.round(full.ms), synchronous: 'full' },
        notes: [
          `TenantScope.audit outside a transaction: BEGIN IMMEDIATE, read head, insert, update head, Ed25519 checkpoint every 100, COMMIT (${full.count} entries)`,
        ],
      },
      {
        id: 'audit.append.batched',
        figure: `audit append, ${BATCH / 1000}k in 1 txn, sync FULL`,
        kind: 'rate',
        value: batchedRate,
        floor: { label: 'bare insert, 1 txn', value: bareBatchedRate },
        target: TARGET,
        detail: { entries: BATCH, synchronous: 'full' },
      },
      {
        id: 'audit.append.txn_each.sync_normal',
        figure: 'audit append, 1 txn/entry, sync NORMAL',
        kind: 'rate',
        value: normal.perSecond,
        floor: { label: 'bare insert, 1 txn/row', value: normal.floorPerSecond },
        target: TARGET,
        detail: { entries: normal.count, ms: Math.round(normal.ms), synchronous: 'normal' },
        notes: ['the config default (database.sqliteSynchronous: normal); the FULL row shows what a sync per commit costs'],
      },
    ];
  } finally {
    data.remove();
  }
}
