import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { policySetTextToParts, policyToJson } from '@cedar-policy/cedar-wasm/nodejs';
import { CountersignError } from '../errors/index.ts';
import { BASELINE_POLICIES } from './baseline.ts';
import { checkCanaries } from './canaries.ts';
import { CedarAuthorizer, type CedarAuthorizerOptions } from './cedar.ts';
import { describeCedarErrors } from './policy-set.ts';
import { BASELINE_SCHEMA, SCHEMA_FILE } from './schema.ts';

/**
 * Policy ids, the names decisions and audit entries carry:
 * - a policy annotated `@id("name")` has id `name`;
 * - a file holding exactly one policy without `@id` takes the file name without `.cedar`;
 * - a file holding several policies must annotate every one with `@id` — positions are not
 *   ids, because inserting a policy would silently rename every policy after it in the audit log.
 * Ids are unique across the directory and match POLICY_ID; anything else is CONFIG_INVALID.
 */
export const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The policies of one directory: id → text of one policy, the schema, and id → file name. */
export interface PolicyDir {
  policies: Record<string, string>;
  schema: string;
  files: Record<string, string>;
}

function invalid(message: string, cause?: unknown): CountersignError {
  return new CountersignError('CONFIG_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Splits one `.cedar` file into id → policy text, following the id scheme above. */
export function splitPolicyFile(fileName: string, text: string): Record<string, string> {
  const parts = policySetTextToParts(text);
  if (parts.type === 'failure') throw invalid(`${fileName}: ${describeCedarErrors(parts.errors, text)}`);
  if (parts.policy_templates.length > 0) {
    throw invalid(`${fileName}: policy templates (?principal, ?resource) are not supported; write static policies`);
  }
  const out: Record<string, string> = {};
  for (const policy of parts.policies) {
    const json = policyToJson(policy);
    if (json.type === 'failure') throw invalid(`${fileName}: ${describeCedarErrors(json.errors, policy)}`);
    let id = json.json.annotations?.id;
    if (id === undefined) {
      if (parts.policies.length > 1) {
        const head = policy.replace(/\s+/g, ' ').slice(0, 60);
        throw invalid(
          `${fileName}: the policy starting "${head}" has no @id("...") annotation; a file with several policies must name each one`,
        );
      }
      id = fileName.replace(/\.cedar$/, '');
    }
    if (!POLICY_ID.test(id)) throw invalid(`${fileName}: policy id "${id}" must be letters, digits, '.', '_', ':' or '-'`);
    if (id in out) throw invalid(`${fileName}: policy id "${id}" is used twice`);
    out[id] = policy;
  }
  return out;
}

/** The baseline as id → policy text: what loadPolicyDir returns right after writeBaselinePolicies. */
export function baselinePolicySet(): Record<string, string> {
  const policies: Record<string, string> = {};
  for (const [name, text] of Object.entries(BASELINE_POLICIES)) Object.assign(policies, splitPolicyFile(name, text));
  return policies;
}

/** The directory the policy files live in, under a data directory. */
export function policiesPath(dataDir: string): string {
  return join(dataDir, 'policies');
}

/**
 * Reads `<dataDir>/policies/*.cedar` (in name order) and `<dataDir>/policies/schema.cedarschema`.
 * Throws CONFIG_INVALID naming the file on a missing directory, schema, parse error or id
 * clash; an empty policy set is refused too, since it would deny everything silently.
 */
export function loadPolicyDir(dataDir: string): PolicyDir {
  const dir = policiesPath(dataDir);
  let names: string[];
  let schema: string;
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.cedar'))
      .sort();
    schema = readFileSync(join(dir, SCHEMA_FILE), 'utf8');
  } catch (err) {
    throw invalid(`cannot read the policy directory ${dir}: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  const policies: Record<string, string> = {};
  const files: Record<string, string> = {};
  for (const name of names) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const [id, policy] of Object.entries(splitPolicyFile(name, text))) {
      if (files[id] !== undefined) throw invalid(`policy id "${id}" is defined in both ${files[id]} and ${name}`);
      policies[id] = policy;
      files[id] = name;
    }
  }
  if (Object.keys(policies).length === 0) throw invalid(`no policies in ${dir}: add .cedar files (an empty set would deny everything)`);
  return { policies, schema, files };
}

/**
 * Loads a policy directory into the authorizer the server serves with. CONFIG_INVALID on any
 * problem, including a policy set that allows a canary (named in the message): a set that
 * breaks an invariant is never served. To inspect such a set (policy test, diff), build a
 * CedarAuthorizer from loadPolicyDir instead.
 */
export function loadCedarAuthorizer(dataDir: string, options: Omit<CedarAuthorizerOptions, 'policyFiles'> = {}): CedarAuthorizer {
  const loaded = loadPolicyDir(dataDir);
  const authorizer = new CedarAuthorizer(loaded.policies, loaded.schema, { ...options, policyFiles: loaded.files });
  const canaries = checkCanaries(authorizer);
  if (!canaries.ok) {
    const names = canaries.failed.map((n) => `"${n}"`).join(', ');
    throw invalid(`the policy set in ${policiesPath(dataDir)} allows requests that must always be denied: ${names}`);
  }
  return authorizer;
}

/**
 * Writes the baseline policies and schema to `<dataDir>/policies/`. Refuses to replace existing
 * files (ALREADY_INITIALIZED) unless `overwrite` is set, so a re-run of init never silently
 * reverts an operator's policy edits.
 */
export function writeBaselinePolicies(dataDir: string, options: { overwrite?: boolean } = {}): string[] {
  const dir = policiesPath(dataDir);
  mkdirSync(dir, { recursive: true });
  const flag = options.overwrite ? 'w' : 'wx';
  const written: string[] = [];
  const files: [string, string][] = [...Object.entries(BASELINE_POLICIES), [SCHEMA_FILE, BASELINE_SCHEMA]];
  for (const [name, text] of files) {
    const path = join(dir, name);
    try {
      writeFileSync(path, text, { flag, mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CountersignError('ALREADY_INITIALIZED', `${path} already exists; not replacing an existing policy file`, { cause: err });
      }
      throw err;
    }
    written.push(path);
  }
  return written;
}
