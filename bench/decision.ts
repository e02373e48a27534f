// Figure: the requirePrivilege decision in process — decideRequest() over the baseline CedarAuthorizer —
// against bare cedar-wasm statefulIsAuthorized on the same preparsed policies, schema and request.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { toCedarRequest } from '../src/policy/entities.ts';
import { BASELINE_SCHEMA, baselinePolicySet, CedarAuthorizer, decideRequest } from '../src/policy/index.ts';
import type { AuthzRequest } from '../src/policy/types.ts';
import { percentiles, progress, type Row, sampleAlternating, sampleSync, type Target } from './lib.ts';

const SAMPLES = 10_000;
const WARMUP = 1_000;
/** The stateless call re-parses schema and policies each time (~0.7 ms): a few hundred suffice. */
const STATELESS_SAMPLES = 200;
const P50: Target = { op: '<=', value: 0.2, text: 'p50 ≤ 0.2 ms' };
const P99: Target = { op: '<=', value: 1, text: 'p99 ≤ 1 ms' };

const TENANT = 'ten_01jbench0000000000000000';

/** Two requests the API makes all day: an agent proposing, a human reviewing someone else's prod plan. */
const REQUESTS: { name: string; request: AuthzRequest }[] = [
  {
    name: 'agent proposes',
    request: {
      principal: { tenantId: TENANT, id: 'prn_agent', name: 'deploy-bot', kind: 'agent', groups: ['agent'], authMethod: 'api_key' },
      action: 'plan.propose',
      resource: { type: 'Environment', id: 'dev', tenantId: TENANT, environment: 'dev' },
    },
  },
  {
    name: 'human approves',
    request: {
      principal: { tenantId: TENANT, id: 'prn_alice', name: 'alice', kind: 'human', groups: ['approvers', 'sre'], authMethod: 'oidc' },
      action: 'plan.approve',
      // Reviews carry the channel they came through (the schema declares it for plan.approve).
      context: { channel: 'api' },
      resource: {
        type: 'Plan',
        id: 'pln_01jbench0000000000000001',
        tenantId: TENANT,
        environment: 'prod',
        risk: 'high',
        source: 'api',
        proposerId: 'prn_agent',
      },
    },
  },
];

export async function run(): Promise<Row[]> {
  const policies = baselinePolicySet();
  const authorizer = new CedarAuthorizer(policies, BASELINE_SCHEMA);
  // The floor preparses the same texts under its own names, as CedarAuthorizer does internally.
  const schemaName = 'bench-schema';
  const policySetId = 'bench-policies';
  const s = cedar.preparseSchema(schemaName, BASELINE_SCHEMA);
  const p = cedar.preparsePolicySet(policySetId, { staticPolicies: policies });
  if (s.type !== 'success' || p.type !== 'success') throw new Error('cedar could not preparse the baseline');

  const rows: Row[] = [];
  for (const { name, request } of REQUESTS) {
    const product = decideRequest(authorizer, request);
    if (!product.allow) throw new Error(`${name}: the baseline should allow this request, got ${JSON.stringify(product)}`);
    // The floor gets the context the product sends: the channel, where the schema declares one.
    const cedarRequest = { ...toCedarRequest(request), context: request.context ?? {} };
    const stateful = { ...cedarRequest, preparsedSchemaName: schemaName, preparsedPolicySetId: policySetId, validateRequest: true };
    const bare = cedar.statefulIsAuthorized(stateful);
    if (bare.type !== 'success' || bare.response.decision !== 'allow')
      throw new Error(`${name}: bare Cedar does not allow: ${JSON.stringify(bare)}`);

    progress(`decision (${name}): ${SAMPLES} timed calls each`);
    const [floorSamples, productSamples] = sampleAlternating(SAMPLES, WARMUP, [
      () => cedar.statefulIsAuthorized(stateful),
      () => decideRequest(authorizer, request),
    ]);
    const floor = percentiles(floorSamples!);
    const measured = percentiles(productSamples!);
    const stateless = percentiles(
      sampleSync(STATELESS_SAMPLES, 20, () =>
        cedar.isAuthorized({ ...cedarRequest, schema: BASELINE_SCHEMA, policies: { staticPolicies: policies }, validateRequest: true }),
      ),
    );

    const id = `decision.${request.action}`;
    const detail = { samples: SAMPLES, meanMs: measured.mean, maxMs: measured.max, floorMeanMs: floor.mean };
    rows.push(
      {
        id: `${id}.p50`,
        figure: `requirePrivilege decide p50, ${name}`,
        kind: 'latency',
        value: measured.p50,
        floor: { label: 'bare statefulIsAuthorized', value: floor.p50 },
        target: P50,
        detail,
        notes: [
          `decideRequest(CedarAuthorizer) = toCedarRequest + statefulIsAuthorized(validateRequest) + reading the answer; stateless isAuthorized with the same request: p50 ${stateless.p50.toFixed(3)} ms`,
        ],
      },
      {
        id: `${id}.p99`,
        figure: `requirePrivilege decide p99, ${name}`,
        kind: 'latency',
        value: measured.p99,
        floor: { label: 'bare statefulIsAuthorized', value: floor.p99 },
        target: P99,
        detail,
      },
    );
  }
  return rows;
}
