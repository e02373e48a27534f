// Issue: a policy that tests green and does nothing. Proposal is decided twice — on the
// environment before analysis, and on the plan once its risk is known — so a forbid on
// riskLevel takes effect; and `policy test` decides exactly as the server does (one function,
// decideRequest, and a request mapping checked on a generated set of requests).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { systemPrincipal } from '../src/operations/index.ts';
import {
  ACTIONS,
  type AuthzRequest,
  BASELINE_SCHEMA,
  baselinePolicySet,
  CedarAuthorizer,
  decideRequest,
  runPolicyTests,
} from '../src/policy/index.ts';
import { ENGINES } from './support/engines.ts';
import { addPrincipal } from './support/principals.ts';
import { rawSql } from './support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

const FORBID = `@id("no-risky-agent-proposals")
@reason("Agents may not propose plans above low risk.")
forbid (principal, action == Countersign::Action::"plan.propose", resource)
when { principal has kind && principal.kind == "agent" && resource has riskLevel && resource.riskLevel >= 1 };
`;

describe('a forbid on a plan attribute takes effect at proposal', () => {
  const engine = ENGINES[0]!;
  let s: TestServer;
  before(async () => {
    s = await startTestServer(engine);
  });
  after(async () => s?.close());

  test('a forbid on riskLevel refuses the agent’s medium-risk plan, and policy test says the same', async () => {
    const bot = await addPrincipal(s, 'bot', 'agent', ['agent']);
    assert.equal((await s.request('POST', '/v1/plans', { key: bot.key, body: echoPlan('before', 'prod') })).status, 201);
    writeFileSync(join(s.dir, 'policies', 'no-risky-agent-proposals.cedar'), FORBID);
    await s.ctx.pipeline.run('policy.reload', systemPrincipal(), {}, 'host');
    const refused = await s.request('POST', '/v1/plans', { key: bot.key, body: echoPlan('after', 'prod') });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'POLICY_DENIED');
    const low = await s.request('POST', '/v1/plans', { key: bot.key, body: echoPlan('still fine', 'dev') });
    assert.equal(low.status, 201, 'a low-risk plan from the agent is still proposed');
    const denied = await rawSql(s, "select resource, details from audit_log where action = 'plan.propose' and outcome = 'denied'");
    assert.ok(
      denied.some((r) => String(r.resource).startsWith('plan:') && String(r.details).includes('no-risky-agent-proposals')),
      'decided on the plan, naming the forbid',
    );
    const [who] = await rawSql(s, 'select id from principals where name = ?', ['bot']);
    const yaml = stringify({
      tests: [
        {
          name: 'the agent’s medium prod plan',
          principal: { id: who.id, tenant: s.init.tenantId, kind: 'agent', groups: ['agent'], authMethod: 'api_key' },
          action: 'plan.propose',
          resource: {
            type: 'Plan',
            id: 'pln_x',
            tenant: s.init.tenantId,
            environment: 'prod',
            risk: 'medium',
            source: 'api',
            proposer: who.id,
          },
          expect: 'deny',
        },
      ],
    });
    const authorizer = s.ctx.authorizer;
    const [result] = runPolicyTests(authorizer, yaml);
    assert.equal(result?.actual, 'deny', JSON.stringify(result));
  });
});

/** A small deterministic generator, so a failure names a reproducible case. */
function* requests(seed: number, count: number): Generator<AuthzRequest> {
  let x = seed;
  const next = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[next(xs.length)]!;
  const groups = ['admin', 'operator', 'approvers', 'agent', 'auditor', 'system'];
  const kinds = ['human', 'agent', 'system'] as const;
  const types = ['Plan', 'Execution', 'Tenant', 'Principal', 'Environment', 'Override'] as const;
  for (let i = 0; i < count; i++) {
    const kind = pick(kinds);
    const tenant = pick(['ten_a', 'ten_b']);
    const principal = {
      id: pick(['prn_1', 'prn_2', 'system']),
      tenantId: 'ten_a',
      name: 'p',
      kind,
      groups: groups.filter(() => next(3) === 0),
      authMethod: kind === 'system' ? ('system' as const) : pick(['api_key', 'oidc'] as const),
    };
    const type = pick(types);
    const resource: AuthzRequest['resource'] = { type, id: `${type.toLowerCase()}_1`, tenantId: tenant };
    if (type !== 'Principal' && type !== 'Tenant') {
      resource.environment = pick(['dev', 'prod']);
      if (type === 'Plan') {
        resource.risk = pick(['low', 'medium', 'high', 'critical'] as const);
        resource.source = pick(['api', 'mcp', 'webhook']);
        resource.proposerId = pick(['prn_1', 'prn_2']);
      }
    }
    yield { principal, action: pick(ACTIONS), resource };
  }
}

test('policy test and the server decide every generated request alike', () => {
  const authorizer = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA);
  const cases = [...requests(20261206, 400)];
  const yaml = stringify({
    tests: cases.map((r, i) => ({
      name: `case ${i}`,
      principal: {
        id: r.principal.id,
        tenant: r.principal.tenantId,
        kind: r.principal.kind,
        groups: [...r.principal.groups],
        name: r.principal.name,
        authMethod: r.principal.authMethod,
      },
      action: r.action,
      resource: {
        type: r.resource.type,
        id: r.resource.id,
        tenant: r.resource.tenantId,
        ...(r.resource.environment ? { environment: r.resource.environment } : {}),
        ...(r.resource.risk ? { risk: r.resource.risk } : {}),
        ...(r.resource.source ? { source: r.resource.source } : {}),
        ...(r.resource.proposerId ? { proposer: r.resource.proposerId } : {}),
      },
      expect: 'allow',
    })),
  });
  const results = runPolicyTests(authorizer, yaml);
  let allowed = 0;
  for (const [i, r] of cases.entries()) {
    const server = decideRequest(authorizer, r).allow ? 'allow' : 'deny';
    if (server === 'allow') allowed++;
    assert.equal(results[i]?.actual, server, `case ${i}: ${JSON.stringify(r)}`);
  }
  assert.ok(allowed > 20 && allowed < cases.length - 20, `the generated set exercises both outcomes (${allowed} allowed)`);
});
