import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, sql, type Transaction } from 'kysely';
import type { AuditEvent, AuditHashInput, AuditRecord, AuditSegment, Checkpoint, CheckpointSigner } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';
import type { Runtime } from '../runtime.ts';
import { KnownSecrets } from '../secrets/index.ts';
import { inLeafSpan } from '../telemetry/index.ts';
import { migrationProvider } from './migrations.ts';
import { createPostgresDialect } from './postgres/dialect.ts';
import { Precompiled } from './precompiled.ts';
import { AlertsRepo } from './repos/alerts.ts';
import { ApprovalsRepo } from './repos/approvals.ts';
import {
  AUDIT_PAGE_SIZE,
  type AuditWriterOptions,
  appendAudit,
  appendAuditNow,
  checkpointHead,
  iterateAudit,
  iterateAuditVerificationPages,
  listCheckpoints,
  rowToRecord,
} from './repos/audit.ts';
import { BudgetCounters } from './repos/budgets.ts';
import { ChatLookup, ChatRepo } from './repos/chat.ts';
import { ConsoleRepo } from './repos/console.ts';
import { type ExecutionRecord, ExecutionsRepo, toExecution } from './repos/executions.ts';
import { FreezesRepo } from './repos/freezes.ts';
import { GrantsRepo } from './repos/grants.ts';
import { NotificationQueue, NotificationsRepo } from './repos/notifications.ts';
import { OverridesRepo } from './repos/overrides.ts';
import { PlansRepo } from './repos/plans.ts';
import { PreviewJobsRepo, PreviewQueue } from './repos/previews.ts';
import { type ApiKeyRecord, DirectoryRepo, type PrincipalRecord, toApiKey, toPrincipal } from './repos/principals.ts';
import { TrustRepo } from './repos/trust.ts';
import { WitnessedRepo } from './repos/witnessed.ts';
import type { Database } from './schema.ts';
import { auditSegmentBounds, auditSegmentsInThreads, type SegmentOptions } from './sqlite/audit-readers.ts';
import { createSqliteDialect } from './sqlite/dialect.ts';
import { GroupCommit } from './sqlite/group-commit.ts';

/** Runs `fn` in a transaction of the store (on SQLite, possibly sharing its commit: see GroupCommit). */
type Transact = <T>(fn: (trx: Transaction<Database>) => Promise<T>) => Promise<T>;

export interface StoreOptions {
  /** `postgres://…` selects PostgreSQL; otherwise `sqlitePath` is used. */
  databaseUrl?: string;
  sqlitePath?: string;
  sqliteSynchronous?: 'full' | 'normal';
  /**
   * `create` (the default; init and tests) may create the SQLite file; `write` opens an existing
   * store; `read` opens it read-only (SQLite read-only, PostgreSQL sessions read-only), so a
   * read command can never create or change a store.
   */
  access?: 'create' | 'write' | 'read';
  runtime: Runtime;
  /** Null only for read-only tools (verify/export); a writer without a signer makes no checkpoints. */
  signer: CheckpointSigner | null;
  checkpointEvery?: number;
  maxConnections?: number;
  /** PostgreSQL: told of each connection a restart or the network ended (logged; the pool reconnects). */
  onConnectionError?: (err: Error) => void;
}

/** The data of one tenant. Nothing here can read or write another tenant's rows (invariant 18). */
export class TenantScope {
  readonly plans: PlansRepo;
  readonly directory: DirectoryRepo;
  readonly approvals: ApprovalsRepo;
  readonly executions: ExecutionsRepo;
  readonly grants: GrantsRepo;
  readonly freezes: FreezesRepo;
  readonly overrides: OverridesRepo;
  /**
   * The installation-wide trust store of tool publisher keys (not per tenant: see TrustRepo).
   * Reached through a scope so a trust change commits with its audit entry.
   */
  readonly installationTrust: TrustRepo;
  /** alerts: delivery ids, alert groups, alert plans' origin, model usage. */
  readonly alerts: AlertsRepo;
  /** The outbox: notification events written in the transaction of the change they report. */
  readonly notifications: NotificationsRepo;
  readonly chat: ChatRepo;
  /** Witnessed audit checkpoints (installation-wide): a high-risk grant waits for one. */
  readonly witnessed: WitnessedRepo;
  // ---- previews (issue 17) ----
  readonly previews: PreviewJobsRepo;

  constructor(
    private readonly db: Kysely<Database>,
    readonly tenantId: string,
    private readonly auditOptions: AuditWriterOptions,
    /** Null inside a transaction; otherwise how this scope starts one for an audit entry. */
    private readonly transact: Transact | null,
  ) {
    if (!tenantId) throw new CountersignError('INTERNAL', 'a tenant scope needs a tenant id');
    this.plans = new PlansRepo(db, tenantId, auditOptions.engine);
    this.directory = new DirectoryRepo(db, tenantId, auditOptions.engine);
    this.approvals = new ApprovalsRepo(db, tenantId);
    this.executions = new ExecutionsRepo(db, tenantId, auditOptions.redaction);
    this.grants = new GrantsRepo(db, tenantId);
    this.freezes = new FreezesRepo(db, tenantId);
    this.overrides = new OverridesRepo(db, tenantId);
    this.installationTrust = new TrustRepo(db, auditOptions.engine);
    this.alerts = new AlertsRepo(db, tenantId);
    this.notifications = new NotificationsRepo(db, tenantId, auditOptions.engine);
    this.chat = new ChatRepo(db, tenantId);
    this.witnessed = new WitnessedRepo(db);
    this.previews = new PreviewJobsRepo(db, tenantId);
  }

  /** Appends an audit entry for this tenant, in the current transaction when there is one. */
  async audit(event: Omit<AuditEvent, 'tenantId'>): Promise<AuditRecord> {
    const full = { ...event, tenantId: this.tenantId };
    const started = performance.now();
    try {
      const record =
        this.transact === null
          ? await appendAudit(this.db, this.auditOptions, full)
          : (this.auditOptions.immediate?.(full) ?? (await this.transact((trx) => appendAudit(trx, this.auditOptions, full))));
      this.auditOptions.observeAppend?.((performance.now() - started) / 1000);
      return record;
    } catch (err) {
      throw new CountersignError('AUDIT_WRITE_FAILED', 'the audit entry could not be written, so the action was not taken', { cause: err });
    }
  }

  /** This tenant's audit entries after `afterSeq`, ascending. */
  async listAudit(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(rowToRecord);
  }

  /** This tenant's audit entries matching every given filter, newest first (the console's explorer). */
  async searchAudit(f: AuditSearch): Promise<AuditRecord[]> {
    let q = this.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', this.tenantId);
    if (f.actor) q = q.where('actor', '=', f.actor);
    if (f.action) q = q.where('action', '=', f.action);
    if (f.resource) q = q.where('resource', '=', f.resource);
    if (f.outcome) q = q.where('outcome', '=', f.outcome);
    if (f.since) q = q.where('ts', '>=', f.since);
    if (f.until) q = q.where('ts', '<=', f.until);
    if (f.before) q = q.where('seq', '<', f.before);
    const rows = await q.orderBy('seq', 'desc').limit(f.limit).execute();
    return rows.map(rowToRecord);
  }
}

/** Filters of the audit explorer; absent filters match everything. */
export interface AuditSearch {
  actor?: string;
  action?: string;
  resource?: string;
  outcome?: string;
  since?: string;
  until?: string;
  /** Entries before this sequence number (the next page). */
  before?: number;
  limit: number;
}

type KeyWithPrincipalRow = Database['api_keys'] & {
  p_tenant_id: string;
  p_id: string;
  p_name: string;
  p_kind: 'human' | 'agent';
  p_groups: string;
  p_disabled: number;
  p_created_at: string;
};

/** An API key with its principal (same tenant): a key whose principal is gone finds nothing. */
const API_KEY_WITH_PRINCIPAL = new Precompiled<{ id: string }>(
  (db, param) =>
    db
      .selectFrom('api_keys as k')
      .innerJoin('principals as p', (join) => join.onRef('p.tenant_id', '=', 'k.tenant_id').onRef('p.id', '=', 'k.principal_id'))
      // Named, not `k.*`: the statement is prepared on PostgreSQL (see Precompiled).
      .select(['k.id', 'k.tenant_id', 'k.principal_id', 'k.secret_hash', 'k.description', 'k.created_at', 'k.last_used_at', 'k.revoked_at'])
      .select([
        'p.tenant_id as p_tenant_id',
        'p.id as p_id',
        'p.name as p_name',
        'p.kind as p_kind',
        'p.groups as p_groups',
        'p.disabled as p_disabled',
        'p.created_at as p_created_at',
      ])
      .where('k.id', '=', param<string>('id')),
  { prepared: true },
);

/**
 * The default report of a lost PostgreSQL connection: one stderr line per distinct message and
 * second at most, so a restart that ends ten pooled connections says so once.
 */
function connectionErrorLogger(): (err: Error) => void {
  let last = '';
  let at = 0;
  return (err) => {
    const now = Date.now();
    if (err.message === last && now - at < 1_000) return;
    last = err.message;
    at = now;
    process.stderr.write(`database connection lost: ${err.message} (the pool reconnects on next use)\n`);
  };
}

export class Store {
  readonly engine: 'sqlite' | 'postgres';
  readonly #db: Kysely<Database>;
  readonly #transact: Transact;
  readonly #group: GroupCommit<Database> | null;
  readonly #auditOptions: AuditWriterOptions;
  readonly #runtime: Runtime;
  /** The SQLite file, for reader threads of their own; null on PostgreSQL. */
  readonly #sqlitePath: string | null;
  /**
   * Secret values this process has resolved (the executor adds each step's): audit details,
   * step output and events written through this store are redacted of them (invariant 12).
   */
  readonly knownSecrets = new KnownSecrets();
  /** Reviewer console sessions, sign-ins and security keys (issue 13). */
  readonly console: ConsoleRepo;
  readonly witnessed: WitnessedRepo;

  /** @param connection SQLite: the store's one connection, for entries appended at once (appendAuditNow). */
  private constructor(engine: 'sqlite' | 'postgres', db: Kysely<Database>, options: StoreOptions, connection?: BetterSqlite3.Database) {
    this.engine = engine;
    this.#db = db;
    this.#sqlitePath = engine === 'sqlite' ? (options.sqlitePath ?? null) : null;
    // SQLite: one connection, so transactions queue anyway; those queued share a commit.
    const group = engine === 'sqlite' ? new GroupCommit(db) : null;
    this.#group = group;
    this.#transact = group ? (fn) => group.run(fn) : (fn) => db.transaction().execute(fn);
    this.#runtime = options.runtime;
    this.console = new ConsoleRepo(db);
    this.witnessed = new WitnessedRepo(db);
    this.#auditOptions = {
      signer: options.signer,
      checkpointEvery: options.checkpointEvery ?? 100,
      engine,
      runtime: options.runtime,
      redaction: this.knownSecrets,
    };
    if (group && connection) {
      // Only while no transaction of the group runs or waits: those queued first commit first.
      const options_ = this.#auditOptions;
      options_.immediate = (event) => {
        const record = group.idle ? appendAuditNow(connection, options_, event) : null;
        if (record !== null) group.countCommittedAlone();
        return record;
      };
    }
  }

  static async open(options: StoreOptions): Promise<Store> {
    const url = options.databaseUrl;
    if (url && /^postgres(ql)?:\/\//.test(url)) {
      const { dialect } = createPostgresDialect({
        url,
        maxConnections: options.maxConnections,
        readOnly: options.access === 'read',
        onConnectionError: options.onConnectionError ?? connectionErrorLogger(),
      });
      const store = new Store('postgres', new Kysely<Database>({ dialect }), options);
      await store.ping();
      return store;
    }
    if (url)
      throw new CountersignError(
        'CONFIG_INVALID',
        'the database URL must start with postgres:// (leave it unset for the embedded SQLite store)',
      );
    if (!options.sqlitePath) throw new CountersignError('CONFIG_INVALID', 'no database configured');
    const access = options.access ?? 'create';
    const { dialect, connection } = createSqliteDialect({
      path: options.sqlitePath,
      synchronous: options.sqliteSynchronous,
      readOnly: access === 'read',
      mustExist: access !== 'create',
    });
    return new Store('sqlite', new Kysely<Database>({ dialect }), options, access === 'read' ? undefined : connection);
  }

  /** One round trip; fails (STORE_UNAVAILABLE) when the database does not answer within `timeoutMs`. */
  async ping(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#db.selectNoFrom((eb) => eb.lit(1).as('one')).execute(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      throw new CountersignError('STORE_UNAVAILABLE', `the database is unreachable: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Which of this release's migrations the database has not run (`pending`), and which migrations
   * it has run that this release does not know (`newer`: a later release migrated it).
   */
  async migrationState(): Promise<{ pending: string[]; newer: string[] }> {
    const known = Object.keys(await migrationProvider.getMigrations());
    const exists =
      this.engine === 'postgres'
        ? sql<{ t: string | null }>`select to_regclass('kysely_migration')::text as t`
        : sql<{ t: string | null }>`select name as t from sqlite_master where type = 'table' and name = 'kysely_migration'`;
    if (!(await exists.execute(this.#db)).rows[0]?.t) return { pending: known, newer: [] };
    const ran = new Set((await sql<{ name: string }>`select name from kysely_migration`.execute(this.#db)).rows.map((r) => r.name));
    return { pending: known.filter((n) => !ran.has(n)), newer: [...ran].filter((n) => !known.includes(n)).sort() };
  }

  /**
   * Runs pending migrations; the Migrator takes a lock so concurrent replicas do not race.
   * Migrations stay compatible one release back (docs/operations.md), so a replica of the previous
   * release, started against a schema a newer replica already migrated, runs on it unchanged
   * instead of refusing: replicas upgrade one at a time.
   */
  async migrate(): Promise<string[]> {
    const state = await this.migrationState();
    if (state.newer.length > 0) {
      if (state.pending.length === 0) return [];
      throw new CountersignError(
        'STORE_UNAVAILABLE',
        `the database has migrations this release does not know (${state.newer.join(', ')}) and lacks some it needs (${state.pending.join(', ')}); run a release that has both`,
      );
    }
    const migrator = new Migrator({ db: this.#db, provider: migrationProvider });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw new CountersignError('STORE_UNAVAILABLE', `database migration failed: ${(error as Error).message}`, { cause: error });
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  /** The installation init recorded in this store; null when it holds none (not ours, or made before ids). */
  async installation(): Promise<{ id: string; engine: string } | null> {
    const exists =
      this.engine === 'postgres'
        ? sql<{ t: string | null }>`select to_regclass('installation')::text as t`
        : sql<{ t: string | null }>`select name as t from sqlite_master where type = 'table' and name = 'installation'`;
    const found = (await exists.execute(this.#db)).rows[0]?.t;
    if (!found) return null;
    const row = await this.#db.selectFrom('installation').select(['id', 'engine']).executeTakeFirst();
    return row ?? null;
  }

  /** Writes the installation id once (init, after migrating); a second id is refused by the singleton key. */
  async recordInstallation(id: string): Promise<void> {
    await this.#db
      .insertInto('installation')
      .values({ singleton: 1, id, engine: this.engine, created_at: this.#runtime.now().toISOString() })
      .execute();
  }

  /** The notification dispatcher serves every tenant: its queue is the one place it crosses them. */
  get notificationQueue(): NotificationQueue {
    return new NotificationQueue(this.#db);
  }

  /** Chat callbacks name their tenant only through a one-time code or a message they answer. */
  get chatLookup(): ChatLookup {
    return new ChatLookup(this.#db);
  }

  // ---- previews (issue 17) ----
  /** Executors claim preview jobs across tenants; the API finds the ready ones. */
  get previewQueue(): PreviewQueue {
    return new PreviewQueue(this.#db, this.engine);
  }

  scope(tenantId: string): TenantScope {
    return new TenantScope(this.#db, tenantId, this.#auditOptions, this.#transact);
  }

  /** SQLite: a reader of the transactions committed and the commits that carried them (metrics); null on PostgreSQL. */
  groupCommitCounts(): (() => { transactions: number; commits: number }) | null {
    const group = this.#group;
    return group === null ? null : () => ({ transactions: group.transactions, commits: group.commits });
  }

  /** One transaction bound to one tenant: every change and its audit entry commit together. */
  async transaction<T>(tenantId: string, fn: (scope: TenantScope) => Promise<T>): Promise<T> {
    // observability: a span under the operation's when tracing is on (src/telemetry).
    return inLeafSpan('store.transaction', { 'db.system.name': this.engine === 'postgres' ? 'postgresql' : 'sqlite' }, () =>
      this.#transact((trx) => fn(new TenantScope(trx, tenantId, this.#auditOptions, null))),
    );
  }

  // ---- cross-tenant operations, each named for why it may cross ----

  async createTenant(id: string, name: string): Promise<void> {
    await this.#db.insertInto('tenants').values({ id, name, created_at: this.#runtime.now().toISOString() }).execute();
  }

  /** Background sweeps (plan expiry) visit every tenant, each then through its own scope. */
  async listTenantIdsForSweeps(): Promise<string[]> {
    return (await this.#db.selectFrom('tenants').select('id').orderBy('id').execute()).map((r) => r.id);
  }

  async findTenantByName(name: string): Promise<{ id: string; name: string } | undefined> {
    return this.#db.selectFrom('tenants').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
  }

  /** Authentication must find a key before the tenant is known; the key row names its tenant. */
  async findApiKeyForAuthentication(keyId: string): Promise<{ key: ApiKeyRecord; principal: PrincipalRecord } | undefined> {
    // One statement, compiled once: every API request starts here.
    const r = (await API_KEY_WITH_PRINCIPAL.run<KeyWithPrincipalRow>(this.#db, this.engine, { id: keyId })).rows[0];
    if (!r) return undefined;
    const key = toApiKey({
      id: r.id,
      tenant_id: r.tenant_id,
      principal_id: r.principal_id,
      secret_hash: r.secret_hash,
      description: r.description,
      created_at: r.created_at,
      last_used_at: r.last_used_at,
      revoked_at: r.revoked_at,
    });
    const principal = toPrincipal({
      tenant_id: r.p_tenant_id,
      id: r.p_id,
      name: r.p_name,
      kind: r.p_kind,
      groups: r.p_groups,
      disabled: r.p_disabled,
      created_at: r.p_created_at,
    });
    return { key, principal };
  }

  async touchApiKey(keyId: string, at: string): Promise<void> {
    await this.#db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', keyId).execute();
  }

  /** The whole chain, for `audit verify` and `audit export` (operator tools on the data directory). */
  iterateAuditForVerification(): AsyncGenerator<AuditRecord> {
    return iterateAudit(this.#db, this.engine);
  }

  /**
   * The whole chain in pages of entries, for verifyAuditChain (no per-entry await). On SQLite an
   * entry is the text its hash covers, written out by the database (its fields are not read).
   */
  auditPagesForVerification(pageSize = AUDIT_PAGE_SIZE): AsyncGenerator<(AuditRecord | AuditHashInput)[]> {
    return iterateAuditVerificationPages(this.#db, this.engine, pageSize);
  }

  /**
   * The whole chain for verifyAuditChain, in segments walked at once. A long SQLite chain is cut
   * into one segment per core, each read by a thread of its own (sqlite/audit-readers.ts); else
   * the chain is one segment, auditPagesForVerification's pages. The head only sizes the cut: the
   * last segment reaches every entry after the others, whatever the head says.
   */
  async auditVerificationSegments(options: SegmentOptions & { pageSize?: number } = {}): Promise<AuditSegment[]> {
    const pageSize = options.pageSize ?? AUDIT_PAGE_SIZE;
    const path = this.#sqlitePath;
    if (path !== null && path !== ':memory:') {
      const head = await this.auditHead();
      const bounds = head ? auditSegmentBounds(head.seq, options) : null;
      if (bounds) return auditSegmentsInThreads(path, bounds, pageSize, options.readerModule);
    }
    return [{ after: 0, until: null, entries: this.auditPagesForVerification(pageSize) }];
  }

  /** The chain after `seq`, in order: the audit tree extends itself with it. */
  iterateAuditAfter(seq: number): AsyncGenerator<AuditRecord> {
    return iterateAudit(this.#db, this.engine, AUDIT_PAGE_SIZE, seq);
  }

  async listAuditCheckpoints(): Promise<Checkpoint[]> {
    return listCheckpoints(this.#db);
  }

  async auditHead(): Promise<{ seq: number; hash: string } | null> {
    const r = await this.#db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
    return r ? { seq: Number(r.seq), hash: r.hash } : null;
  }

  /** Signs the current head; called on shutdown so a truncated tail shows. */
  async checkpoint(): Promise<Checkpoint | null> {
    return this.#db.transaction().execute((trx) => checkpointHead(trx, this.#auditOptions));
  }

  /**
   * Executors serve every tenant: claiming work is the one query that looks across tenants. It
   * takes the oldest queued execution, or a running one whose lease expired (its worker died),
   * and leases it to `owner`. PostgreSQL: FOR UPDATE SKIP LOCKED so workers never block or
   * double-claim; SQLite: the BEGIN IMMEDIATE transaction holds the write lock.
   */
  async claimExecutionForExecutor(owner: string, leaseMs: number): Promise<ExecutionRecord | undefined> {
    const now = this.#runtime.now();
    const nowIso = now.toISOString();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    return this.#db.transaction().execute(async (trx) => {
      let q = trx
        .selectFrom('executions')
        .select('id')
        .where((eb) => eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('lease_expires_at', '<', nowIso)])]))
        .orderBy('created_at')
        .limit(1);
      if (this.engine === 'postgres') q = q.forUpdate().skipLocked();
      const next = await q.executeTakeFirst();
      if (!next) return undefined;
      const row = await trx
        .updateTable('executions')
        .set((eb) => ({
          status: 'running',
          lease_owner: owner,
          lease_expires_at: until,
          attempt: eb('attempt', '+', 1),
          started_at: eb.fn.coalesce('started_at', eb.val(nowIso)),
        }))
        .where('id', '=', next.id)
        .returningAll()
        .executeTakeFirst();
      return row ? toExecution(row) : undefined;
    });
  }

  /** Extends a lease the owner still holds; false means the lease was lost (stop working). */
  async renewExecutionLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const until = new Date(this.#runtime.now().getTime() + leaseMs).toISOString();
    const res = await this.#db
      .updateTable('executions')
      .set({ lease_expires_at: until })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  // ---- scale-out: metrics and live notifications ----

  /** Reports each audit append's duration (seconds) to `observe`: the metrics of this process. */
  observeAuditAppends(observe: (seconds: number) => void): void {
    this.#auditOptions.observeAppend = observe;
  }

  /**
   * Metrics count plans and executions by status across tenants: counts only, no row or tenant
   * id leaves the database.
   */
  async countByStatusForMetrics(): Promise<{ plans: { status: string; n: number }[]; executions: { status: string; n: number }[] }> {
    const count = (table: 'plans' | 'executions') =>
      this.#db
        .selectFrom(table)
        .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
        .groupBy('status')
        .execute();
    const [plans, executions] = await Promise.all([count('plans'), count('executions')]);
    const numeric = (rows: { status: string; n: number | string | bigint }[]) => rows.map((r) => ({ status: r.status, n: Number(r.n) }));
    return { plans: numeric(plans), executions: numeric(executions) };
  }

  // ---- replicas ----

  /** `countersign tenant list` (host operator): every tenant, by name. */
  async listTenantsForOperator(): Promise<{ id: string; name: string; createdAt: string }[]> {
    const rows = await this.#db.selectFrom('tenants').select(['id', 'name', 'created_at']).orderBy('name').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  /** Request budgets count before a tenant is known (addresses, principals, webhook sources). */
  get budgetCounters(): BudgetCounters {
    return new BudgetCounters(this.#db);
  }

  /** For tests and operator tooling that must touch rows directly (tamper tests). Never used by services. */
  get kyselyForOperatorTooling(): Kysely<Database> {
    return this.#db;
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }
}
