import { CountersignError } from '../errors/index.ts';
import type { InputField, ToolManifest } from './manifest.ts';

/**
 * argv rendering (invariant 9): the only way a step's input reaches a command line. Each
 * template element is rendered to exactly one argv element — or, for an element that is exactly
 * `{{arrayField}}`, to one element per item — and nothing is ever interpreted by a shell.
 *
 * Values are re-checked against the action's schema here even though plan validation already
 * did: this is the last point before a value becomes an argument, so it does not trust callers.
 */

export type InputValue = string | number | boolean | readonly (string | number | boolean)[];

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
const EXACT_PLACEHOLDER = /^\{\{\s*([^}]*?)\s*\}\}$/;

function refused(field: string, why: string): CountersignError {
  return new CountersignError('ARGUMENT_REFUSED', `input "${field}" ${why}`, { details: { field } });
}

type ScalarField = Exclude<InputField, { type: 'array' }>;

/** One scalar value checked against its field and turned into the string argv will carry. */
function renderScalar(field: string, spec: ScalarField, value: unknown): string {
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string') throw refused(field, 'must be a string');
      if (value.includes('\0')) throw refused(field, 'contains a NUL byte');
      if (spec.minLength !== undefined && value.length < spec.minLength) throw refused(field, `is shorter than ${spec.minLength}`);
      if (value.length > spec.maxLength) throw refused(field, `is longer than ${spec.maxLength}`);
      if (spec.enum && !spec.enum.includes(value)) throw refused(field, 'is not one of the allowed values');
      if (spec.pattern !== undefined && !new RegExp(spec.pattern, 'u').test(value)) throw refused(field, 'does not match its pattern');
      // A value must not be able to add a flag (`-rf`, `--force`) or end option parsing (`--`).
      if (value.startsWith('-') && !spec.allowLeadingDash) {
        throw refused(field, 'starts with "-" and could be read as an option; the manifest does not allow a leading dash here');
      }
      return value;
    }
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw refused(field, `must be a finite ${spec.type}`);
      if (spec.type === 'integer' && !Number.isSafeInteger(value)) throw refused(field, 'must be a safe integer');
      if (spec.minimum !== undefined && value < spec.minimum) throw refused(field, `is below ${spec.minimum}`);
      if (spec.maximum !== undefined && value > spec.maximum) throw refused(field, `is above ${spec.maximum}`);
      // `-1` reads as an option to getopt; numeric fields have no allowLeadingDash to opt in.
      if (value < 0 || Object.is(value, -0)) throw refused(field, 'is negative and would be read as an option');
      return String(value);
    }
    case 'boolean': {
      if (typeof value !== 'boolean') throw refused(field, 'must be a boolean');
      return value ? 'true' : 'false';
    }
  }
}

function renderArray(field: string, spec: Extract<InputField, { type: 'array' }>, value: unknown): string[] {
  if (!Array.isArray(value)) throw refused(field, 'must be an array');
  if (spec.minItems !== undefined && value.length < spec.minItems) throw refused(field, `has fewer than ${spec.minItems} items`);
  if (value.length > spec.maxItems) throw refused(field, `has more than ${spec.maxItems} items`);
  return value.map((item, i) => renderScalar(`${field}[${i}]`, spec.items, item));
}

/**
 * Renders the argv (after the executable) of one action from validated input.
 * Rules: an element that is exactly `{{arrayField}}` expands to one element per item (none when
 * the field is absent); any other placeholder is replaced by its scalar value in place; a
 * placeholder whose field has no value refuses the step rather than leave a dangling flag
 * (`--namespace` followed by whatever comes next); input keys outside the schema are refused.
 */
export function renderArgv(manifest: ToolManifest, actionName: string, input: Readonly<Record<string, unknown>>): string[] {
  const action = Object.hasOwn(manifest.actions, actionName) ? manifest.actions[actionName] : undefined;
  if (action === undefined) {
    throw new CountersignError('UNKNOWN_ACTION', `tool ${manifest.name} has no action "${actionName}"`);
  }
  const fields = action.input.properties;
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(fields, key)) throw refused(key, "is not in the action's input schema");
  }
  for (const key of action.input.required) {
    if (input[key] === undefined) throw refused(key, 'is required');
  }

  const fieldOf = (name: string): InputField => {
    const spec = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (spec === undefined) throw refused(name, 'is named by the argv template but not declared');
    return spec;
  };

  const argv: string[] = [];
  for (const element of action.argv) {
    const exact = EXACT_PLACEHOLDER.exec(element);
    if (exact) {
      const name = exact[1] ?? '';
      const spec = fieldOf(name);
      const value = Object.hasOwn(input, name) ? input[name] : undefined;
      if (spec.type === 'array') {
        if (value !== undefined) argv.push(...renderArray(name, spec, value));
        continue;
      }
      if (value === undefined) throw refused(name, 'has no value but the argv template needs one');
      argv.push(renderScalar(name, spec, value));
      continue;
    }
    const rendered = element.replace(PLACEHOLDER, (_whole, rawName: string) => {
      const spec = fieldOf(rawName);
      const value = Object.hasOwn(input, rawName) ? input[rawName] : undefined;
      if (spec.type === 'array') throw refused(rawName, 'is an array and can only fill a whole argv element');
      if (value === undefined) throw refused(rawName, 'has no value but the argv template needs one');
      return renderScalar(rawName, spec, value);
    });
    argv.push(rendered);
  }
  return argv;
}
