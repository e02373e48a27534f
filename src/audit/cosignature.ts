import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { rawEd25519, splitNote, splitVerifierKey } from './note.ts';

// C2SP tlog-cosignature, Ed25519 type: a witness's statement that, at `time`, the checkpoint is
// the largest consistent tree head it has seen for the log. The signature line is a signed-note
// line whose blob is key ID (4) ‖ u64 big-endian POSIX time ‖ Ed25519 signature (64) over
//   "cosignature/v1\n" "time <t>\n" <checkpoint body>
// and whose key ID is SHA-256(<name> ‖ "\n" ‖ 0x04 ‖ public key)[:4].

const COSIGNATURE_V1 = 0x04;
const DASH = '\u2014';

function keyId(name: string, raw: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${name}\n`, 'utf8'), Buffer.from([COSIGNATURE_V1]), raw]))
    .digest()
    .subarray(0, 4);
}

function message(body: string, time: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${time}\n${body}`, 'utf8');
}

/** The witness's verifier key: `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`. */
export function cosignerKey(name: string, publicKey: KeyObject): string {
  const raw = rawEd25519(publicKey);
  return `${name}+${keyId(name, raw).toString('hex')}+${Buffer.concat([Buffer.from([COSIGNATURE_V1]), raw]).toString('base64')}`;
}

/** One cosignature line (ending in a newline) over a checkpoint body. */
export function cosign(body: string, name: string, privateKey: KeyObject, publicKey: KeyObject, time: number): string {
  if (!Number.isSafeInteger(time) || time <= 0) throw new Error('a cosignature time is a positive POSIX timestamp');
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(time));
  const sig = sign(null, message(body, time), privateKey);
  return `${DASH} ${name} ${Buffer.concat([keyId(name, rawEd25519(publicKey)), t, sig]).toString('base64')}\n`;
}

/**
 * Finds a valid cosignature by the witness `key` among a note's signature lines and returns its
 * time. Throws when there is none, or when a line by that key does not verify.
 */
export function verifyCosignature(note: string, key: string): { time: number } {
  const { name, hash, b64 } = splitVerifierKey(key);
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== 33 || bytes[0] !== COSIGNATURE_V1) {
    throw new Error('a witness key reads <name>+<8 hex digits>+<base64(0x04 ‖ Ed25519 key)>');
  }
  const raw = bytes.subarray(1);
  if (keyId(name, raw).toString('hex') !== hash) throw new Error('the witness key ID does not match its name and key');
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  const { body, signatures } = splitNote(note);
  for (const { name: signer, blob } of signatures) {
    if (signer !== name || blob.length !== 76 || blob.subarray(0, 4).toString('hex') !== hash) continue;
    const time = Number(blob.readBigUInt64BE(4));
    if (verify(null, message(body, time), publicKey, blob.subarray(12))) return { time };
    throw new Error(`the cosignature by ${name} does not verify`);
  }
  throw new Error(`the checkpoint carries no cosignature by witness ${name}`);
}
