import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import {
  checkManifestSignatures,
  formatSignatureFile,
  generatePublisherKeyPair,
  manifestSigningText,
  mergeSignature,
  parsePublisherPublicKey,
  parseSignatureFile,
  signManifestText,
} from './signing.ts';

const MANIFEST = `apiVersion: countersign/v1
kind: Tool
name: echo
version: 1.0.0
executable: { path: /bin/echo, sha256: ${'a'.repeat(64)} }
actions:
  say: { argv: ["{{message}}"], input: { properties: { message: { type: string, maxLength: 200 } } }, risk: low }
`;

function publisher() {
  const p = generatePublisherKeyPair();
  return { ...p, privateKey: createPrivateKey(p.privateKeyPem), publicKey: createPublicKey(p.publicKeyPem) };
}

const trusted = (...keys: { keyId: string; publicKey: KeyObject }[]) => new Map(keys.map((k) => [k.keyId, k.publicKey]));

test('a signature verifies over the canonical form, whatever the YAML formatting and comments', () => {
  const a = publisher();
  const sig = signManifestText(manifestSigningText(parseYaml(MANIFEST)), a.privateKey);
  const reformatted = `# a comment\n${MANIFEST.replace('version: 1.0.0', 'version:   "1.0.0"')}`;
  const check = checkManifestSignatures(manifestSigningText(parseYaml(reformatted)), [sig], trusted(a));
  assert.deepEqual(check, { valid: [a.keyId], bad: [], untrusted: [] });
});

test('a manifest edited by one byte after signing no longer verifies', () => {
  const a = publisher();
  const sig = signManifestText(manifestSigningText(parseYaml(MANIFEST)), a.privateKey);
  const edited = MANIFEST.replace('maxLength: 200', 'maxLength: 900');
  assert.equal(edited.length, MANIFEST.length);
  const check = checkManifestSignatures(manifestSigningText(parseYaml(edited)), [sig], trusted(a));
  assert.deepEqual(check, { valid: [], bad: [a.keyId], untrusted: [] });
});

test('signatures by untrusted keys count for nothing; the same key twice counts once', () => {
  const a = publisher();
  const b = publisher();
  const text = manifestSigningText(parseYaml(MANIFEST));
  const sa = signManifestText(text, a.privateKey);
  const sb = signManifestText(text, b.privateKey);
  assert.deepEqual(checkManifestSignatures(text, [sa, sb, sa], trusted(a)), { valid: [a.keyId], bad: [], untrusted: [b.keyId] });
});

test('a signature claiming a trusted key id but made by another key is bad', () => {
  const a = publisher();
  const mallory = publisher();
  const text = manifestSigningText(parseYaml(MANIFEST));
  const forged = { keyId: a.keyId, signature: signManifestText(text, mallory.privateKey).signature };
  assert.deepEqual(checkManifestSignatures(text, [forged], trusted(a)).bad, [a.keyId]);
});

test('signature files: JSON array or JSON lines; anything else refused; re-signing replaces the key’s entry', () => {
  const a = publisher();
  const text = manifestSigningText(parseYaml(MANIFEST));
  const s1 = signManifestText(text, a.privateKey);
  assert.deepEqual(parseSignatureFile(formatSignatureFile([s1])), [s1]);
  assert.deepEqual(parseSignatureFile(`${JSON.stringify(s1)}\n${JSON.stringify(s1)}\n`), [s1, s1]);
  assert.throws(() => parseSignatureFile('not json'), { code: 'TOOL_UNTRUSTED' });
  assert.throws(() => parseSignatureFile('[{"keyId":"x","signature":"y"}]'), { code: 'TOOL_UNTRUSTED' });
  const s2 = signManifestText(manifestSigningText({ other: true }), a.privateKey);
  assert.deepEqual(mergeSignature([s1], s2), [s2]);
});

test('only Ed25519 public keys are accepted into the trust store; a private key is refused', () => {
  const a = publisher();
  assert.equal(parsePublisherPublicKey(a.publicKeyPem).keyId, a.keyId);
  assert.throws(() => parsePublisherPublicKey(a.privateKeyPem), /PRIVATE key/);
  assert.throws(() => parsePublisherPublicKey('garbage'), { code: 'VALIDATION_FAILED' });
});

test('a manifest that cannot be canonicalized is refused', () => {
  assert.throws(() => manifestSigningText(parseYaml('value: .inf')), { code: 'MANIFEST_INVALID' });
});
