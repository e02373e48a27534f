// Invariant 14: break-glass is narrow. An override is a signed canonical document with a scope,
// a TTL, a reason and a nonce; it lets a plan inside its scope run without approvals, once.
// Replayed, revoked, out of scope, expired, forged or edited in the database: refused and
// audited, and the nonce survives every refusal. Revoking needs an operator identity and its
// audit entry comes first. Every issue, use and revoke raises a notification.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { parseConfig } from '../../src/config/index.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/executor.ts';
import type { BreakGlassNotification, Notifier } from '../../src/notifications/index.ts';
import { loadOverrideVerificationKeys, overrideSigningText, verifyOverrideText } from '../../src/overrides/index.ts';
import { type Runtime, systemRuntime } from '../../src/runtime.ts';
import { ENGINES } from '../support/engines.ts';
import { configureExecutor } from '../support/execution.ts';
import { addPrincipal } from '../support/principals.ts';
import { rawExec, rawSql } from '../support/raw-db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { writeTestTools } from '../support/tools.ts';

class RecordingNotifier implements Notifier {
  readonly sent: BreakGlassNotification[] = [];
  async notify(n: BreakGlassNotification): Promise<void> {
    this.sent.push(n);
  }
}

const TERMINAL = ['succeeded', 'failed', 'rolled_back', 'needs_attention'];

const BREAK_SQLITE = `create trigger audit_disk_full before insert on audit_log begin select raise(abort, 'disk full'); end;`;
const BREAK_PG = `
  create or replace function audit_disk_full() returns trigger as $$ begin raise exception 'disk full'; end $$ language plpgsql;
  create trigger audit_disk_full before insert on audit_log for each row execute function audit_disk_full();`;
const FIX_SQLITE = 'drop trigger audit_disk_full;';
const FIX_PG = 'drop trigger audit_disk_full on audit_log; drop function audit_disk_full();';

for (const engine of ENGINES) {
  describe(`break-glass overrides on ${engine.name}`, { skip: engine.skip }, () => {
    let s: TestServer;
    const notifier = new RecordingNotifier();
    let skewMs = 0;
    const runtime: Runtime = { now: () => new Date(Date.now() + skewMs), newId: systemRuntime.newId };
    let operator: { id: string; key: string };
    let approver: { id: string; key: string };
    let agent: { id: string; key: string };
    let executor: RunningExecutor | null = null;

    before(async () => {
      s = await startTestServer(engine, {
        runtime,
        notifier,
        warn: () => {},
        configure: (dir) => {
          writeTestTools(dir);
          configureExecutor(dir, { pollMilliseconds: 50 });
        },
      });
      operator = await addPrincipal(s, 'oscar', 'human', ['operator']);
      approver = await addPrincipal(s, 'ada', 'human', ['approvers']);
      agent = await addPrincipal(s, 'bot', 'agent', ['agent', 'operator']);
    });
    after(async () => {
      await executor?.stop();
      await s?.close();
    });

    const issue = (body: Record<string, unknown> = {}, key?: string) =>
      s.request('POST', '/v1/overrides', {
        key,
        body: { scope: { environment: 'prod', tools: ['echo'], actions: ['say'] }, ttlSeconds: 900, reason: 'INC-42: API down', ...body },
      });
    const issued = async (body: Record<string, unknown> = {}) => {
      const r = await issue(body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; signed: any; status: string };
    };
    /** A plan that needs two approvers in prod: pending until someone countersigns — or breaks glass. */
    const pendingPlan = async (environment = 'prod', steps: unknown[] = [{ tool: 'echo', action: 'say', input: { message: 'glass' } }]) => {
      const r = await s.request('POST', '/v1/plans', { body: { intent: 'incident fix', environment, steps } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; status: string };
    };
    const useOverride = (planId: string, override: string, key?: string) =>
      s.request('POST', `/v1/plans/${planId}/executions`, { key, body: { override } });
    const overrideRow = async (id: string) => (await rawSql(s, 'select * from overrides where id = ?', [id]))[0];
    const auditOf = async (action: string, outcome?: string) =>
      (
        await rawSql(
          s,
          `select seq, outcome, resource, details from audit_log where action = ?${outcome ? ' and outcome = ?' : ''} order by seq`,
          [action, ...(outcome ? [outcome] : [])],
        )
      ).map((r) => ({ ...r, details: JSON.parse(r.details) }));
    const waitFor = async (executionId: string) => {
      for (let i = 0; i < 400; i++) {
        const r = await s.request('GET', `/v1/executions/${executionId}`);
        if (TERMINAL.includes(r.body.status)) return r.body;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error(`execution ${executionId} did not finish`);
    };

    test('issuing needs override.issue, a reason, a TTL of at most an hour, and a scope of loaded tools and actions', async () => {
      assert.equal((await issue({ reason: undefined })).status, 400);
      assert.equal((await issue({ reason: '   ' })).status, 400);
      assert.equal((await issue({ ttlSeconds: 3601 })).status, 400);
      const nonce = await issue({ nonce: 'chosen-by-the-client' });
      assert.equal(nonce.status, 400);
      assert.match(nonce.body.error.message, /unknown field/);
      assert.equal((await issue({ scope: { environment: 'prod', tools: ['nope'], actions: ['say'] } })).body.error.code, 'UNKNOWN_TOOL');
      assert.equal((await issue({ scope: { environment: 'prod', tools: ['echo'], actions: ['wait'] } })).body.error.code, 'UNKNOWN_ACTION');
      assert.equal(
        (await issue({ scope: { environment: 'moon', tools: ['echo'], actions: ['say'] } })).body.error.code,
        'UNKNOWN_ENVIRONMENT',
      );
      const byOperator = await issue({}, operator.key);
      assert.equal(byOperator.status, 403);
      assert.equal(byOperator.body.error.code, 'POLICY_DENIED');
    });

    test('an issued override is a signed canonical document, stored, audited as break-glass and notified', async () => {
      const o = await issued();
      assert.equal(o.status, 'active');
      const doc = o.signed.document;
      assert.equal(doc.type, 'countersign-override');
      assert.equal(doc.environment, 'prod');
      assert.deepEqual([doc.tools, doc.actions], [['echo'], ['say']]);
      assert.match(doc.nonce, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(Date.parse(doc.expiresAt) - Date.parse(doc.issuedAt), 900_000);
      const keys = loadOverrideVerificationKeys(join(s.dir, 'keys'));
      assert.equal(verifyOverrideText(overrideSigningText(doc), o.signed.keyId, o.signed.signature, keys), true);
      const row = await overrideRow(o.id);
      assert.equal(row.document, overrideSigningText(doc));
      const [entry] = (await auditOf('override.issue', 'allowed')).filter((e) => e.resource === `override:${o.id}`);
      assert.equal(entry?.details.breakGlass, true);
      assert.equal(entry?.details.reason, 'INC-42: API down');
      assert.ok(notifier.sent.some((n) => n.event === 'override.issue' && n.outcome === 'allowed' && n.override === o.id));
    });

    test('an override runs a pending prod plan without approvals, through the status machine, and the executor runs it', async () => {
      const plan = await pendingPlan();
      assert.equal(plan.status, 'pending_approval');
      const o = await issued();
      const res = await useOverride(plan.id, o.id);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.override, o.id);
      const view = (await s.request('GET', `/v1/plans/${plan.id}`)).body;
      assert.equal(view.status, 'executing');
      const row = await overrideRow(o.id);
      assert.equal(row.execution_id, res.body.id);
      assert.ok(row.consumed_at);
      const [exec] = await rawSql(s, 'select grant_token, override_id from executions where id = ?', [res.body.id]);
      assert.equal(exec.override_id, o.id);
      assert.equal(decodeJwt(exec.grant_token).override, o.id, 'the grant is bound to the override');
      const [use] = (await auditOf('override.use', 'allowed')).filter((e) => e.details.override === o.id);
      assert.equal(use?.details.breakGlass, true);
      assert.equal(use?.details.planStatusBefore, 'pending_approval');
      assert.ok(notifier.sent.some((n) => n.event === 'override.use' && n.outcome === 'allowed' && n.override === o.id));
      executor = await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
      const done = await waitFor(res.body.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.equal(done.steps[0].stdout, 'glass\n');
      // The same request again (a retry) gets the same execution and consumes nothing new.
      const retry = await useOverride(plan.id, o.id);
      assert.equal(retry.status, 200);
      assert.equal(retry.body.id, res.body.id);
    });

    test('a replayed override is refused and audited', async () => {
      const o = await issued();
      const first = await pendingPlan();
      assert.equal((await useOverride(first.id, o.id)).status, 201);
      const second = await pendingPlan();
      const replay = await useOverride(second.id, JSON.stringify(o.signed));
      assert.equal(replay.status, 409, JSON.stringify(replay.body));
      assert.equal(replay.body.error.code, 'OVERRIDE_REPLAYED');
      assert.equal((await s.request('GET', `/v1/plans/${second.id}`)).body.status, 'pending_approval', 'the plan stays pending');
      assert.equal((await rawSql(s, 'select id from executions where plan_id = ?', [second.id])).length, 0);
      const refused = (await auditOf('override.use', 'denied')).filter((e) => e.details.code === 'OVERRIDE_REPLAYED');
      assert.equal(refused.length, 1);
      assert.ok(notifier.sent.some((n) => n.event === 'override.use' && n.outcome === 'refused' && n.details.code === 'OVERRIDE_REPLAYED'));
    });

    test('two concurrent uses of one override on two plans: exactly one is accepted', async () => {
      const o = await issued();
      const plans = await Promise.all([pendingPlan(), pendingPlan(), pendingPlan(), pendingPlan()]);
      const results = await Promise.all(plans.map((p) => useOverride(p.id, o.id)));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 409, 409, 409], JSON.stringify(results.map((r) => r.body)));
      assert.ok(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'OVERRIDE_REPLAYED'));
      const executions = await rawSql(s, 'select id from executions where override_id = ?', [o.id]);
      assert.equal(executions.length, 1);
      assert.equal((await overrideRow(o.id)).execution_id, executions[0].id);
    });

    test('outside its scope it is refused and audited, and the nonce survives for an in-scope use', async () => {
      const o = await issued();
      const cases: [string, unknown[], string][] = [
        ['staging', [{ tool: 'echo', action: 'say', input: { message: 'x' } }], /environment prod/.source],
        ['prod', [{ tool: 'sleep', action: 'wait', input: { seconds: 0 } }], /tool sleep/.source],
        [
          'prod',
          [
            { tool: 'echo', action: 'say', input: { message: 'x' } },
            { tool: 'fail', action: 'now', input: {} },
          ],
          /tool fail/.source,
        ],
      ];
      for (const [environment, steps, why] of cases) {
        const plan = await pendingPlan(environment, steps);
        const res = await useOverride(plan.id, o.id);
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.equal(res.body.error.code, 'OVERRIDE_OUT_OF_SCOPE');
        assert.match(res.body.error.message, new RegExp(why));
      }
      const rollback = await s.request('POST', '/v1/plans', {
        body: {
          intent: 'with rollback',
          environment: 'prod',
          steps: [{ tool: 'echo', action: 'say', input: { message: 'x' } }],
          rollback: [{ tool: 'fail', action: 'now', input: {} }],
        },
      });
      assert.equal((await useOverride(rollback.body.id, o.id)).body.error.code, 'OVERRIDE_OUT_OF_SCOPE', 'rollback steps are in scope too');
      assert.equal((await overrideRow(o.id)).consumed_at, null, 'refusals consume nothing');
      assert.equal((await auditOf('override.use', 'denied')).filter((e) => e.details.code === 'OVERRIDE_OUT_OF_SCOPE').length, 4);
      const good = await pendingPlan();
      assert.equal((await useOverride(good.id, o.id)).status, 201);
    });

    test('after expiry it is refused and audited, unconsumed', async () => {
      const o = await issued({ ttlSeconds: 60 });
      const plan = await pendingPlan();
      skewMs = 61_000;
      try {
        const res = await useOverride(plan.id, o.id);
        assert.equal(res.status, 403);
        assert.equal(res.body.error.code, 'OVERRIDE_EXPIRED');
      } finally {
        skewMs = 0;
      }
      assert.equal((await overrideRow(o.id)).consumed_at, null);
      assert.equal((await auditOf('override.use', 'denied')).filter((e) => e.details.code === 'OVERRIDE_EXPIRED').length, 1);
      const list = (await s.request('GET', '/v1/overrides')).body.overrides;
      assert.ok(list.some((x: { id: string; status: string }) => x.id === o.id));
    });

    test('a forged, altered or database-edited override is refused', async () => {
      const o = await issued();
      const plan = await pendingPlan();
      const widened = { ...o.signed, document: { ...o.signed.document, actions: ['say', 'wait'] } };
      assert.equal((await useOverride(plan.id, JSON.stringify(widened))).body.error.code, 'OVERRIDE_INVALID');
      assert.equal((await useOverride(plan.id, `ovr_${'0'.repeat(26)}`)).body.error.code, 'OVERRIDE_INVALID');
      assert.equal((await useOverride(plan.id, 'not an override')).body.error.code, 'OVERRIDE_INVALID');
      // Someone with database access stretches the lifetime: the signature no longer matches.
      const later = new Date(Date.now() + 86_400_000).toISOString();
      await rawSql(s, 'update overrides set document = ?, expires_at = ? where id = ?', [
        overrideSigningText({ ...o.signed.document, expiresAt: later }),
        later,
        o.id,
      ]);
      const edited = await useOverride(plan.id, o.id);
      assert.equal(edited.body.error.code, 'OVERRIDE_INVALID');
      assert.match(edited.body.error.message, /does not verify/);
      assert.equal((await overrideRow(o.id)).consumed_at, null);
      assert.equal(
        (await auditOf('override.use', 'denied')).filter((e) => e.details.code === 'OVERRIDE_INVALID').length,
        4,
        'each is audited',
      );
    });

    test('revoking needs a human operator identity and a reason; a revoked override is refused and audited', async () => {
      const o = await issued();
      assert.equal((await s.request('POST', `/v1/overrides/${o.id}/revoke`, { key: null, body: { reason: 'x' } })).status, 401);
      for (const who of [approver, agent]) {
        const r = await s.request('POST', `/v1/overrides/${o.id}/revoke`, { key: who.key, body: { reason: 'not mine to revoke' } });
        assert.equal(r.status, 403, JSON.stringify(r.body));
        assert.equal(r.body.error.code, 'POLICY_DENIED');
      }
      assert.equal((await overrideRow(o.id)).revoked_at, null, 'refused revocations change nothing');
      assert.equal((await s.request('POST', `/v1/overrides/${o.id}/revoke`, { key: operator.key, body: {} })).status, 400);
      const revoked = await s.request('POST', `/v1/overrides/${o.id}/revoke`, { key: operator.key, body: { reason: 'incident over' } });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.equal(revoked.body.status, 'revoked');
      assert.equal(revoked.body.revokedBy, operator.id);
      const entries = (await auditOf('override.revoke')).filter((e) => e.resource === `override:${o.id}`);
      // The entry commits in the revocation's own transaction: both exist, or neither does.
      assert.equal(entries.filter((e) => e.outcome === 'allowed').length, 1, 'the revocation is audited once');
      const denied = entries.filter((e) => e.outcome === 'denied');
      assert.equal(denied.length, 2, 'the approver (policy) and the agent in the operator group (a code rule) are both refused');
      assert.ok(
        denied.some((e) => (e.details.policies ?? []).includes('code:humans-revoke-overrides')),
        JSON.stringify(denied),
      );
      assert.ok(notifier.sent.some((n) => n.event === 'override.revoke' && n.outcome === 'allowed' && n.override === o.id));
      const plan = await pendingPlan();
      const use = await useOverride(plan.id, o.id);
      assert.equal(use.status, 403);
      assert.equal(use.body.error.code, 'OVERRIDE_REVOKED');
      assert.equal((await auditOf('override.use', 'denied')).filter((e) => e.details.code === 'OVERRIDE_REVOKED').length, 1);
      assert.equal((await s.request('POST', `/v1/overrides/${o.id}/revoke`, { key: operator.key, body: { reason: 'again' } })).status, 409);
    });

    test('no revocation happens if its audit entry cannot be written', async () => {
      const o = await issued();
      await rawExec(s, BREAK_SQLITE, BREAK_PG);
      try {
        const r = await s.request('POST', `/v1/overrides/${o.id}/revoke`, { key: operator.key, body: { reason: 'disk is full' } });
        assert.equal(r.status, 503);
        assert.equal(r.body.error.code, 'AUDIT_WRITE_FAILED');
      } finally {
        await rawExec(s, FIX_SQLITE, FIX_PG);
      }
      assert.equal((await overrideRow(o.id)).revoked_at, null);
    });

    test('every step of an override execution re-checks revocation: revoked mid-run, the next step does not run', async () => {
      const o = await issued({ scope: { environment: 'prod', tools: ['sleep', 'echo'], actions: ['wait', 'say'] } });
      const plan = await pendingPlan('prod', [
        { tool: 'sleep', action: 'wait', input: { seconds: 2 } },
        { tool: 'echo', action: 'say', input: { message: 'must not run' } },
      ]);
      const res = await useOverride(plan.id, o.id);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      executor ??= await startExecutor(s.dir, { store: s.ctx.store, log: () => {} });
      for (let i = 0; i < 200; i++) {
        const ev = await s.request('GET', `/v1/executions/${res.body.id}/events`);
        if (ev.body.events.some((e: { type: string }) => e.type === 'step.started')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const revoked = await s.request('POST', `/v1/overrides/${o.id}/revoke`, { key: operator.key, body: { reason: 'wrong fix' } });
      assert.equal(revoked.status, 200);
      const done = await waitFor(res.body.id);
      assert.equal(done.status, 'failed', JSON.stringify(done));
      assert.match(done.reason, /override .* was revoked: wrong fix/);
      assert.equal(done.steps[1].status, 'pending');
      const denied = await auditOf('execution.step', 'denied');
      assert.ok(denied.some((e) => /was revoked/.test(e.details.reason ?? '')));
    });
  });
}

describe('break-glass webhook notifications', () => {
  let s: TestServer;
  const received: { body: any; contentType: string | undefined }[] = [];
  const receiver = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ body: JSON.parse(body), contentType: req.headers['content-type'] });
      res.writeHead(204).end();
    });
  });

  before(async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    s = await startTestServer(ENGINES[0]!, {
      warn: () => {},
      configure: (dir) => {
        const file = join(dir, 'countersign.yaml');
        writeFileSync(
          file,
          readFileSync(file, 'utf8')
            .replace('developmentMode: false', 'developmentMode: true')
            .replace('webhookUrl: ""', `webhookUrl: "http://127.0.0.1:${port}/hook"`),
        );
      },
    });
  });
  after(async () => {
    await s?.close();
    await new Promise((r) => receiver.close(r));
  });

  test('issue and revoke are POSTed as JSON to the webhook', async () => {
    const o = await s.request('POST', '/v1/overrides', {
      body: { scope: { environment: 'prod', tools: ['echo'], actions: ['say'] }, ttlSeconds: 300, reason: 'webhook test' },
    });
    assert.equal(o.status, 201);
    await s.request('POST', `/v1/overrides/${o.body.id}/revoke`, { body: { reason: 'done' } });
    for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      received.map((r) => [r.body.event, r.body.outcome, r.body.override, r.body.breakGlass]),
      [
        ['override.issue', 'allowed', o.body.id, true],
        ['override.revoke', 'allowed', o.body.id, true],
      ],
    );
    assert.equal(received[0]?.contentType, 'application/json');
    assert.equal(received[0]?.body.reason, 'webhook test');
    assert.equal(received[0]?.body.signed, undefined, 'the signed document is not sent around');
  });

  test('a webhook that is down never blocks the decision; the audit entry is written', async () => {
    await new Promise((r) => receiver.close(r));
    const o = await s.request('POST', '/v1/overrides', {
      body: { scope: { environment: 'prod', tools: ['echo'], actions: ['say'] }, ttlSeconds: 300, reason: 'receiver down' },
    });
    assert.equal(o.status, 201);
    const rows = await rawSql(s, "select details from audit_log where action = 'override.issue' and resource = ?", [
      `override:${o.body.id}`,
    ]);
    assert.equal(rows.length, 1);
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });

  test('the webhook must be https; http only to loopback and only with developmentMode', () => {
    const cfg = (dev: boolean, url: string) => () => parseConfig(`developmentMode: ${dev}\nnotifications:\n  webhookUrl: "${url}"\n`, {});
    assert.doesNotThrow(cfg(false, 'https://hooks.example.com/x'));
    assert.throws(cfg(false, 'http://127.0.0.1:9/x'), /webhookUrl/);
    assert.throws(cfg(true, 'http://hooks.example.com/x'), /webhookUrl/);
    assert.doesNotThrow(cfg(true, 'http://127.0.0.1:9/x'));
    assert.throws(cfg(false, 'ftp://example.com/x'), /webhookUrl/);
  });
});
