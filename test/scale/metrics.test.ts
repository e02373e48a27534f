// /metrics speaks the Prometheus text format (checked by the Prometheus project's own parser),
// follows its naming rules, counts what the issue asks for, and serves only those allowed to
// scrape: loopback peers, or holders of the metrics token — never a remote peer, never through a
// trusted proxy without a token, never a wrong token. One server per engine.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { buildApi } from '../../src/api/app.ts';
import { loadConfig } from '../../src/config/index.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/executor.ts';
import { loadScrapeAccess } from '../../src/metrics/index.ts';
import { openServerContext } from '../../src/server/context.ts';
import { PLAN_STATUSES } from '../../src/store/index.ts';
import { ENGINES } from '../support/engines.ts';
import { queueExecution, removeWorkRoot, waitForExecution } from '../support/execution.ts';
import { addPrincipal } from '../support/principals.ts';
import { freePort } from '../support/private-postgres.ts';
import { type Family, parsePrometheusText, sampleValue } from '../support/prometheus.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { writeTestTools } from '../support/tools.ts';

/**
 * Bounded label names: none of them can carry an id or free text. `channel` and `model` carry
 * names from the operator's own config (notification channels, alerts.models): a set fixed at start.
 */
const BOUNDED_LABELS = new Set(['action', 'outcome', 'status', 'code', 'process', 'le', 'quantile', 'channel', 'model', 'role', 'reason']);

/** The Prometheus naming rules this project follows, checked on parsed families. */
function namingProblems(families: Family[]): string[] {
  const problems: string[] = [];
  for (const f of families.filter((x) => x.name.startsWith('countersign_'))) {
    if (!/^[a-z_][a-z0-9_]*$/.test(f.name)) problems.push(`${f.name}: not snake_case`);
    if (f.type === 'counter' && !f.samples.every((s) => s.name.endsWith('_total') || s.name.endsWith('_created')))
      problems.push(`${f.name}: a counter's samples must end in _total`);
    if (f.type !== 'counter' && f.name.endsWith('_total')) problems.push(`${f.name}: only counters end in _total`);
    if (f.type === 'histogram' && !f.name.endsWith('_seconds'))
      problems.push(`${f.name}: a duration histogram is in base units (_seconds)`);
    if (/_(ms|milliseconds|minutes)($|_)/.test(f.name)) problems.push(`${f.name}: not in base units`);
    if (!f.help) problems.push(`${f.name}: no help text`);
    for (const s of f.samples)
      for (const l of Object.keys(s.labels)) if (!BOUNDED_LABELS.has(l)) problems.push(`${f.name}: unbounded label ${l}`);
  }
  return problems;
}

/** A GET with full control of the source address and headers (fetch cannot bind a local address). */
function get(
  url: string,
  options: { localAddress?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress: options.localAddress, headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An address of this host that is not loopback, to be a remote peer from (none: that case is skipped). */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

function setConfig(dir: string, path: string[], value: unknown): void {
  const file = join(dir, 'countersign.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(path, value);
  writeFileSync(file, doc.toString());
}

for (const engine of ENGINES) {
  describe(`/metrics on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    let exe: RunningExecutor | undefined;
    before(async () => {
      s = await startTestServer(engine, { configure: (dir) => writeTestTools(dir) });
    });
    after(async () => {
      await exe?.stop();
      if (s) removeWorkRoot(s.dir);
      await s?.close();
    });

    test('a loopback scrape parses as Prometheus text and counts decisions, plans, approvals and audit appends', async () => {
      const agent = await addPrincipal(s, 'metrics-agent', 'agent', []);
      const plan = await s.request('POST', '/v1/plans', {
        body: { intent: 'metrics', environment: 'dev', steps: [{ tool: 'sleep', action: 'wait', input: { seconds: 0 } }] },
      });
      assert.equal(plan.status, 201, JSON.stringify(plan.body));
      const denied = await s.request('POST', '/v1/principals', { key: agent.key, body: { name: 'nope', kind: 'agent', groups: [] } });
      assert.equal(denied.status, 403);

      const res = await get(`${s.url}/metrics`);
      assert.equal(res.status, 200, res.body);
      assert.match(res.type, /^text\/plain; version=0\.0\.4/);
      const families = await parsePrometheusText(res.body);
      assert.deepEqual(namingProblems(families), []);
      assert.ok((sampleValue(families, 'countersign_decisions_total', { action: 'plan.propose', outcome: 'allow' }) ?? 0) >= 1);
      assert.ok((sampleValue(families, 'countersign_decisions_total', { action: 'principal.create', outcome: 'deny' }) ?? 0) >= 1);
      for (const status of PLAN_STATUSES) assert.notEqual(sampleValue(families, 'countersign_plans', { status }), undefined, status);
      assert.ok((sampleValue(families, 'countersign_plans', { status: 'approved' }) ?? 0) >= 1);
      assert.equal(
        sampleValue(families, 'countersign_approvals_pending'),
        sampleValue(families, 'countersign_plans', { status: 'pending_approval' }),
      );
      assert.equal(sampleValue(families, 'countersign_store_up'), 1);
      assert.ok((sampleValue(families, 'countersign_audit_append_seconds_count') ?? 0) >= 2, 'audit appends are timed');
      const transactions = sampleValue(families, 'countersign_sqlite_transactions_total');
      const commits = sampleValue(families, 'countersign_sqlite_commits_total');
      if (engine.name === 'sqlite') {
        assert.ok((transactions ?? 0) >= 2 && (commits ?? 0) >= 1 && (commits ?? 0) <= (transactions ?? 0), `${commits} / ${transactions}`);
      } else {
        assert.equal(transactions, undefined, 'PostgreSQL reports no SQLite commits');
      }
      assert.equal(sampleValue(families, 'countersign_executions', { status: 'queued' }), 0);
    });

    test('a remote peer is refused, whatever X-Forwarded-For claims', {
      skip: outsideAddress ? false : 'no non-loopback address on this host',
    }, async () => {
      const app = await buildApi(s.ctx, {
        bodyLimitBytes: 65536,
        trustProxy: false,
        rateLimit: { ...s.ctx.config.rateLimit, enabled: false },
        version: 't',
        logger: false,
      });
      try {
        const url = await app.listen({ host: '0.0.0.0', port: 0 });
        const port = new URL(url).port;
        const remote = await get(`http://${outsideAddress}:${port}/metrics`, {
          localAddress: outsideAddress,
          headers: { 'x-forwarded-for': '127.0.0.1' },
        });
        assert.equal(remote.status, 403, remote.body);
        assert.doesNotMatch(remote.body, /countersign_/);
      } finally {
        await app.close();
      }
    });

    // The rest does not depend on the engine: SQLite only.
    const onSqlite = (name: string, fn: () => Promise<void>) => {
      if (engine.name === 'sqlite') test(name, fn);
    };

    onSqlite('with a token, a scrape without it or with a wrong one is refused, even from loopback; the token scrapes', async () => {
      const token = 'm'.repeat(40);
      const app = await buildApi(
        { ...s.ctx, scrapeAccess: { token, behindProxy: false } },
        { bodyLimitBytes: 65536, trustProxy: false, rateLimit: { ...s.ctx.config.rateLimit, enabled: false }, version: 't', logger: false },
      );
      try {
        const url = await app.listen({ host: '127.0.0.1', port: 0 });
        assert.equal((await get(`${url}/metrics`)).status, 401);
        assert.equal((await get(`${url}/metrics`, { headers: { authorization: `Bearer ${'m'.repeat(39)}x` } })).status, 401);
        assert.equal(
          (await get(`${url}/metrics`, { headers: { authorization: `Bearer ${s.init.adminKey}` } })).status,
          401,
          'an API key is not the metrics token',
        );
        const ok = await get(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(ok.status, 200);
        await parsePrometheusText(ok.body);
      } finally {
        await app.close();
      }
    });

    onSqlite('behind a trusted proxy without a token, even loopback is refused', async () => {
      const app = await buildApi(
        { ...s.ctx, scrapeAccess: { token: null, behindProxy: true } },
        { bodyLimitBytes: 65536, trustProxy: true, rateLimit: { ...s.ctx.config.rateLimit, enabled: false }, version: 't', logger: false },
      );
      try {
        const url = await app.listen({ host: '127.0.0.1', port: 0 });
        assert.equal((await get(`${url}/metrics`)).status, 403);
      } finally {
        await app.close();
      }
    });

    onSqlite('a token file that is missing or short stops the start; a good one is read', async () => {
      setConfig(s.dir, ['metrics', 'bearerTokenFile'], 'absent.token');
      await assert.rejects(openServerContext(s.dir), (err: any) => err.code === 'CONFIG_INVALID' && /absent\.token/.test(err.message));
      writeFileSync(join(s.dir, 'short.token'), 'short');
      setConfig(s.dir, ['metrics', 'bearerTokenFile'], 'short.token');
      await assert.rejects(openServerContext(s.dir), (err: any) => err.code === 'CONFIG_INVALID' && /at least 32/.test(err.message));
      writeFileSync(join(s.dir, 'good.token'), `${'g'.repeat(40)}\n`, { mode: 0o600 });
      setConfig(s.dir, ['metrics', 'bearerTokenFile'], 'good.token');
      assert.deepEqual(loadScrapeAccess(loadConfig(s.dir, {}), s.dir), { token: 'g'.repeat(40), behindProxy: false });
      setConfig(s.dir, ['metrics', 'bearerTokenFile'], '');
    });

    onSqlite('an executor times steps and counts refusals by code on its own listener', async () => {
      // Queued while no executor runs, then frozen: the executor refuses its step (FROZEN).
      const refused = await queueExecution(s, [{ tool: 'sleep', action: 'wait', input: { seconds: 0 } }]);
      assert.equal((await s.request('POST', '/v1/freeze', { body: { environment: 'dev', reason: 'metrics test' } })).status, 200);
      const port = await freePort();
      exe = await startExecutor(s.dir, { store: s.ctx.store, metricsPort: port, log: () => {} });
      assert.equal((await waitForExecution(s, refused.executionId)).status, 'failed');
      assert.equal((await s.request('POST', '/v1/unfreeze', { body: { environment: 'dev' } })).status, 200);
      const ran = await queueExecution(s, [{ tool: 'sleep', action: 'wait', input: { seconds: 0 } }]);
      assert.equal((await waitForExecution(s, ran.executionId)).status, 'succeeded');

      const res = await get(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200, res.body);
      const families = await parsePrometheusText(res.body);
      assert.deepEqual(namingProblems(families), []);
      assert.equal(sampleValue(families, 'countersign_sandbox_refusals_total', { code: 'FROZEN', process: 'executor' }), 1);
      assert.equal(sampleValue(families, 'countersign_step_duration_seconds_count', { outcome: 'succeeded' }), 1);
      assert.equal((await get(`http://127.0.0.1:${port}/other`)).status, 404);
    });
  });
}
