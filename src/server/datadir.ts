import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where everything of one installation lives. Created by `countersign init`, mode 0700. */
export interface DataDirPaths {
  dir: string;
  config: string;
  database: string;
  keys: string;
  auditKey: string;
  auditPublicKey: string;
  tools: string;
  policies: string;
  approvals: string;
  /** The append-only file of signed audit checkpoints: a copy of every tree head outside the database. */
  checkpoints: string;
}

export function dataDirPaths(dir: string): DataDirPaths {
  const d = resolve(dir);
  return {
    dir: d,
    config: join(d, 'countersign.yaml'),
    database: join(d, 'countersign.db'),
    keys: join(d, 'keys'),
    auditKey: join(d, 'keys', 'audit.key'),
    auditPublicKey: join(d, 'keys', 'audit.pub'),
    tools: join(d, 'tools'),
    policies: join(d, 'policies'),
    approvals: join(d, 'approvals.yaml'),
    checkpoints: join(d, 'audit-checkpoints'),
  };
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.COUNTERSIGN_DIR ?? '.countersign';
}

export function isInitialized(dir: string): boolean {
  return existsSync(dataDirPaths(dir).config);
}

/** True when the directory is absent or empty: the only state `init` writes into. */
export function isEmptyOrAbsent(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return statSync(dir).isDirectory() && readdirSync(dir).length === 0;
}

export function writePrivateFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

export function makePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

export function sha256File(path: string): string {
  return createHash('sha256')
    .update(readFileSync(realpathSync(path)))
    .digest('hex');
}

/** The example tool installed by init: `echo say --message …` renders `/bin/echo <message>`. */
export function echoToolManifest(): string {
  const sha = sha256File('/bin/echo');
  return `# Example tool installed by \`countersign init\`. Steps name a tool and an action;
# argv is rendered from the template below with validated input, never through a shell.
apiVersion: countersign/v1
kind: Tool
name: echo
version: 1.0.0
description: Print a message. Harmless; used by the README walk-through.
type: exec
executable:
  path: /bin/echo
  # Pinned: a different binary at this path is refused.
  sha256: ${sha}
actions:
  say:
    description: Print one message to standard output.
    argv: ["{{message}}"]
    input:
      properties:
        message: { type: string, maxLength: 200 }
      required: [message]
    risk: low
    idempotent: true
`;
}

/**
 * The example script tool installed by init: runs a bash script body from the plan. Scripts are
 * statically analysed before they may be proposed, start at high risk, and run in the sandbox
 * with no network like any other step.
 */
export function shellToolManifest(): string {
  const sha = sha256File('/bin/bash');
  return `# Example script tool installed by \`countersign init\`. The script body is analysed when the
# plan is proposed (findings are shown to reviewers; dangerous constructs are refused).
apiVersion: countersign/v1
kind: Tool
name: shell
version: 1.0.0
description: Run a short bash script in the sandbox (no network, work directory only).
type: script
executable:
  path: /bin/bash
  sha256: ${sha}
actions:
  run:
    description: Run a bash script.
    language: bash
    # The script is the argument of -c, never parsed as options of bash itself.
    argv: ["--noprofile", "--norc", "-c", "{{script}}"]
    input:
      properties:
        script: { type: string, maxLength: 16384, allowLeadingDash: true }
      required: [script]
    risk: high
`;
}
