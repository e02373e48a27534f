import type { PipelineObserver } from '../operations/index.ts';
import { EXECUTION_STATUSES, PLAN_STATUSES, type Store } from '../store/index.ts';
import type { Metrics } from './instruments.ts';

/** Counts the pipeline's decisions by action and outcome. */
export function decisionCounter(metrics: Metrics): Pick<PipelineObserver, 'decision'> {
  return { decision: (action, allowed) => metrics.decisions.inc({ action, outcome: allowed ? 'allow' : 'deny' }) };
}

/**
 * The API process's view of the store: audit append latency as it happens, and the counts that
 * live in the database (plans and executions by status, approvals pending) read at scrape time,
 * so every replica reports the same figures. A status the code does not know is not reported
 * (labels stay a fixed set).
 */
export function instrumentStore(metrics: Metrics, store: Store): void {
  store.observeAuditAppends((s) => metrics.auditAppendSeconds.observe(s));
  const grouped = store.groupCommitCounts();
  if (grouped !== null) {
    // SQLite's group commit at work: transactions per commit above 1 under concurrent writes.
    metrics.counterFromSource(
      'countersign_sqlite_transactions_total',
      'SQLite transactions this process committed.',
      () => grouped().transactions,
    );
    metrics.counterFromSource(
      'countersign_sqlite_commits_total',
      'SQLite commits this process made; transactions queued behind a running one share its commit.',
      () => grouped().commits,
    );
  }
  let counts: Promise<Awaited<ReturnType<Store['countByStatusForMetrics']>>> | null = null;
  // One query for the three gauges of a scrape.
  const read = () => {
    counts ??= store.countByStatusForMetrics().finally(() => {
      setImmediate(() => {
        counts = null;
      });
    });
    return counts;
  };
  // A scrape during a database outage still answers: the database's gauges are left out and
  // countersign_store_up says why.
  const up = { ok: true };
  metrics.gaugeFromStore('countersign_store_up', 'Whether the database answered the last scrape (1) or not (0).', [], async (set) => {
    try {
      await read();
      up.ok = true;
    } catch {
      up.ok = false;
    }
    set({}, up.ok ? 1 : 0);
  });
  const byStatus = (rows: { status: string; n: number }[], known: readonly string[]) =>
    known.map((status) => ({ status, n: rows.find((r) => r.status === status)?.n ?? 0 }));
  metrics.gaugeFromStore('countersign_plans', 'Plans by status, all tenants.', ['status'], async (set) => {
    if (!up.ok) return;
    for (const { status, n } of byStatus((await read()).plans, PLAN_STATUSES)) set({ status }, n);
  });
  metrics.gaugeFromStore('countersign_executions', 'Executions by status, all tenants.', ['status'], async (set) => {
    if (!up.ok) return;
    for (const { status, n } of byStatus((await read()).executions, EXECUTION_STATUSES)) set({ status }, n);
  });
  metrics.gaugeFromStore(
    'countersign_approvals_pending',
    'Plans waiting for reviews (status pending_approval), all tenants.',
    [],
    async (set) => {
      if (!up.ok) return;
      set({}, (await read()).plans.find((r) => r.status === 'pending_approval')?.n ?? 0);
    },
  );
}
