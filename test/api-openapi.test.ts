// Issue 12 item 7: the served OpenAPI document describes every operation's real answers — its
// success status and body, and its errors with their codes — and a walk-through of the whole API
// (through the typed client and raw requests) answers nothing the document does not declare.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { codesForStatus } from '../src/api/schema.ts';
import { CountersignClient } from '../src/client/index.ts';
import { type RunningExecutor, startExecutor } from '../src/executor/executor.ts';
import { amPayload, configureAlerts, crashLabels, restartPlaybook, SECRETS } from './support/alerts.ts';
import { ENGINES } from './support/engines.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';
import { writeTestTools } from './support/tools.ts';

type Operation = { responses: Record<string, { content?: Record<string, { schema?: unknown }> }>; security?: unknown[] };
type OpenApi = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** One answer seen on the wire. `body` is absent for streams and empty answers. */
interface Seen {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body?: unknown;
}

const PRIVATE_ERRORS = [400, 401, 403, 404, 429, 500, 503];
const BODY_ERRORS = [409, 413, 415];

/** The documented operation a concrete request path names: `{param}` matches one segment. */
function operationOf(doc: OpenApi, method: string, path: string): { template: string; op: Operation } | undefined {
  for (const [template, ops] of Object.entries(doc.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const op = ops[method.toLowerCase()];
    if (re.test(path) && op) return { template, op };
  }
  return undefined;
}

describe('OpenAPI answers', () => {
  let s: TestServer;
  let exe: RunningExecutor;
  let doc: OpenApi;
  const seen: Seen[] = [];

  /** fetch that records every answer (a clone is read, so callers read the original). */
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const contentType = res.headers.get('content-type') ?? '';
    const entry: Seen = { method: init?.method ?? 'GET', path: url.pathname, status: res.status, contentType };
    if (!contentType.includes('text/event-stream')) {
      const text = await res.clone().text();
      if (text) entry.body = JSON.parse(text);
    }
    seen.push(entry);
    return res;
  };
  const raw = async (
    method: string,
    path: string,
    options: { key?: string | null; body?: string; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const key = options.key === undefined ? s.init.adminKey : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    if (options.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await recordingFetch(`${s.url}${path}`, { method, headers, body: options.body });
    const text = await res.text();
    return { status: res.status, body: text && !res.headers.get('content-type')?.includes('event-stream') ? JSON.parse(text) : text };
  };

  before(async () => {
    s = await startTestServer(ENGINES[0]!, {
      env: { ...process.env, ...SECRETS },
      configure: (dir) => {
        writeTestTools(dir);
        // alerts: a webhook source and a playbook, for the webhook and plan-origin routes
        configureAlerts(dir, null, { 'restart.yaml': restartPlaybook('restart', 'KubePodCrashLooping') }, { approvalRules: false });
      },
      bodyLimitBytes: 64 * 1024,
    });
    exe = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
    doc = (await s.request('GET', '/docs/json', { key: null })).body;
  });
  after(async () => {
    await exe?.stop();
    await s?.close();
  });

  test('the document is OpenAPI 3.1 and every operation declares a 2xx answer with a schema', () => {
    assert.equal(doc.openapi, '3.1.0');
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const ok = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
        if (!ok.some(([, r]) => Object.values(r.content ?? {}).some((c) => c.schema))) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('every operation declares its error answers, each with the codes of its status', () => {
    const problems: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        const expected = isPublic ? [500] : [...PRIVATE_ERRORS, ...(method === 'get' ? [] : BODY_ERRORS)];
        for (const status of expected) {
          const schema = op.responses[String(status)]?.content?.['application/json']?.schema as any;
          const errorSchema = schema?.anyOf?.[0] ?? schema;
          const codes = errorSchema?.properties?.error?.properties?.code?.enum;
          if (!Array.isArray(codes)) problems.push(`${method.toUpperCase()} ${path} does not document ${status}`);
          else assert.deepEqual(codes, codesForStatus(status), `${method.toUpperCase()} ${path} ${status}`);
        }
      }
    }
    assert.deepEqual(problems, []);
    // The statuses an API caller meets most carry the codes they branch on.
    assert.ok(codesForStatus(400).includes('VALIDATION_FAILED'));
    assert.ok(codesForStatus(403).includes('POLICY_DENIED'));
    assert.ok(codesForStatus(409).includes('PLAN_HASH_MISMATCH'));
  });

  test('public routes (index, health) need no credential in the document', () => {
    for (const path of ['/', '/healthz', '/readyz']) assert.deepEqual(doc.paths[path]?.get?.security, [], path);
    assert.equal(doc.paths['/v1/plans']?.get?.security, undefined, 'private routes keep the global bearer requirement');
  });

  test('a walk-through of every operation answers only what the document declares, in the declared shapes', async () => {
    const client = new CountersignClient({ server: s.url, token: s.init.adminKey, fetch: recordingFetch });
    const anonymous = new CountersignClient({ server: s.url, fetch: recordingFetch });

    // Public routes.
    assert.deepEqual((await raw('GET', '/', { key: null })).body.docs, '/docs');
    await anonymous.health();
    await raw('GET', '/readyz', { key: null });

    // Principals and keys.
    await client.whoami();
    const reviewer = await client.createPrincipal({ name: 'rita', kind: 'human', groups: ['approvers'] });
    const asReviewer = new CountersignClient({ server: s.url, token: reviewer.key, fetch: recordingFetch });
    await client.listPrincipals();
    const key = await client.createKey(reviewer.id, { description: 'spare' });
    await client.listKeys(reviewer.id);
    await client.revokeKey(key.id);
    await client.disablePrincipal(reviewer.id);
    await client.enablePrincipal(reviewer.id);

    // Plans and reviews.
    await client.listTools();
    const ran = await client.proposePlan(echoPlan('walk-through'));
    assert.equal(ran.status, 'approved');
    const script = await client.proposePlan({
      intent: 'a script with findings',
      environment: 'dev',
      steps: [{ tool: 'shell', action: 'run', input: { script: 'a=rm; $a -rf ./build' } }],
    });
    assert.ok((script.findings ?? []).length > 0, 'the plan carries findings');
    await client.getPlan(script.id);
    await client.listPlans({ limit: 5 });
    const pending = await client.proposePlan(echoPlan('needs a review', 'staging'));
    await asReviewer.inbox();
    await asReviewer.approve(pending.id, { planHash: pending.hash, comment: 'fine' });
    await client.getPlan(pending.id);
    const cancelled = await client.proposePlan(echoPlan('cancel me', 'staging'));
    await client.cancelPlan(cancelled.id, 'not needed');

    // alerts: a webhook delivery proposes a plan; its origin shows each value's provenance.
    const delivery = await raw('POST', '/v1/webhooks/am', {
      key: null,
      body: JSON.stringify(amPayload('walk', [{ alertname: 'KubePodCrashLooping', fingerprint: 'w1', labels: crashLabels() }])),
      headers: { authorization: `Bearer ${SECRETS.CS_AM}` },
    });
    assert.equal(delivery.status, 202, JSON.stringify(delivery.body));
    await client.request('GET', `/v1/plans/${delivery.body.proposed[0].planId}/origin`);

    // Executions: two-phase with a grant, the repeat answer, the events as JSON and as a stream.
    const grant = await client.requestGrant(ran.id);
    const execution = await client.execute(ran.id, grant.grant);
    assert.equal((await raw('POST', `/v1/plans/${ran.id}/executions`, { body: '{}' })).status, 200);
    const finished = await client.followEvents(execution.id, () => {});
    assert.equal(finished.status, 'succeeded');
    await client.getExecution(execution.id);
    await client.listExecutions(10);
    await client.events(execution.id);
    await client.revokeGrant(execution.id, 'walk-through');

    // Kill switch, audit, trust, overrides.
    await client.freeze({ environment: 'dev', reason: 'walk-through' });
    await client.freezes();
    // ---- chat (issue 14) ----
    await client.startChatLink();
    await client.chatLinks();
    await client.unlinkChat('slack');
    await client.notificationChannels();
    const frozen = await client.proposePlan(echoPlan('frozen out'));
    const refused = await raw('POST', `/v1/plans/${frozen.id}/executions`, { body: '{}' });
    assert.equal(refused.status, 423, JSON.stringify(refused.body));
    await client.unfreeze({ environment: 'dev' });
    await client.listAudit({ limit: 20 });
    await client.request('GET', '/v1/trust');
    const publicKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const trusted = await client.request<{ keyId: string }>('POST', '/v1/trust', { publicKey, name: 'walk-through' });
    await client.request('DELETE', `/v1/trust/${trusted.keyId}`, { reason: 'walk-through' });
    const override = await client.request<{ id: string }>('POST', '/v1/overrides', {
      scope: { environment: 'staging', tools: ['echo'], actions: ['say'] },
      ttlSeconds: 600,
      reason: 'walk-through',
    });
    await client.request('GET', '/v1/overrides');
    await client.request('POST', `/v1/overrides/${override.id}/revoke`, { reason: 'done' });

    // MCP over HTTP: a request (answered as a stream) and a notification (202, no body).
    const mcpHeaders = { accept: 'application/json, text/event-stream' };
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    assert.equal((await raw('POST', '/mcp', { body: JSON.stringify(init), headers: mcpHeaders })).status, 200);
    const note = await raw('POST', '/mcp', {
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      headers: mcpHeaders,
    });
    assert.equal(note.status, 202);

    // Errors: each documented status, met for real.
    assert.equal((await raw('POST', '/v1/plans', { body: JSON.stringify({ intent: '' }) })).status, 400);
    assert.equal((await raw('GET', '/v1/plans', { key: null })).status, 401);
    assert.equal(
      (await raw('POST', `/v1/plans/${pending.id}/approvals`, { body: JSON.stringify({ decision: 'approve', planHash: pending.hash }) }))
        .status,
      403,
    );
    assert.equal((await raw('GET', '/v1/plans/pln_nope')).status, 404);
    assert.equal(
      (
        await raw('POST', `/v1/plans/${pending.id}/approvals`, {
          key: reviewer.key,
          body: JSON.stringify({ decision: 'approve', planHash: pending.hash }),
        })
      ).status,
      409,
    );
    assert.equal((await raw('POST', '/v1/plans', { body: JSON.stringify({ ...echoPlan(), intent: 'x'.repeat(70_000) }) })).status, 413);
    assert.equal((await raw('POST', '/v1/plans', { body: 'intent=x', headers: { 'content-type': 'text/plain' } })).status, 415);

    // Every answer is declared, and its body matches the declared schema.
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const failures: string[] = [];
    const covered = new Set<string>();
    for (const r of seen) {
      const found = operationOf(doc, r.method, r.path);
      if (!found) {
        failures.push(`${r.method} ${r.path}: not in the document`);
        continue;
      }
      const name = `${r.method} ${found.template} → ${r.status}`;
      const declared = found.op.responses[String(r.status)];
      if (!declared) {
        failures.push(`${name}: status not declared`);
        continue;
      }
      if (r.status < 300) covered.add(`${r.method} ${found.template}`);
      const mediaType = r.contentType.split(';')[0] ?? '';
      if (r.body === undefined) {
        if (r.status !== 202 && !declared.content?.[mediaType]) failures.push(`${name}: ${mediaType || 'no body'} not declared`);
        continue;
      }
      const schema = declared.content?.['application/json']?.schema as object | undefined;
      if (!schema) {
        failures.push(`${name}: no JSON schema declared`);
        continue;
      }
      if (!ajv.validate(schema, r.body)) failures.push(`${name}: ${ajv.errorsText(ajv.errors)} in ${JSON.stringify(r.body).slice(0, 300)}`);
    }
    assert.deepEqual(failures, []);
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    assert.deepEqual(
      documented.filter((op) => !covered.has(op)),
      [],
      'every documented operation answered 2xx at least once',
    );
    const statuses = new Set(seen.map((r) => r.status));
    for (const status of [200, 201, 202, 400, 401, 403, 404, 409, 413, 415, 423]) assert.ok(statuses.has(status), `met ${status}`);
  });
});
