import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { keyIdOf } from '../audit/index.ts';
import { type OverrideDocument, overrideSigningText, parsePresentedOverride, signOverride, verifyOverrideText } from './document.ts';
import { outOfScope, overrideStatus } from './scope.ts';

const doc: OverrideDocument = {
  v: 1,
  type: 'countersign-override',
  id: `ovr_${'0'.repeat(26)}`,
  tenant: 't1',
  environment: 'prod',
  tools: ['kubectl'],
  actions: ['restart'],
  reason: 'INC-1',
  nonce: 'A'.repeat(43),
  issuedBy: 'prn_admin',
  issuedAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2030-01-01T00:15:00.000Z',
};

test('scope: environment, tenant, and every step’s tool AND action must be named', () => {
  const plan = { tenant: 't1', environment: 'prod', steps: [{ tool: 'kubectl', action: 'restart' }] };
  assert.equal(outOfScope(doc, plan), null);
  assert.match(outOfScope(doc, { ...plan, environment: 'staging' }) ?? '', /environment prod/);
  assert.match(outOfScope(doc, { ...plan, tenant: 't2' }) ?? '', /another tenant/);
  assert.match(outOfScope(doc, { ...plan, steps: [...plan.steps, { tool: 'kubectl', action: 'delete' }] }) ?? '', /action delete/);
  assert.match(outOfScope(doc, { ...plan, steps: [{ tool: 'psql', action: 'restart' }] }) ?? '', /tool psql/);
});

test('status: revoked before used before expired', () => {
  const now = new Date('2030-01-01T00:20:00.000Z');
  assert.equal(overrideStatus({ revokedAt: 'x', consumedAt: 'y', expiresAt: doc.expiresAt }, now), 'revoked');
  assert.equal(overrideStatus({ revokedAt: null, consumedAt: 'y', expiresAt: doc.expiresAt }, now), 'used');
  assert.equal(overrideStatus({ revokedAt: null, consumedAt: null, expiresAt: doc.expiresAt }, now), 'expired');
  assert.equal(overrideStatus({ revokedAt: null, consumedAt: null, expiresAt: doc.expiresAt }, new Date(doc.issuedAt)), 'active');
});

test('the signature covers the canonical document: any edit, or another key, fails', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(publicKey);
  const signed = signOverride(doc, { keyId, privateKey });
  const keys = new Map([[keyId, publicKey]]);
  assert.equal(verifyOverrideText(overrideSigningText(doc), keyId, signed.signature, keys), true);
  const widened = overrideSigningText({ ...doc, actions: ['restart', 'delete'] });
  assert.equal(verifyOverrideText(widened, keyId, signed.signature, keys), false);
  const other = generateKeyPairSync('ed25519');
  assert.equal(verifyOverrideText(overrideSigningText(doc), keyId, signed.signature, new Map([[keyId, other.publicKey]])), false);
});

test('presented overrides: an id, or the signed JSON; junk is OVERRIDE_INVALID', () => {
  assert.deepEqual(parsePresentedOverride(doc.id), { id: doc.id, signed: null });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signed = signOverride(doc, { keyId: keyIdOf(publicKey), privateKey });
  assert.equal(parsePresentedOverride(JSON.stringify(signed)).id, doc.id);
  assert.throws(() => parsePresentedOverride('ovr_nope'), { code: 'OVERRIDE_INVALID' });
  assert.throws(() => parsePresentedOverride(JSON.stringify({ ...signed, extra: 1 })), { code: 'OVERRIDE_INVALID' });
});
