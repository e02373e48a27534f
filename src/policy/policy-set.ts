import { createHash } from 'node:crypto';
import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { CountersignError } from '../errors/index.ts';
import { toCedarRequest } from './entities.ts';
import { CEDAR_NAMESPACE } from './schema.ts';
import { ACTIONS, type AuthzRequest, type PrivilegedAction, type ResourceType } from './types.ts';

/** The part of cedar-wasm the authorizer uses; tests substitute one that fails. */
export type CedarEngine = Pick<
  typeof cedar,
  'checkParseSchema' | 'validate' | 'policyToJson' | 'schemaToJson' | 'preparseSchema' | 'preparsePolicySet' | 'statefulIsAuthorized'
>;

export const defaultCedarEngine: CedarEngine = cedar;

const RESOURCE_TYPES: readonly ResourceType[] = ['Plan', 'Execution', 'Tenant', 'Principal', 'Environment', 'Override'];

/** A policy set checked against its schema and cached inside the engine. */
export interface CompiledPolicySet {
  schemaName: string;
  policySetId: string;
  policyIds: string[];
  /** policy id → its `@reason("...")` annotation, the sentence a denial carries. */
  reasons: Map<string, string>;
  /** action → the resource types the schema lets it be asked about. */
  appliesTo: Map<PrivilegedAction, ResourceType[]>;
  /** The context attributes the schema declares per action (`channel`): only those are sent. */
  contextAttributes: Map<PrivilegedAction, ReadonlySet<string>>;
  /**
   * Every entity type some policy names an entity of (`Countersign::Plan::"pln_…"`, in its scope
   * or its conditions), by full name and by its last name. Entities of any other type can only be
   * told apart by the attributes and parents the request gives them, never by their id.
   */
  entityLiteralTypes: ReadonlySet<string>;
  warnings: string[];
}

/**
 * Adds to `into` the type of every entity literal in a policy's JSON form. Conservative: any
 * object with a string `type` and a string `id` counts (scope constraints, `__entity` values,
 * action lists alike), so a form this walk does not know still marks its type.
 */
export function collectEntityLiteralTypes(json: unknown, into: Set<string>): void {
  if (Array.isArray(json)) {
    for (const item of json) collectEntityLiteralTypes(item, into);
    return;
  }
  if (json === null || typeof json !== 'object') return;
  const record = json as Record<string, unknown>;
  if (typeof record.type === 'string' && typeof record.id === 'string') {
    into.add(record.type);
    into.add(record.type.split('::').at(-1) ?? record.type);
  }
  for (const value of Object.values(record)) collectEntityLiteralTypes(value, into);
}

/** One line per engine error: message, help, and the source text it points at. */
export function describeCedarErrors(errors: readonly DetailedError[], source?: string): string {
  return errors
    .map((e) => {
      const loc = e.sourceLocations?.[0];
      const near = source !== undefined && loc ? source.slice(loc.start, Math.min(loc.end, loc.start + 80)).trim() : '';
      return `${e.message}${e.help ? ` (${e.help})` : ''}${near ? ` near "${near}"` : ''}`;
    })
    .join('; ');
}

function invalid(message: string, cause?: unknown): CountersignError {
  return new CountersignError('CONFIG_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Content-addressed cache names: reloading the same text reuses the engine's slot instead of adding one. */
function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

/** The attribute names of an action's declared context record (an empty set when it has none). */
function readContextAttributes(engine: CedarEngine, schema: string): Map<PrivilegedAction, ReadonlySet<string>> {
  const json = engine.schemaToJson(schema);
  const out = new Map<PrivilegedAction, ReadonlySet<string>>();
  if (json.type === 'failure') return out;
  const actions = json.json[CEDAR_NAMESPACE]?.actions ?? {};
  for (const action of ACTIONS) {
    const context = (actions[action]?.appliesTo as { context?: { attributes?: Record<string, unknown> } } | undefined)?.context;
    out.set(action, new Set(Object.keys(context?.attributes ?? {})));
  }
  return out;
}

/** The Cedar context of a request: the declared attributes only (a schema without them gets `{}`). */
export function cedarContext(declared: ReadonlySet<string> | undefined, request: AuthzRequest): Record<string, string> {
  const context: Record<string, string> = {};
  // A caller that names no channel (policy tests, doctor's probes) is "unspecified": never "chat".
  if (declared?.has('channel')) context.channel = request.context?.channel ?? 'unspecified';
  return context;
}

function readAppliesTo(engine: CedarEngine, schema: string): Map<PrivilegedAction, ResourceType[]> {
  const json = engine.schemaToJson(schema);
  if (json.type === 'failure') throw invalid(`policy schema: ${describeCedarErrors(json.errors, schema)}`);
  const actions = json.json[CEDAR_NAMESPACE]?.actions ?? {};
  const strip = (name: string) => name.replace(`${CEDAR_NAMESPACE}::`, '');
  const appliesTo = new Map<PrivilegedAction, ResourceType[]>();
  for (const action of ACTIONS) {
    const spec = actions[action]?.appliesTo;
    if (!spec) {
      throw invalid(
        `policy schema: action "${action}" is not declared in namespace ${CEDAR_NAMESPACE} with appliesTo (a data directory made by an earlier release: \`countersign policy upgrade\` brings its baseline policies and schema to this release)`,
      );
    }
    if (!spec.principalTypes.map(strip).includes('Principal')) {
      throw invalid(`policy schema: action "${action}" does not apply to principal type ${CEDAR_NAMESPACE}::Principal`);
    }
    const types = RESOURCE_TYPES.filter((t) => spec.resourceTypes.map(strip).includes(t));
    if (types.length === 0) throw invalid(`policy schema: action "${action}" applies to no Countersign resource type`);
    appliesTo.set(action, types);
  }
  return appliesTo;
}

function probeRequest(action: PrivilegedAction, type: ResourceType): AuthzRequest {
  return {
    principal: { id: 'probe-caller', tenantId: 'probe', name: 'probe', kind: 'human', groups: ['probe'], authMethod: 'system' },
    action,
    resource: {
      type,
      id: 'probe-resource',
      tenantId: 'probe',
      environment: 'probe',
      risk: 'low',
      source: 'api',
      proposerId: 'probe-proposer',
    },
  };
}

/**
 * Policy sets this process has compiled, per engine, by their content (schema, policies, file
 * names): one process loads the same set several times (init checks it, a server context loads
 * it, a reload reads it again unchanged), and validating it again finds what it found before.
 * Only sets that compiled are kept; the engine keeps their preparsed forms under the same names,
 * so this grows with the number of distinct sets loaded, like the engine's own cache.
 */
const compiledSets = new WeakMap<CedarEngine, Map<string, CompiledPolicySet>>();

/**
 * Validates `policies` (id → the text of one static policy) strictly against `schema`, checks
 * the schema accepts every entity and action Countersign sends, and preparses both in the
 * engine. Throws CONFIG_INVALID naming the policy (and file) on any problem: a policy set that
 * cannot be trusted is never half-loaded. A set this process already compiled with this engine
 * is returned as compiled then.
 */
export function compilePolicySet(
  engine: CedarEngine,
  policies: Readonly<Record<string, string>>,
  schema: string,
  policyFiles: Readonly<Record<string, string>> = {},
): CompiledPolicySet {
  const byContent = (record: Readonly<Record<string, string>>) => Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1));
  const key = digest([schema, byContent(policies), byContent(policyFiles)]);
  const cache = compiledSets.get(engine) ?? new Map<string, CompiledPolicySet>();
  const known = cache.get(key);
  if (known) return known;
  const fresh = compileUncached(engine, policies, schema, policyFiles);
  cache.set(key, fresh);
  compiledSets.set(engine, cache);
  return fresh;
}

function compileUncached(
  engine: CedarEngine,
  policies: Readonly<Record<string, string>>,
  schema: string,
  policyFiles: Readonly<Record<string, string>>,
): CompiledPolicySet {
  const where = (id: string) => `policy "${id}"${policyFiles[id] ? ` (${policyFiles[id]})` : ''}`;
  const parsedSchema = engine.checkParseSchema(schema);
  if (parsedSchema.type === 'failure') throw invalid(`policy schema: ${describeCedarErrors(parsedSchema.errors, schema)}`);

  const staticPolicies = { ...policies };
  const validation = engine.validate({ schema, policies: { staticPolicies }, validationSettings: { mode: 'strict' } });
  if (validation.type === 'failure') throw invalid(`policy set does not parse: ${describeCedarErrors(validation.errors)}`);
  if (validation.validationErrors.length > 0) {
    const lines = validation.validationErrors.map((v) => `${where(v.policyId)}: ${describeCedarErrors([v.error], policies[v.policyId])}`);
    throw invalid(`policy set fails strict validation against the schema: ${lines.join('; ')}`);
  }
  const warnings = validation.validationWarnings.map((v) => `${where(v.policyId)}: ${v.error.message}`);

  const reasons = new Map<string, string>();
  const entityLiteralTypes = new Set<string>();
  for (const [id, text] of Object.entries(policies)) {
    const json = engine.policyToJson(text);
    if (json.type === 'failure') throw invalid(`${where(id)}: ${describeCedarErrors(json.errors, text)}`);
    collectEntityLiteralTypes(json.json, entityLiteralTypes);
    const annotations = json.json.annotations ?? {};
    // An @id that disagrees with the id decisions report would make audit entries misleading.
    if (annotations.id !== undefined && annotations.id !== id) {
      throw invalid(`${where(id)}: its @id("${annotations.id}") annotation differs from the id it was loaded under`);
    }
    if (annotations.reason) reasons.set(id, annotations.reason);
  }

  const appliesTo = readAppliesTo(engine, schema);
  const contextAttributes = readContextAttributes(engine, schema);
  const schemaName = `countersign-schema-${digest(schema)}`;
  const policySetId = `countersign-policies-${digest(Object.entries(staticPolicies).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
  const preSchema = engine.preparseSchema(schemaName, schema);
  if (preSchema.type === 'failure') throw invalid(`policy schema: ${describeCedarErrors(preSchema.errors, schema)}`);
  const preSet = engine.preparsePolicySet(policySetId, { staticPolicies });
  if (preSet.type === 'failure') throw invalid(`policy set: ${describeCedarErrors(preSet.errors)}`);

  // Probe every (action, resource type) once: a schema that rejects the entities Countersign
  // builds would otherwise turn every request into POLICY_UNAVAILABLE at run time.
  for (const [action, types] of appliesTo) {
    for (const type of types) {
      const probe = { ...probeRequest(action, type), context: { channel: 'api' } };
      const request = toCedarRequest(probe);
      const answer = engine.statefulIsAuthorized({
        ...request,
        context: cedarContext(contextAttributes.get(action), probe),
        preparsedSchemaName: schemaName,
        preparsedPolicySetId: policySetId,
        validateRequest: true,
      });
      if (answer.type === 'failure') {
        throw invalid(
          `policy schema does not accept the ${action} request Countersign sends for a ${type}: ${describeCedarErrors(answer.errors)}`,
        );
      }
    }
  }

  return {
    schemaName,
    policySetId,
    policyIds: Object.keys(policies).sort(),
    reasons,
    appliesTo,
    contextAttributes,
    entityLiteralTypes,
    warnings,
  };
}
