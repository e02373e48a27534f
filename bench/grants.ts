// Figure: grant mint + verify (Ed25519 JWS through jose, pinned key lookup, claim checks)
// against bare node:crypto Ed25519 sign + verify of a payload of the same size, same run.
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { keyIdOf } from '../src/audit/signing.ts';
import { mintGrant, verifyGrant } from '../src/grants/index.ts';
import { nowMs, progress, type Row } from './lib.ts';

const COUNT = 3000;

export async function run(): Promise<Row[]> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = keyIdOf(publicKey);
  const keys = new Map([[kid, publicKey]]);
  const claims = {
    tenant: 'ten_01jbench0000000000000000',
    environment: 'prod',
    planId: 'pln_01jbench0000000000000001',
    planHash: 'a'.repeat(64),
    scope: { steps: [0, 1, 2], rollback: [0] },
  };
  progress(`grants: ${COUNT} mint+verify vs bare Ed25519 sign+verify`);
  const sample = await mintGrant({ kid, privateKey }, { ...claims, jti: 'sample' }, new Date(), 300);
  const payload = Buffer.from(sample.token.split('.').slice(0, 2).join('.'));
  for (let i = 0; i < 200; i++) {
    const g = await mintGrant({ kid, privateKey }, { ...claims, jti: `w${i}` }, new Date(), 300);
    await verifyGrant(g.token, keys, new Date());
  }
  const t0 = nowMs();
  for (let i = 0; i < COUNT; i++) {
    const g = await mintGrant({ kid, privateKey }, { ...claims, jti: `g${i}` }, new Date(), 300);
    await verifyGrant(g.token, keys, new Date());
  }
  const product = (COUNT * 1000) / (nowMs() - t0);
  const t1 = nowMs();
  for (let i = 0; i < COUNT; i++) {
    const sig = sign(null, payload, privateKey);
    if (!verify(null, payload, publicKey, sig)) throw new Error('bare verify failed');
  }
  const bare = (COUNT * 1000) / (nowMs() - t1);
  return [
    {
      id: 'grants.mint_verify',
      figure: 'grant mint + verify',
      kind: 'rate',
      value: product,
      floor: { label: 'bare Ed25519 sign+verify', value: bare },
    },
  ];
}
