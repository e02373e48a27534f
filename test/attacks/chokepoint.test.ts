// Invariant 2: every privileged action passes through the one pipeline (src/operations). The route table and the
// CLI command tree are enumerated; anything new and unclassified fails this test.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { routesOf } from '../../src/api/app.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { systemPrincipal } from '../../src/operations/index.ts';
import { ACTIONS, type Authorizer, type AuthzRequest, type Decision, HOST_ACTIONS } from '../../src/policy/types.ts';
import { ENGINES } from '../support/engines.ts';
import { addPrincipal } from '../support/principals.ts';
import { rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

class SwitchableAuthorizer implements Authorizer {
  mode: 'allow' | 'deny' = 'allow';
  calls: AuthzRequest['action'][] = [];
  authorize(request: AuthzRequest): Decision {
    this.calls.push(request.action);
    return this.mode === 'allow'
      ? { allow: true, policies: ['test-allow'] }
      : { allow: false, code: 'POLICY_DENIED', reasons: ['chokepoint probe'] };
  }
}

const overrideBody = () => ({ scope: { environment: 'staging', tools: ['echo'], actions: ['say'] }, ttlSeconds: 600, reason: 'probe' });
const freshPublicKey = () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('one chokepoint', () => {
  const authz = new SwitchableAuthorizer();
  let s: TestServer;
  const ids: Record<string, string> = {};
  let reviewerKey = '';

  before(async () => {
    s = await startTestServer(ENGINES[0]!, { authorizer: authz });
    const reviewer = await addPrincipal(s, 'reviewer', 'human', ['approvers']);
    reviewerKey = reviewer.key;
    ids.principal = reviewer.id;
    ids.key = (await s.request('POST', `/v1/principals/${reviewer.id}/keys`, { body: {} })).body.id;
    ids.pending = (await s.request('POST', '/v1/plans', { body: echoPlan('pending', 'staging') })).body.id;
    ids.approved = (await s.request('POST', '/v1/plans', { body: echoPlan('approved', 'dev') })).body.id;
    const ran = (await s.request('POST', '/v1/plans', { body: echoPlan('ran', 'dev') })).body.id;
    ids.execution = (await s.request('POST', `/v1/plans/${ran}/executions`, { body: {} })).body.id;
    ids.override = (await s.request('POST', '/v1/overrides', { body: overrideBody() })).body.id;
    ids.trustedKey = s.init.publisherKeyId;
    authz.mode = 'deny';
  });
  after(async () => s?.close());

  /**
   * MCP over HTTP answers JSON-RPC, not REST statuses: its probe calls a tool through /mcp (stateless,
   * so one POST suffices) and expects the tool to be refused by policy. test/mcp-http.test.ts
   * enumerates every MCP tool the same way.
   */
  const mcpProbe = async () => {
    const res = await s.request('POST', '/mcp', {
      headers: { accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'propose_plan', arguments: echoPlan('via mcp') } },
    });
    assert.equal(res.status, 200, String(res.body));
    // The answer is a Server-Sent Events stream whose data line is the JSON-RPC response.
    const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
    const data = text.split('\n').find((l) => l.startsWith('data: '));
    const message = JSON.parse(data ? data.slice(6) : text);
    assert.equal(message.result?.isError, true, JSON.stringify(message));
    assert.match(message.result.content[0].text, /\[POLICY_DENIED\]/);
  };
  const mcpNotAllowed = async (method: string) => {
    const res = await s.request(method, '/mcp', { headers: { accept: 'application/json, text/event-stream' } });
    assert.equal(res.status, 405, `${method} /mcp`);
  };

  /**
   * Every authenticated route with an input to probe it. What each route must be decided as is
   * not written here: it comes from the operations table (the route's declared operations and
   * their Cedar actions), so the test follows the table.
   */
  const ROUTES: Record<
    string,
    {
      path: () => string;
      body?: () => unknown;
      key?: () => string;
      /** For routes that do not answer REST statuses: checks the refusal itself. */
      probe?: () => Promise<void>;
    }
  > = {
    'POST /v1/plans': { path: () => '/v1/plans', body: () => echoPlan() },
    'GET /v1/plans/:id': { path: () => `/v1/plans/${ids.pending}` },
    'GET /v1/plans': { path: () => '/v1/plans' },
    'POST /v1/plans/:id/approvals': {
      path: () => `/v1/plans/${ids.pending}/approvals`,
      body: () => ({ decision: 'approve', planHash: 'a'.repeat(64) }),
      key: () => reviewerKey,
    },
    'POST /v1/plans/:id/cancel': { path: () => `/v1/plans/${ids.pending}/cancel`, body: () => ({}) },
    'GET /v1/approvals': { path: () => '/v1/approvals' },
    'GET /v1/whoami': { path: () => '/v1/whoami' },
    'POST /v1/principals': {
      path: () => '/v1/principals',
      body: () => ({ name: 'mallory', kind: 'human', groups: ['admin'] }),
    },
    'GET /v1/principals': { path: () => '/v1/principals' },
    'POST /v1/principals/:id/disable': { path: () => `/v1/principals/${ids.principal}/disable` },
    'POST /v1/principals/:id/enable': { path: () => `/v1/principals/${ids.principal}/enable` },
    'GET /v1/principals/:id/keys': { path: () => `/v1/principals/${ids.principal}/keys` },
    'POST /v1/principals/:id/keys': { path: () => `/v1/principals/${ids.principal}/keys`, body: () => ({}) },
    'POST /v1/keys/:id/revoke': { path: () => `/v1/keys/${ids.key}/revoke` },
    'POST /v1/plans/:id/grants': { path: () => `/v1/plans/${ids.approved}/grants` },
    'POST /v1/plans/:id/executions': { path: () => `/v1/plans/${ids.approved}/executions`, body: () => ({}) },
    'GET /v1/executions': { path: () => '/v1/executions' },
    'GET /v1/executions/:id': { path: () => `/v1/executions/${ids.execution}` },
    'GET /v1/executions/:id/events': { path: () => `/v1/executions/${ids.execution}/events` },
    'POST /v1/executions/:id/revoke-grant': {
      path: () => `/v1/executions/${ids.execution}/revoke-grant`,
      body: () => ({ reason: 'probe' }),
    },
    'POST /v1/freeze': { path: () => '/v1/freeze', body: () => ({ reason: 'probe' }) },
    'POST /v1/unfreeze': { path: () => '/v1/unfreeze', body: () => ({}) },
    'GET /v1/freezes': { path: () => '/v1/freezes' },
    'GET /v1/audit': { path: () => '/v1/audit' },
    'GET /v1/trust': { path: () => '/v1/trust' },
    'POST /v1/trust': { path: () => '/v1/trust', body: () => ({ publicKey: freshPublicKey() }) },
    'DELETE /v1/trust/:keyId': { path: () => `/v1/trust/${ids.trustedKey}`, body: () => ({}) },
    'POST /v1/overrides': { path: () => '/v1/overrides', body: overrideBody },
    'POST /v1/overrides/:id/revoke': {
      path: () => `/v1/overrides/${ids.override}/revoke`,
      body: () => ({ reason: 'probe' }),
    },
    'GET /v1/overrides': { path: () => '/v1/overrides' },
    'GET /v1/tools': { path: () => '/v1/tools' },
    'POST /mcp': { path: () => '/mcp', probe: mcpProbe },
    'GET /mcp': { path: () => '/mcp', probe: () => mcpNotAllowed('GET') },
    // alerts
    'GET /v1/plans/:id/origin': { path: () => `/v1/plans/${ids.pending}/origin` },
    'DELETE /mcp': { path: () => '/mcp', probe: () => mcpNotAllowed('DELETE') },
    // ---- chat (issue 14) ----
    'POST /v1/chat/links': { path: () => '/v1/chat/links', body: () => ({}) },
    'GET /v1/chat/links': { path: () => '/v1/chat/links' },
    'DELETE /v1/chat/links/:platform': { path: () => '/v1/chat/links/slack' },
    'GET /v1/notifications/channels': { path: () => '/v1/notifications/channels' },
  };
  /** Reached only from the platforms' signed callbacks (public routes; see test/chat-decisions.test.ts). */
  const CHAT_CALLBACK_OPERATIONS = new Set(['chat.link']);

  const privateRoutes = () => routesOf(s.app).filter((r) => r.method !== 'HEAD' && !r.public);
  const table = () => new Map(s.ctx.pipeline.operations().map((op) => [op.name, op]));
  /** The Cedar actions a route may be decided by, from its operations in the table (empty: identity only). */
  const actionsOf = (route: string): string[] => {
    const info = privateRoutes().find((r) => `${r.method} ${r.url}` === route);
    assert.ok(info, `${route} is registered`);
    return (info.operations ?? []).map((name) => {
      const op = table().get(name);
      assert.ok(op, `${route} names operation ${name}, which is not in the table`);
      return op.action;
    });
  };

  test('the route table is exactly the probed list (a new route must be added here)', () => {
    const actual = privateRoutes()
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    assert.deepEqual(actual, Object.keys(ROUTES).sort());
  });

  test('every authenticated route names operations of the table, and every network operation has a route', () => {
    const served = new Set<string>();
    // A public route that runs operations (a webhook delivery, proven by its signature) serves them too.
    const publicWithOperations = routesOf(s.app).filter((r) => r.public && r.operations !== null);
    for (const r of [...privateRoutes(), ...publicWithOperations]) {
      if (r.operations === null) continue;
      assert.ok(r.operations.length > 0, `${r.method} ${r.url} names no operation`);
      for (const name of r.operations) {
        assert.ok(table().has(name), `${r.method} ${r.url} names unknown operation ${name}`);
        served.add(name);
      }
    }
    for (const op of table().values()) {
      if (HOST_ACTIONS.includes(op.action) || CHAT_CALLBACK_OPERATIONS.has(op.name)) continue;
      assert.ok(served.has(op.name), `operation ${op.name} is reachable from no route`);
    }
  });

  test('every policy action is the action of some operation in the table', () => {
    const actions = new Set([...table().values()].map((op) => op.action));
    for (const a of ACTIONS) assert.ok(actions.has(a), `no operation is decided as ${a}`);
  });

  test('host operations refuse every principal but the system one, and each refusal is audited denied', async () => {
    authz.mode = 'allow';
    try {
      const admin = await s.ctx.authenticator.authenticate(`Bearer ${s.init.adminKey}`);
      for (const op of table().values()) {
        if (!HOST_ACTIONS.includes(op.action)) continue;
        await assert.rejects(
          s.ctx.pipeline.run(op.name, admin, op.name === 'tenant.create' ? { name: 'x' } : {}, 'api'),
          (err: { code?: string }) => err.code === 'POLICY_DENIED' || err.code === 'VALIDATION_FAILED',
          op.name,
        );
      }
      const denied = await rawSql(s, "select action from audit_log where outcome = 'denied' and details like '%host operator action%'");
      assert.ok(denied.length >= 5, `host refusals are audited (${denied.length})`);
    } finally {
      authz.mode = 'deny';
    }
  });

  test('the system principal is refused every network operation', async () => {
    authz.mode = 'allow';
    try {
      await assert.rejects(
        s.ctx.pipeline.run('plan.propose', systemPrincipal(s.init.tenantId), echoPlan(), 'host'),
        (err: { code?: string; message?: string }) => err.code === 'POLICY_DENIED' && /system principal/.test(err.message ?? ''),
      );
    } finally {
      authz.mode = 'deny';
    }
  });

  test('every authenticated route is decided by policy, and a denial changes nothing', async () => {
    const tables = ['plans', 'approvals', 'principals', 'api_keys', 'executions', 'grants', 'freezes', 'trusted_keys', 'overrides'];
    // api_keys.last_used_at moves on every authenticated request: compare what matters there.
    const columns = (t: string) => (t === 'api_keys' ? 'id, principal_id, revoked_at' : '*');
    const snapshot = async () =>
      Promise.all(tables.map(async (t) => JSON.stringify(await rawSql(s, `select ${columns(t)} from ${t} order by 1`))));
    const before = await snapshot();
    for (const [route, spec] of Object.entries(ROUTES)) {
      const [method] = route.split(' ');
      const actions = actionsOf(route);
      const decidedAs = () => authz.calls.some((c) => actions.includes(c));
      authz.calls = [];
      if (spec.probe) {
        await spec.probe();
        if (actions.length === 0) assert.deepEqual(authz.calls, [], `${route} reaches no operation`);
        else assert.ok(decidedAs(), `${route} must be decided as one of ${actions.join(',')}, saw ${authz.calls.join(',')}`);
        continue;
      }
      const res = await s.request(method!, spec.path(), { body: spec.body?.(), key: spec.key?.() });
      if (actions.length === 0) {
        assert.equal(res.status, 200, route);
        assert.deepEqual(authz.calls, [], `${route} reads only the caller's identity`);
        continue;
      }
      assert.equal(res.status, 403, `${route}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'POLICY_DENIED', route);
      assert.ok(decidedAs(), `${route} must be decided as one of ${actions.join(',')}, saw ${authz.calls.join(',')}`);
    }
    assert.deepEqual(await snapshot(), before, 'denied requests wrote nothing but audit entries');
    const denied = await rawSql(s, "select action from audit_log where outcome = 'denied' and details like '%chokepoint probe%'");
    const privileged = Object.keys(ROUTES).filter((r) => actionsOf(r).length > 0).length;
    assert.equal(denied.length, privileged, 'every denial was audited once');
  });

  test('an execute request carrying an override is decided as override.use, and a denial consumes nothing', async () => {
    authz.calls = [];
    const res = await s.request('POST', `/v1/plans/${ids.pending}/executions`, { body: { override: ids.override } });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'POLICY_DENIED');
    assert.deepEqual(authz.calls, ['override.use']);
    const [o] = await rawSql(s, 'select consumed_at, revoked_at from overrides where id = ?', [ids.override]);
    assert.equal(o.consumed_at, null);
    assert.equal(o.revoked_at, null);
  });
});

describe('CLI commands are either remote (gated by the server) or local operator tools', () => {
  /** Local commands act on the data directory with the host operator's rights; each is reviewed here. */
  const LOCAL = new Set([
    'init',
    'serve',
    'api',
    'up',
    'executor',
    'sandbox check',
    'audit verify',
    'audit export',
    'policy validate',
    'policy test',
    'policy diff',
    // Rewrites the baseline policy files of the data directory (backups kept), checked before writing.
    'policy upgrade',
    // Audit proofs: read the log, sign checkpoints with the audit key held in the data directory.
    'audit checkpoint',
    'audit verifier-key',
    'audit prove',
    'audit consistency',
    // Checks a proof file with a public key: reads nothing of the installation.
    'audit verify-proof',
    // Copy the store out (online backup, pg_dump) and put a verified copy back: host operator tools.
    'backup',
    'restore',
    // A witness runs on another machine with its own directory and key; it holds no Countersign data.
    'witness init',
    'witness trust-log',
    'witness serve',
    'grant rotate-key',
    'principal recover-admin',
    'completion',
    'tool keygen',
    'tool sign',
    'tool verify',
    // Writes an UNSIGNED manifest into tools/ (nothing loads it until a trusted key signs it), or prints a digest.
    'tool new',
    'tool hash',
    'doctor',
    // alerts: signs a playbook file with a local key; computes a proposal without storing or calling anything.
    'playbook sign',
    'playbook dry-run',
    // ---- replicas: the tenant.create host operation on the data directory (audited), and a read of the tenant list ----
    'tenant add',
    'tenant list',
  ]);

  function leaves(cmd: Command, prefix = ''): { name: string; cmd: Command }[] {
    const subs = cmd.commands as Command[];
    if (subs.length === 0) return [{ name: prefix.trim(), cmd }];
    return subs.flatMap((c) => leaves(c, `${prefix} ${c.name()}`));
  }

  test('every leaf command is classified; remote ones carry --server and no --dir', () => {
    const io = { out: () => {}, err: () => {}, isTty: false };
    for (const { name, cmd } of leaves(buildProgram(io))) {
      const flags = cmd.options.map((o) => o.long);
      if (LOCAL.has(name)) {
        assert.ok(!flags.includes('--server'), `${name} is local and must not talk to a server`);
      } else {
        assert.ok(flags.includes('--server'), `${name} is neither a reviewed local command nor a remote one`);
        assert.ok(!flags.includes('--dir'), `${name} is remote and must not touch the data directory`);
      }
    }
  });
});
