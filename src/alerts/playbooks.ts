import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CountersignError } from '../errors/index.ts';
import {
  checkManifestSignatures,
  type InputField,
  type ManifestTrust,
  manifestSigningText,
  readSignaturesBeside,
  type ToolRegistry,
} from '../tools/index.ts';
import type { Alert } from './payloads.ts';
import { type Binding, type PlanTemplate, type Playbook, PlaybookSchema, type ValueOrigin } from './playbook.ts';

export interface LoadedPlaybook {
  playbook: Playbook;
  file: string;
  /** Trusted publisher keys whose signature verified. */
  signers: readonly string[];
  /** Loaded without enough signatures: only ever in developmentMode. */
  unsigned: boolean;
  /** Compiled extraction patterns, anchored. */
  patterns: ReadonlyMap<string, RegExp>;
}

export interface RefusedPlaybook {
  file: string;
  reason: string;
}

/** The field of a tool action's input schema a template names, if it declares it. */
export function inputField(tools: ToolRegistry, tool: string, action: string, field: string): InputField | undefined {
  return tools.get(tool)?.manifest.actions[action]?.input.properties[field];
}

/**
 * What a playbook must satisfy against the tools loaded now: every template names a loaded tool
 * and action and only fields of its schema, every `from` names an extracted field, and no field
 * the manifest marks sensitive is left for the planner to fill (invariant 21).
 */
export function checkPlaybookAgainstTools(p: Playbook, tools: ToolRegistry): string[] {
  const problems: string[] = [];
  const bindingProblem = (b: Binding, where: string) => {
    if ('from' in b && !(b.from in p.extract)) problems.push(`${where}: "${b.from}" is not an extracted field`);
  };
  bindingProblem(p.environment, 'environment');
  if ('planner' in p.environment) problems.push('environment: the planner can never choose the environment');
  const ids = new Set<string>();
  for (const t of p.templates) {
    if (ids.has(t.id)) problems.push(`template "${t.id}" is defined twice`);
    ids.add(t.id);
    const action = tools.get(t.tool)?.manifest.actions[t.action];
    if (!action) {
      problems.push(
        `template "${t.id}": ${tools.get(t.tool) ? `tool "${t.tool}" has no action "${t.action}"` : `tool "${t.tool}" is not loaded`}`,
      );
      continue;
    }
    for (const [field, binding] of Object.entries(t.input)) {
      const declared = action.input.properties[field];
      if (!declared) problems.push(`template "${t.id}": "${field}" is not an input of ${t.tool}.${t.action}`);
      bindingProblem(binding, `template "${t.id}".${field}`);
      if ('planner' in binding && (declared?.sensitive || (declared?.type === 'array' && declared.items.sensitive))) {
        problems.push(`template "${t.id}": "${field}" is sensitive in ${t.tool}.${t.action}; a planner may never fill it`);
      }
    }
  }
  if (p.reviewers && p.reviewers.require > p.reviewers.models.length) problems.push('reviewers: require exceeds the models');
  return problems;
}

function compilePatterns(p: Playbook): Map<string, RegExp> {
  const out = new Map<string, RegExp>();
  for (const [name, e] of Object.entries(p.extract)) {
    if (e.pattern === undefined) continue;
    try {
      out.set(name, new RegExp(`^(?:${e.pattern})$`, 'u'));
    } catch (err) {
      throw new CountersignError('PLAYBOOK_INVALID', `extract.${name}.pattern: ${(err as Error).message}`);
    }
  }
  return out;
}

/**
 * Loads `<dir>/*.yaml` as playbooks, verified with the same signatures and trust as tool
 * manifests (src/tools/signing.ts): a playbook with a bad signature, too few, an invalid
 * schema or a template the loaded tools refuse is not loaded, and is reported.
 */
export function loadPlaybookDir(
  dir: string,
  trust: ManifestTrust,
  tools: ToolRegistry,
): { playbooks: LoadedPlaybook[]; refused: RefusedPlaybook[] } {
  const playbooks: LoadedPlaybook[] = [];
  const refused: RefusedPlaybook[] = [];
  if (!existsSync(dir)) return { playbooks, refused };
  const names = new Set<string>();
  for (const n of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()) {
    const file = join(dir, n);
    try {
      const loaded = loadPlaybookFile(file, trust, tools);
      if (names.has(loaded.playbook.name))
        throw new CountersignError('PLAYBOOK_INVALID', `playbook "${loaded.playbook.name}" is defined twice`);
      names.add(loaded.playbook.name);
      playbooks.push(loaded);
    } catch (err) {
      refused.push({ file, reason: (err as Error).message });
    }
  }
  return { playbooks, refused };
}

export function readPlaybookDocument(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CountersignError('PLAYBOOK_INVALID', `${file}: not valid YAML: ${(err as Error).message}`);
  }
}

/** The signature verdict of a playbook document: the same check and trust as a tool manifest's. */
export function playbookSignatures(doc: unknown, file: string, trust: ManifestTrust): { signers: string[]; problem: string | null } {
  const check = checkManifestSignatures(manifestSigningText(doc), readSignaturesBeside(file), trust.keys);
  if (check.bad.length > 0) {
    return {
      signers: check.valid,
      problem: `the signature by trusted key ${check.bad.join(', ')} does not verify: the playbook changed after it was signed`,
    };
  }
  if (check.valid.length < trust.required) {
    return {
      signers: check.valid,
      problem: `needs ${trust.required} valid signature(s) from trusted publisher keys, has ${check.valid.length}`,
    };
  }
  return { signers: check.valid, problem: null };
}

/** Schema and tool checks of a playbook document; no trust decision (see loadPlaybookFile). */
export function compilePlaybook(
  doc: unknown,
  file: string,
  tools: ToolRegistry,
  signers: readonly string[] = [],
  unsigned = true,
): LoadedPlaybook {
  const parsed = PlaybookSchema.safeParse(doc);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new CountersignError('PLAYBOOK_INVALID', `${i?.path.join('.') || '(root)'}: ${i?.message ?? 'invalid'}`);
  }
  const problems = checkPlaybookAgainstTools(parsed.data, tools);
  if (problems.length > 0) throw new CountersignError('PLAYBOOK_INVALID', problems.join('; '));
  return { playbook: parsed.data, file, signers, unsigned, patterns: compilePatterns(parsed.data) };
}

export function loadPlaybookFile(file: string, trust: ManifestTrust, tools: ToolRegistry): LoadedPlaybook {
  const doc = readPlaybookDocument(file);
  const { signers, problem } = playbookSignatures(doc, file, trust);
  // A bad signature refuses even in development mode; too few only outside it (as tools).
  if (problem && (!trust.developmentMode || /does not verify/.test(problem))) throw new CountersignError('PLAYBOOK_INVALID', problem);
  return compilePlaybook(doc, file, tools, signers, problem !== null);
}

/** Does the playbook answer this alert (from this source)? Labels only; annotations are never read. */
export function matches(p: LoadedPlaybook, alert: Alert, source: string): boolean {
  const m = p.playbook.match;
  if (alert.status !== 'firing') return false;
  if (m.sources && !m.sources.includes(source)) return false;
  if (!m.alertname.includes(alert.name)) return false;
  return Object.entries(m.labels).every(([label, allowed]) => alert.labels[label] !== undefined && allowed.includes(alert.labels[label]));
}

export type Extraction = { ok: true; fields: Record<string, string> } | { ok: false; reasons: string[] };

/** Reads every extracted field from the labels, each checked against its pattern or enum. */
export function extractFields(p: LoadedPlaybook, alert: Alert): Extraction {
  const fields: Record<string, string> = {};
  const reasons: string[] = [];
  for (const [name, e] of Object.entries(p.playbook.extract)) {
    const value = alert.labels[e.label];
    if (value === undefined) reasons.push(`${name}: label "${e.label}" is absent`);
    else if (value.length > e.maxLength) reasons.push(`${name}: label "${e.label}" is longer than ${e.maxLength}`);
    else if (e.enum && !e.enum.includes(value)) reasons.push(`${name}: label "${e.label}" is not one of ${e.enum.join(', ')}`);
    else if (p.patterns.get(name) && !p.patterns.get(name)?.test(value))
      reasons.push(`${name}: label "${e.label}" does not match its pattern`);
    else fields[name] = value;
  }
  return reasons.length > 0 ? { ok: false, reasons } : { ok: true, fields };
}

/** A step candidate: its input, and where each value came from. */
export interface CandidateStep {
  template: string;
  tool: string;
  action: string;
  input: Record<string, unknown>;
}

export interface Candidate {
  playbook: string;
  environment: string;
  intent: string;
  steps: CandidateStep[];
  origins: ValueOrigin[];
}

function bound(p: Playbook, b: Binding, fields: Record<string, string>): { value: unknown; origin: Omit<ValueOrigin, 'path'> } | null {
  if ('from' in b) return { value: fields[b.from], origin: { provenance: 'typed_label', label: p.extract[b.from]?.label } };
  if ('value' in b) return { value: b.value, origin: { provenance: 'trusted_config' } };
  return null;
}

/** The environment and intent, from typed fields and the playbook's own text only. */
export function planFrame(p: Playbook, fields: Record<string, string>): { environment: string; intent: string; origin: ValueOrigin } {
  const env = bound(p, p.environment, fields);
  const intent = p.intent.replace(/\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g, (_, f: string) => fields[f] ?? '');
  return { environment: String(env?.value ?? ''), intent: intent.trim() || p.name, origin: { path: 'environment', ...env!.origin } };
}

/** One template filled from typed fields and constants; planner fields are left out here. */
export function fillTemplate(
  p: Playbook,
  t: PlanTemplate,
  fields: Record<string, string>,
  index: number,
): { step: CandidateStep; origins: ValueOrigin[] } {
  const input: Record<string, unknown> = {};
  const origins: ValueOrigin[] = [];
  for (const [field, b] of Object.entries(t.input)) {
    const v = bound(p, b, fields);
    if (!v) continue;
    input[field] = v.value;
    origins.push({ path: `steps[${index}].input.${field}`, ...v.origin });
  }
  return { step: { template: t.id, tool: t.tool, action: t.action, input }, origins };
}

/** The deterministic proposal: the default templates, filled from labels and constants only. */
export function templateCandidate(p: LoadedPlaybook, fields: Record<string, string>): Candidate {
  const frame = planFrame(p.playbook, fields);
  const steps: CandidateStep[] = [];
  const origins: ValueOrigin[] = [frame.origin];
  for (const t of p.playbook.templates.filter((x) => x.default)) {
    const filled = fillTemplate(p.playbook, t, fields, steps.length);
    steps.push(filled.step);
    origins.push(...filled.origins);
  }
  return { playbook: p.playbook.name, environment: frame.environment, intent: frame.intent, steps, origins };
}
