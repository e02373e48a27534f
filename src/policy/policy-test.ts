import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { RiskSchema } from '../tools/index.ts';
import { decideRequest } from './decide.ts';
import { ACTIONS, type Authorizer, type AuthzRequest } from './types.ts';

/**
 * Policy test files: requests with the decision they must get, so an operator can check a
 * policy change before loading it (`countersign policy test`), and see what a change moves
 * (`diffPolicies`). Objects are strict so a misspelt field is an error, not a silent default.
 */
const PrincipalYaml = z
  .object({
    id: z.string().min(1),
    tenant: z.string().min(1),
    kind: z.enum(['human', 'agent', 'system']),
    groups: z.array(z.string().min(1)).default([]),
    name: z.string().optional(),
    authMethod: z.enum(['api_key', 'oidc', 'system']).optional(),
  })
  .strict();

const ResourceYaml = z
  .object({
    type: z.enum(['Plan', 'Execution', 'Tenant', 'Principal', 'Environment', 'Override']),
    id: z.string().min(1),
    tenant: z.string().min(1),
    environment: z.string().optional(),
    risk: RiskSchema.optional(),
    source: z.string().optional(),
    proposer: z.string().min(1).optional(),
  })
  .strict();

const RequestYaml = z
  .object({
    name: z.string().min(1),
    principal: PrincipalYaml,
    action: z.enum(ACTIONS),
    resource: ResourceYaml,
    expect: z.enum(['allow', 'deny']).optional(),
  })
  .strict();

const FileYaml = z.object({ tests: z.array(RequestYaml).min(1) }).strict();

export type PolicyOutcome = 'allow' | 'deny';

export interface PolicyTestCase {
  name: string;
  request: AuthzRequest;
  expected: PolicyOutcome | undefined;
}

export interface PolicyTestResult {
  name: string;
  expected: PolicyOutcome;
  actual: PolicyOutcome;
  pass: boolean;
  /** Allowing policy ids for an allow; the denial reasons (with the code) for a deny. */
  reasons: string[];
}

export interface PolicyDiffEntry {
  name: string;
  before: PolicyOutcome;
  after: PolicyOutcome;
  beforeReasons: string[];
  afterReasons: string[];
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/**
 * Parses a policy test file into requests. Throws VALIDATION_FAILED naming the test index, its
 * name when it has one, and the field: `tests[2] ("agent cannot approve").principal.kind: ...`.
 */
export function parsePolicyTests(yamlText: string, options: { requireExpect: boolean }): PolicyTestCase[] {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (err) {
    throw new CountersignError('VALIDATION_FAILED', `policy tests are not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = FileYaml.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const [head, index, ...rest] = issue.path;
      if (head === 'tests' && typeof index === 'number') {
        const name = (doc as { tests?: { name?: unknown }[] }).tests?.[index]?.name;
        const label = typeof name === 'string' ? ` ("${name}")` : '';
        return { index, field: fieldPath(rest).slice(1) || '(test)', text: `tests[${index}]${label}${fieldPath(rest)}: ${issue.message}` };
      }
      return {
        index: undefined,
        field: fieldPath(issue.path).slice(1) || '(file)',
        text: `${fieldPath(issue.path).slice(1) || '(file)'}: ${issue.message}`,
      };
    });
    throw new CountersignError('VALIDATION_FAILED', `policy tests are invalid: ${issues.map((i) => i.text).join('; ')}`, {
      details: { issues: issues.map(({ index, field, text }) => ({ index, field, message: text })) },
    });
  }
  return parsed.data.tests.map((t, index) => {
    if (options.requireExpect && t.expect === undefined) {
      throw new CountersignError(
        'VALIDATION_FAILED',
        `policy tests are invalid: tests[${index}] ("${t.name}").expect: required (allow or deny)`,
        {
          details: { issues: [{ index, field: 'expect', message: 'required' }] },
        },
      );
    }
    const resource: AuthzRequest['resource'] = { type: t.resource.type, id: t.resource.id, tenantId: t.resource.tenant };
    if (t.resource.environment !== undefined) resource.environment = t.resource.environment;
    if (t.resource.risk !== undefined) resource.risk = t.resource.risk;
    if (t.resource.source !== undefined) resource.source = t.resource.source;
    if (t.resource.proposer !== undefined) resource.proposerId = t.resource.proposer;
    const p = t.principal;
    const principal = {
      id: p.id,
      tenantId: p.tenant,
      name: p.name ?? p.id,
      kind: p.kind,
      groups: p.groups,
      authMethod: p.authMethod ?? (p.kind === 'agent' ? 'api_key' : 'oidc'),
    } as const;
    return { name: t.name, request: { principal, action: t.action, resource }, expected: t.expect };
  });
}

/**
 * Decides one request exactly as the server does: the same function (code rules, then Cedar,
 * failing closed), so a test file cannot pass where the server would refuse.
 */
function decide(authorizer: Authorizer, request: AuthzRequest): { outcome: PolicyOutcome; reasons: string[] } {
  const decision = decideRequest(authorizer, request);
  if (decision.allow) return { outcome: 'allow', reasons: [...decision.policies] };
  return { outcome: 'deny', reasons: decision.reasons.map((r) => `${decision.code}: ${r}`) };
}

/** Runs a policy test file against an authorizer; every test must carry `expect`. */
export function runPolicyTests(authorizer: Authorizer, yamlText: string): PolicyTestResult[] {
  return parsePolicyTests(yamlText, { requireExpect: true }).map((t) => {
    const expected = t.expected ?? 'deny';
    const { outcome, reasons } = decide(authorizer, t.request);
    return { name: t.name, expected, actual: outcome, pass: outcome === expected, reasons };
  });
}

/**
 * Decides every request of a test file (`expect` optional) under both authorizers and lists
 * those whose outcome changes, e.g. to review a policy edit before loading it.
 */
export function diffPolicies(oldAuthorizer: Authorizer, newAuthorizer: Authorizer, requestsYaml: string): PolicyDiffEntry[] {
  const changed: PolicyDiffEntry[] = [];
  for (const t of parsePolicyTests(requestsYaml, { requireExpect: false })) {
    const before = decide(oldAuthorizer, t.request);
    const after = decide(newAuthorizer, t.request);
    if (before.outcome !== after.outcome) {
      changed.push({
        name: t.name,
        before: before.outcome,
        after: after.outcome,
        beforeReasons: before.reasons,
        afterReasons: after.reasons,
      });
    }
  }
  return changed;
}
