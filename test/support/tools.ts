import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sha = (path: string) =>
  createHash('sha256')
    .update(readFileSync(realpathSync(path)))
    .digest('hex');

/**
 * Extra tool manifests for execution tests, written into a data dir's tools/ before the server
 * and executors load it. Real binaries, pinned by their real sha256.
 */
export function writeTestTools(dataDir: string, options: { sharedDir?: string } = {}): void {
  const tools: Record<string, string> = {
    'sleep.yaml': `apiVersion: countersign/v1
kind: Tool
name: sleep
version: 1.0.0
executable: { path: /bin/sleep, sha256: ${sha('/bin/sleep')} }
actions:
  wait:
    argv: ["{{seconds}}"]
    input: { properties: { seconds: { type: number, minimum: 0, maximum: 30 } }, required: [seconds] }
    risk: low
    idempotent: true
  wait-once:
    argv: ["{{seconds}}"]
    input: { properties: { seconds: { type: number, minimum: 0, maximum: 30 } }, required: [seconds] }
    risk: low
    idempotent: false
`,
    'fail.yaml': `apiVersion: countersign/v1
kind: Tool
name: fail
version: 1.0.0
executable: { path: /bin/false, sha256: ${sha('/bin/false')} }
actions:
  now: { risk: low, idempotent: false }
  flaky: { risk: low, idempotent: true }
`,
  };
  if (options.sharedDir) {
    // mkdir fails if the directory exists: a second run of the same step is visible as a failure.
    tools['mark.yaml'] = `apiVersion: countersign/v1
kind: Tool
name: mark
version: 1.0.0
executable: { path: /bin/mkdir, sha256: ${sha('/bin/mkdir')} }
sandbox:
  writablePaths: [${options.sharedDir}]
actions:
  once:
    argv: ["${options.sharedDir}/{{name}}"]
    input: { properties: { name: { type: string, pattern: "^[a-z0-9_-]+$", maxLength: 64 } }, required: [name] }
    risk: low
    idempotent: false
`;
  }
  for (const [name, text] of Object.entries(tools)) writeFileSync(join(dataDir, 'tools', name), text);
}
