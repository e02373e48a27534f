import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { kubectlManifest, restartPlaybook } from '../../test/support/alerts.ts';
import {
  formatSignatureFile,
  generatePublisherKeyPair,
  loadToolDir,
  type ManifestTrust,
  manifestSigningText,
  SIGNATURE_SUFFIX,
  signManifestText,
} from '../tools/index.ts';
import { extractFields, loadPlaybookDir, loadPlaybookFile } from './playbooks.ts';

const root = mkdtempSync(join(tmpdir(), 'cs-playbooks-'));
after(() => rmSync(root, { recursive: true, force: true }));
const pair = generatePublisherKeyPair();
const privateKey = createPrivateKey(pair.privateKeyPem);
const trust: ManifestTrust = { keys: new Map([[pair.keyId, createPublicKey(pair.publicKeyPem)]]), required: 1, developmentMode: false };

function signed(file: string, text: string): string {
  writeFileSync(file, text);
  writeFileSync(`${file}${SIGNATURE_SUFFIX}`, formatSignatureFile([signManifestText(manifestSigningText(parseYaml(text)), privateKey)]));
  return file;
}

mkdirSync(join(root, 'tools'));
signed(join(root, 'tools', 'kubectl.yaml'), kubectlManifest());
const tools = loadToolDir(join(root, 'tools'), trust);
let n = 0;
const file = () => join(root, `p${++n}.yaml`);

test('a signed playbook loads; typed fields are read from labels only, each checked', () => {
  const pb = loadPlaybookFile(signed(file(), restartPlaybook('ok', 'Crash')), trust, tools);
  const alert = { name: 'Crash', status: 'firing' as const, fingerprint: 'f', annotations: { namespace: 'from-annotation' } };
  assert.deepEqual(extractFields(pb, { ...alert, labels: { namespace: 'shop', deployment: 'web', env: 'dev' } }), {
    ok: true,
    fields: { namespace: 'shop', deployment: 'web', env: 'dev' },
  });
  const hostile = extractFields(pb, { ...alert, labels: { namespace: 'shop; rm -rf /', deployment: 'web', env: 'staging' } });
  assert.equal(hostile.ok, false);
  assert.deepEqual(!hostile.ok && hostile.reasons, [
    'namespace: label "namespace" does not match its pattern',
    'env: label "env" is not one of dev, prod',
  ]);
  const missing = extractFields(pb, { ...alert, labels: { deployment: 'web', env: 'dev' } });
  assert.ok(!missing.ok && /label "namespace" is absent/.test(missing.reasons[0]!), 'an annotation never stands in for a label');
});

test('a playbook that leaves a sensitive field to the planner is refused at load', () => {
  const text = restartPlaybook('bad', 'Crash').replace('namespace: { from: namespace }', 'namespace: { planner: true }');
  assert.throws(
    () => loadPlaybookFile(signed(file(), text), trust, tools),
    /"namespace" is sensitive in kubectl.rollout-restart; a planner may never fill it/,
  );
});

test('unsigned, edited after signing, or naming what the tools refuse: not loaded, each with its reason', () => {
  const dir = join(root, 'dir');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a-unsigned.yaml'), restartPlaybook('unsigned', 'Crash'));
  signed(join(dir, 'b-edited.yaml'), restartPlaybook('edited', 'Crash'));
  writeFileSync(join(dir, 'b-edited.yaml'), restartPlaybook('edited', 'Crash').replace('Crash', 'Other'));
  signed(join(dir, 'c-tool.yaml'), restartPlaybook('tool', 'Crash').replace('tool: kubectl', 'tool: kubectl-ng'));
  signed(
    join(dir, 'd-untyped.yaml'),
    restartPlaybook('untyped', 'Crash').replace('{ label: deployment, pattern: "[a-z0-9-]{1,63}" }', '{ label: deployment }'),
  );
  signed(join(dir, 'e-env.yaml'), restartPlaybook('env', 'Crash').replace('environment: { from: env }', 'environment: { planner: true }'));
  const { playbooks, refused } = loadPlaybookDir(dir, trust, tools);
  assert.deepEqual(playbooks, []);
  const reasons = refused.map((r) => r.reason);
  assert.match(reasons[0]!, /needs 1 valid signature/);
  assert.match(reasons[1]!, /does not verify: the playbook changed after it was signed/);
  assert.match(reasons[2]!, /tool "kubectl-ng" is not loaded/);
  assert.match(reasons[3]!, /needs a pattern or an enum/);
  assert.match(reasons[4]!, /the planner can never choose the environment/);
});
