import { z } from 'zod';
import { ToolManifestSchema } from './manifest.ts';

/**
 * Manifest validation messages that say what to do. zod's own words ("expected string, received
 * undefined") name the problem but not the fix; the author of a manifest needs the command that
 * computes a digest, the field they meant, or the quoting YAML wants. Pure: no I/O.
 */

type Issue = z.core.$ZodIssue;
type Json = Record<string, unknown>;

/** Names people reach for, and the field the manifest calls it. */
const ALIASES: Record<string, string> = {
  args: 'argv',
  arguments: 'argv',
  command: 'argv',
  cmd: 'argv',
  inputs: 'input',
  params: 'input',
  parameters: 'input',
  schema: 'input',
  deny: 'denyArgv',
  denylist: 'denyArgv',
  hosts: 'egress',
  network: 'egress',
  allowedHosts: 'egress',
  environment: 'env',
  timeout: 'wallSeconds',
  timeoutSeconds: 'wallSeconds',
  memory: 'memoryMB',
  cpu: 'cpuSeconds',
  hash: 'sha256',
  digest: 'sha256',
  checksum: 'sha256',
  binary: 'path',
  level: 'risk',
};

const at = (doc: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), doc);

const asJson = (v: unknown): Json | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);

let manifestJsonSchema: Json | null = null;

/** The fields the schema allows at a path of the document (for "did you mean"). */
export function knownFieldsAt(doc: unknown, path: readonly PropertyKey[]): string[] {
  manifestJsonSchema ??= z.toJSONSchema(ToolManifestSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  let node: Json | null = manifestJsonSchema;
  const pick = (n: Json, here: readonly PropertyKey[]): Json => {
    const options = (n.anyOf ?? n.oneOf) as Json[] | undefined;
    if (!Array.isArray(options)) return n;
    // An input field: the variant its `type` names, else the string field (the most common).
    const flat = options.flatMap((o) => ((o.anyOf ?? o.oneOf) as Json[] | undefined) ?? [o]);
    const tag = asJson(at(doc, here))?.type;
    return flat.find((o) => asJson(asJson(o.properties)?.type)?.const === tag) ?? flat[0] ?? n;
  };
  for (let i = 0; i < path.length && node; i++) {
    node = pick(node, path.slice(0, i));
    const seg = path[i];
    const props = asJson(node.properties);
    if (typeof seg === 'number') node = asJson(node.items);
    else if (props && typeof seg === 'string' && seg in props) node = asJson(props[seg]);
    else node = asJson(node.additionalProperties);
  }
  if (!node) return [];
  return Object.keys(asJson(pick(node, path).properties) ?? {});
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The allowed field an unknown one most likely meant, if any is close. */
export function suggestField(unknown: string, known: readonly string[]): string | null {
  const alias = ALIASES[unknown];
  if (alias && known.includes(alias)) return alias;
  const lower = unknown.toLowerCase();
  const same = known.find((k) => k.toLowerCase() === lower);
  if (same) return same;
  let best: { name: string; d: number } | null = null;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d <= Math.max(1, Math.floor(k.length / 3)) && (!best || d < best.d)) best = { name: k, d };
  }
  return best?.name ?? null;
}

const pathText = (path: readonly PropertyKey[]): string => (path.length ? path.map(String).join('.') : '(root)');

function hashHint(doc: unknown): string {
  const p = at(doc, ['executable', 'path']);
  const exe = typeof p === 'string' && p.startsWith('/') ? p : '/path/to/executable';
  return `run \`sha256sum ${exe}\` (or \`countersign tool hash ${exe}\`) and put the 64 lowercase hex characters it prints here`;
}

function sha256Message(value: unknown, doc: unknown): string {
  if (value === undefined) return `missing: the manifest pins the program by its SHA-256; ${hashHint(doc)}`;
  if (typeof value === 'string') {
    if (/^sha256:/i.test(value)) return `write the hex digest alone, without the "sha256:" prefix`;
    if (/^[0-9a-fA-F]{64}$/.test(value)) return `write the digest in lowercase hex (${value.toLowerCase()})`;
    return `"${value.slice(0, 80)}" is not a SHA-256 (64 lowercase hex characters); ${hashHint(doc)}`;
  }
  return `expected the digest as a string; ${hashHint(doc)}`;
}

/** One issue in words that say what to do, prefixed with where it is. */
export function explainManifestIssue(issue: Issue, doc: unknown): string {
  const path = issue.path;
  const where = pathText(path);
  const value = at(doc, path);
  const last = path.at(-1);
  if (issue.code === 'unrecognized_keys') {
    const known = knownFieldsAt(doc, path);
    return issue.keys
      .map((key) => {
        if (key === 'value' && path.includes('secrets')) {
          return `${where}: "value" is not allowed: a secret is referenced with from: env:NAME or from: file:/path and read by the executor when the step runs; never write a secret into a manifest`;
        }
        const guess = suggestField(key, known);
        const allowed = known.length > 0 ? ` (allowed here: ${known.join(', ')})` : '';
        return `${where}: unknown field "${key}"${guess ? `; did you mean "${guess}"?` : allowed}`;
      })
      .join('; ');
  }
  if (path.length === 0 && issue.code === 'invalid_type') {
    return `${where}: the file is empty or not a YAML mapping: a manifest starts with apiVersion: countersign/v1 and kind: Tool`;
  }
  if (path.length === 2 && path[0] === 'executable' && last === 'sha256') return `${where}: ${sha256Message(value, doc)}`;
  if (path.length === 2 && path[0] === 'executable' && last === 'path') {
    return `${where}: ${value === undefined ? 'missing' : `"${String(value)}" is not absolute`}: give the absolute path of the program (\`command -v NAME\` prints it)`;
  }
  if (path.length === 1 && last === 'executable' && value === undefined) {
    return `${where}: missing: add executable: {path: /absolute/path, sha256: …}; \`countersign tool new PATH\` writes both`;
  }
  if (path.length === 1 && last === 'apiVersion') return `${where}: the first line of a manifest is apiVersion: countersign/v1`;
  if (path.length === 1 && last === 'kind') return `${where}: a tool manifest says kind: Tool`;
  if (path.length === 1 && last === 'version' && typeof value === 'number') {
    return `${where}: YAML read ${String(value)} as a number: quote the version, e.g. version: "1.0.0"`;
  }
  if (path.length === 1 && last === 'version') return `${where}: expected a semantic version such as "1.0.0" (quoted)`;
  if (path.length === 1 && last === 'actions' && value === undefined) {
    return `${where}: missing: a tool needs at least one action, e.g. actions: {run: {argv: [], risk: low}}`;
  }
  if (last === 'risk' && path[0] === 'actions') {
    return `${where}: every action declares its base risk: one of low, medium, high, critical`;
  }
  if (path.at(-2) === 'env' && typeof value !== 'string' && value !== undefined) {
    return `${where}: environment values are strings: quote it, e.g. ${String(last)}: "${String(value)}"`;
  }
  if (issue.code === 'invalid_union' && path.at(-2) === 'properties') {
    const t = asJson(value)?.type;
    return `${where}: ${t === undefined ? 'missing type' : `unknown type "${String(t)}"`}: an input field has type string, integer, number, boolean or array (with items)`;
  }
  if (path.at(-2) === 'egress') return `${where}: ${issue.message}, e.g. api.example.com:443 (no scheme, no path)`;
  if (issue.code === 'custom' && /placeholder/.test(issue.message)) {
    return `${where}: ${issue.message}: declare it under input.properties or fix the spelling`;
  }
  return `${where}: ${issue.message}`;
}

/** All issues of a failed parse (at most `limit`), each explained. */
export function explainManifestIssues(issues: readonly Issue[], doc: unknown, limit = 5): string {
  const shown = issues.slice(0, limit).map((i) => explainManifestIssue(i, doc));
  const more = issues.length > limit ? `; and ${issues.length - limit} more` : '';
  return `${shown.join('; ')}${more}`;
}
