import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  formatSignatureFile,
  manifestSigningText,
  mergeSignature,
  readPublisherPrivateKey,
  readSignaturesBeside,
  SIGNATURE_SUFFIX,
  signManifestText,
} from '../../src/tools/index.ts';

/** The publisher private key `countersign init` made for a data directory (keys/publisher-<id>.key). */
export function initPublisherKeyFile(dataDir: string): string {
  const name = readdirSync(join(dataDir, 'keys')).find((n) => /^publisher-[0-9a-f]{16}\.key$/.test(n));
  if (!name) throw new Error(`${dataDir} has no init publisher key`);
  return join(dataDir, 'keys', name);
}

/**
 * Signs a manifest file as `countersign tool sign` does, with the data dir's init publisher key
 * (trusted by init), or with `keyFile` when given.
 */
export function signManifestFile(dataDir: string, file: string, keyFile = initPublisherKeyFile(dataDir)): void {
  const text = manifestSigningText(parseYaml(readFileSync(file, 'utf8')));
  const sig = signManifestText(text, readPublisherPrivateKey(keyFile));
  writeFileSync(`${file}${SIGNATURE_SUFFIX}`, formatSignatureFile(mergeSignature(readSignaturesBeside(file), sig)));
}

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
  for (const [name, text] of Object.entries(tools)) {
    const file = join(dataDir, 'tools', name);
    writeFileSync(file, text);
    // Signed like any published tool: the server and executors load signed manifests only.
    signManifestFile(dataDir, file);
  }
}
