import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { CountersignError } from '../errors/index.ts';
import { RISK_LEVELS, type Risk } from './manifest.ts';

/** What `countersign tool new` starts a manifest from. */
export interface ScaffoldInput {
  /** Absolute path of the program as the manifest will name it. */
  path: string;
  sha256: string;
  name: string;
  action: string;
  /** Input fields, each rendered as one argv element in this order. */
  args: readonly string[];
  risk: Risk;
  description: string;
}

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const FIELD = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;

function invalid(message: string): CountersignError {
  return new CountersignError('VALIDATION_FAILED', message);
}

/**
 * The program a manifest will pin: a name is looked up on PATH like a shell would, a path is
 * made absolute. Refuses what the executor would refuse at the first step — a missing file, a
 * directory or device, a file without an execute bit — so the mistake shows now, not in a plan.
 */
export function resolveExecutable(pathOrName: string, env: NodeJS.ProcessEnv = process.env): { path: string; realPath: string } {
  let path: string;
  if (pathOrName.includes('/')) path = resolve(pathOrName);
  else {
    const dirs = (env.PATH ?? '').split(delimiter).filter((d) => isAbsolute(d));
    const found = dirs.map((d) => join(d, pathOrName)).find((p) => isExecutableFile(p));
    if (!found) throw invalid(`${pathOrName}: not found on PATH; give the program's path`);
    path = found;
  }
  let realPath: string;
  try {
    realPath = realpathSync(path);
  } catch {
    throw invalid(`${path}: no such file`);
  }
  const info = statSync(realPath);
  if (!info.isFile()) throw invalid(`${path}: not a regular file${info.isDirectory() ? ' (a directory)' : ''}; a tool runs one program`);
  if ((info.mode & 0o111) === 0) {
    throw invalid(`${path}: not executable (mode ${(info.mode & 0o777).toString(8)}); the executor refuses to run it`);
  }
  return { path, realPath };
}

function isExecutableFile(p: string): boolean {
  try {
    const info = statSync(p);
    return info.isFile() && (info.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** SHA-256 of the file a path resolves to: the digest the executor compares before every step. */
export function sha256OfExecutable(realPath: string): string {
  return createHash('sha256').update(readFileSync(realPath)).digest('hex');
}

/** A valid tool name from a program's file name (`kubectl-1.29` → `kubectl-1_29`). */
export function toolNameFor(path: string): string {
  const cleaned = basename(path)
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
  return /^[a-z]/.test(cleaned) ? cleaned : `tool-${cleaned}`.slice(0, 63);
}

export function checkScaffoldInput(input: ScaffoldInput): void {
  if (!NAME.test(input.name))
    throw invalid(`--name "${input.name}": tool names are lowercase letters, digits, - and _, starting with a letter`);
  if (!NAME.test(input.action)) throw invalid(`--action "${input.action}": action names are lowercase letters, digits, - and _`);
  if (!RISK_LEVELS.includes(input.risk)) throw invalid(`--risk "${input.risk}": one of ${RISK_LEVELS.join(', ')}`);
  const seen = new Set<string>();
  for (const a of input.args) {
    if (!FIELD.test(a)) throw invalid(`--arg "${a}": input field names are letters, digits and _, starting with a letter`);
    if (seen.has(a)) throw invalid(`--arg "${a}" is given twice`);
    seen.add(a);
  }
}

const q = (s: string): string => JSON.stringify(s);

/**
 * The manifest YAML, with comments that say what to review. Comments are not signed (signatures
 * cover the parsed values), so an operator may keep or drop them freely.
 */
export function scaffoldManifest(input: ScaffoldInput): string {
  checkScaffoldInput(input);
  const inputLines =
    input.args.length === 0
      ? [
          '    input:',
          '      # No input yet. Declare each value a step may give, then use it in argv as {{name}}, e.g.',
          '      #   target: { type: string, maxLength: 253, pattern: "^[a-z0-9.-]+$" }',
          '      properties: {}',
          '      required: []',
        ]
      : [
          '    input:',
          '      # Tighten each field: a pattern or enum, a smaller maxLength, format: path for paths.',
          '      properties:',
          ...input.args.map((a) => `        ${a}: { type: string, maxLength: 1024 }`),
          `      required: [${input.args.join(', ')}]`,
        ];
  return [
    `# Tool manifest scaffolded by \`countersign tool new\` from ${input.path}.`,
    '# Field reference: docs/reference/manifest.md. Review every value, then sign the file;',
    '# any later change to a value needs a new signature.',
    'apiVersion: countersign/v1',
    'kind: Tool',
    `name: ${input.name}`,
    'version: "0.1.0"',
    `description: ${q(input.description)}`,
    'executable:',
    `  path: ${q(input.path)}`,
    `  # sha256sum ${input.path} — pin it again after upgrading the program, or its steps are refused.`,
    `  sha256: ${input.sha256}`,
    '# The sandbox as scaffolded: no network, nothing writable but the work directory, default',
    '# limits. Add only what the tool needs: readOnlyPaths, writablePaths, egress ["host:443"], env,',
    '# secrets [{name: TOKEN, from: "env:NAME"}], limits.',
    'sandbox: {}',
    'actions:',
    `  ${input.action}:`,
    '    description: ""',
    '    # One argument per element, never a shell; {{field}} is replaced by the validated input.',
    `    argv: [${input.args.map((a) => q(`{{${a}}}`)).join(', ')}]`,
    ...inputLines,
    `    # Base risk: ${RISK_LEVELS.join(' | ')}. Approval rules key on it; scaffolds start at ${input.risk}.`,
    `    risk: ${input.risk}`,
    '    # true only if running the step twice is harmless (a crashed step is retried only then).',
    '    idempotent: false',
    '    # true if the action destroys or replaces state: raises the risk one level.',
    '    destructive: false',
    '',
  ].join('\n');
}
