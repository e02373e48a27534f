import { z } from 'zod';

/**
 * The fields of a zod schema as rows of a reference table, read from the JSON Schema zod itself
 * emits (`z.toJSONSchema`, input side, so defaults make a field optional). Nothing is typed by
 * hand: a field added to a schema appears here, and one without a `.describe()` is reported by
 * `undescribedFields` so a test can refuse it.
 */
export interface FieldRow {
  /** Dotted path: `<name>` for a map's key, `[]` for list items, `[type=x]` for one variant of a union. */
  path: string;
  type: string;
  required: boolean;
  /** The default as YAML-ish text, or null when there is none. */
  default: string | null;
  constraints: string[];
  description: string;
}

type Json = Record<string, unknown>;

/** What a map's key is called in a path, by the field that holds the map. */
const KEY_LABELS: Record<string, string> = {
  actions: '<action>',
  properties: '<field>',
  env: '<VARIABLE>',
  environments: '<environment>',
};

/** zod marks integers with the safe-integer range; that says nothing to a reader. */
const SAFE = Number.MAX_SAFE_INTEGER;

const asJson = (v: unknown): Json | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);

function variantsOf(node: Json): Json[] | null {
  const list = (node.anyOf ?? node.oneOf) as unknown[] | undefined;
  if (!Array.isArray(list)) return null;
  // A union of unions (zod's scalar-or-array input field) is one flat list of variants to a reader.
  return list.flatMap((v) => {
    const j = asJson(v) ?? {};
    return variantsOf(j) ?? [j];
  });
}

/** The `type` constant that tells a union's object variants apart, when there is one. */
function discriminator(variant: Json): string | null {
  const t = asJson(asJson(variant.properties)?.type);
  return typeof t?.const === 'string' ? t.const : null;
}

function isMap(node: Json): boolean {
  return node.type === 'object' && asJson(node.additionalProperties) !== null;
}

export function typeOf(node: Json): string {
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (Array.isArray(node.enum)) return `one of ${node.enum.map((e) => `\`${String(e)}\``).join(', ')}`;
  const variants = variantsOf(node);
  if (variants) {
    const tags = variants.map(discriminator);
    if (tags.every((t) => t !== null)) return `object chosen by \`type\`: ${tags.map((t) => `\`${t}\``).join(', ')}`;
    return variants.map(typeOf).join(' or ');
  }
  if (node.type === 'array') return `list of ${typeOf(asJson(node.items) ?? {})}`;
  if (isMap(node)) return `map of name → ${typeOf(asJson(node.additionalProperties) ?? {})}`;
  if (typeof node.type === 'string') return node.type;
  return 'any';
}

function range(min: unknown, max: unknown, unit: string): string | null {
  const lo = typeof min === 'number' && min > -SAFE ? min : null;
  const hi = typeof max === 'number' && max < SAFE ? max : null;
  if (lo !== null && hi !== null) return `${lo} to ${hi}${unit}`;
  if (lo === 1 && unit !== '') return 'not empty';
  if (lo !== null) return `at least ${lo}${unit}`;
  if (hi !== null) return `at most ${hi}${unit}`;
  return null;
}

function patternText(node: Json): string | null {
  if (typeof node.pattern !== 'string') return null;
  // zod's startsWith('/') is emitted as this pattern: say what it means.
  if (node.format === 'starts_with' && node.pattern === '^\\/.*') return 'an absolute path (starts with `/`)';
  return `matches \`${node.pattern}\``;
}

function formatText(node: Json): string | null {
  if (typeof node.format !== 'string' || node.format === 'starts_with') return null;
  return node.format === 'uri' ? 'an absolute URL' : `format \`${node.format}\``;
}

/** The checks of one node a reader needs, in words (not its type, which has its own column). */
export function constraintsOf(node: Json): string[] {
  const out: string[] = [];
  const chars = range(node.minLength, node.maxLength, ' characters');
  if (chars) out.push(chars);
  const value = range(node.minimum, node.maximum, '');
  if (value) out.push(value);
  const items = range(node.minItems, node.maxItems, ' items');
  if (items) out.push(items);
  const pattern = patternText(node);
  if (pattern) out.push(pattern);
  const format = formatText(node);
  if (format) out.push(format);
  if (node.type === 'array') {
    const each = asJson(node.items);
    if (each && !variantsOf(each) && each.type !== 'object') {
      const inner = constraintsOf(each);
      if (inner.length > 0) out.push(`each item: ${inner.join(', ')}`);
    }
  }
  if (isMap(node)) {
    const keys = asJson(node.propertyNames);
    const keyRule = keys ? patternText(keys) : null;
    if (keyRule) out.push(`names ${keyRule}`);
    const value = asJson(node.additionalProperties);
    if (value && value.type !== 'object' && !variantsOf(value)) {
      const inner = constraintsOf(value);
      if (inner.length > 0) out.push(`each value: ${inner.join(', ')}`);
    }
  }
  if (node.type === 'object' && node.additionalProperties === false) out.push('unknown fields refused');
  return out;
}

function defaultText(node: Json): string | null {
  if (!('default' in node)) return null;
  const d = node.default;
  const text = JSON.stringify(d);
  // A whole default object is each of its fields' defaults, listed on their own rows.
  if (asJson(d) && Object.keys(d as Json).length > 0 && asJson(node.properties)) return 'each field’s default';
  return `\`${text}\``;
}

/** The sub-schema of a node whose own fields are listed below it: an object, or the object inside a list or map. */
function containerOf(node: Json): { node: Json; suffix: string } | null {
  if (asJson(node.properties) || variantsOf(node)) return { node, suffix: '' };
  if (node.type === 'array') {
    const items = asJson(node.items);
    if (items && (asJson(items.properties) || variantsOf(items))) return { node: items, suffix: '[]' };
  }
  if (isMap(node)) {
    const value = asJson(node.additionalProperties);
    if (value && (asJson(value.properties) || variantsOf(value))) return { node: value, suffix: '' };
  }
  return null;
}

/** A subtree's shape without its own default and description: equal shapes are listed once. */
const shapeKey = (node: Json): string => JSON.stringify({ ...node, default: undefined, description: undefined });

function walk(node: Json, prefix: string, rows: FieldRow[], seen: Map<string, string>): void {
  const variants = variantsOf(node);
  if (variants) {
    for (const v of variants) {
      const tag = discriminator(v);
      const path = tag === null ? prefix : `${prefix}[type=${tag}]`;
      seen.set(shapeKey(v), path);
      walk(v, path, rows, seen);
    }
    return;
  }
  const props = asJson(node.properties) ?? {};
  const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
  for (const [name, raw] of Object.entries(props)) {
    const child = asJson(raw) ?? {};
    const path = prefix ? `${prefix}.${name}` : name;
    const row: FieldRow = {
      path,
      type: typeOf(child),
      required: required.has(name),
      default: defaultText(child),
      constraints: constraintsOf(child),
      description: typeof child.description === 'string' ? child.description : '',
    };
    rows.push(row);
    const inner = containerOf(child);
    if (!inner) continue;
    const below = isMap(child) ? `${path}.${KEY_LABELS[name] ?? '<name>'}` : `${path}${inner.suffix}`;
    // The same shape again (an action's own sandbox profile, an array field's items): point at
    // the first listing instead of repeating it.
    const parts = variantsOf(inner.node) ?? [inner.node];
    const earlier = parts.map((p) => seen.get(shapeKey(p)));
    if (earlier.every((e) => e !== undefined)) {
      const bases = new Set(earlier.map((e) => (e ?? '').replace(/\[type=[^\]]+\]$/, '')));
      const where = bases.size === 1 && parts.length > 1 ? [...bases] : earlier;
      row.constraints.push(`fields as ${where.map((e) => `\`${e}\``).join(', ')}${parts.length > 1 ? ' of the same `type`' : ''}`);
      continue;
    }
    if (!variantsOf(inner.node)) seen.set(shapeKey(inner.node), below);
    walk(inner.node, below, rows, seen);
  }
}

/** Every field of a schema, depth first in declaration order. */
export function fieldRows(schema: z.ZodType): FieldRow[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const rows: FieldRow[] = [];
  walk(json, '', rows, new Map());
  return rows;
}

/** Paths of fields that carry no description: each needs a `.describe()` in its schema. */
export function undescribedFields(schema: z.ZodType): string[] {
  return fieldRows(schema)
    .filter((r) => r.description.trim() === '')
    .map((r) => r.path);
}
