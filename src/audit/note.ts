import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

// Checkpoints of the audit log's Merkle tree in the C2SP formats, so that any transparency-log
// tooling (and an auditor's own 20 lines) can read and verify them:
//
//   tlog-checkpoint body:  <origin>\n<tree size>\n<base64 root hash>\n
//   signed-note:           <body>\n— <key name> <base64(4-byte key hash ‖ Ed25519 signature)>\n
//
// The signature covers the body bytes exactly; the key hash is the first 4 bytes of
// SHA-256(<key name> ‖ "\n" ‖ 0x01 ‖ <32-byte Ed25519 public key>).

const ED25519 = 0x01;
const DASH = '\u2014';

export interface CheckpointBody {
  origin: string;
  size: number;
  /** 32-byte root hash. */
  root: Buffer;
}

/** The raw 32-byte Ed25519 public key of a key object. */
export function rawEd25519(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('the audit key must be an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

export function noteKeyHash(name: string, raw: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${name}\n`, 'utf8'), Buffer.from([ED25519]), raw]))
    .digest()
    .subarray(0, 4);
}

/** The verifier key string: `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`. */
export function verifierKey(name: string, publicKey: KeyObject): string {
  const raw = rawEd25519(publicKey);
  return `${name}+${noteKeyHash(name, raw).toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), raw]).toString('base64')}`;
}

/** `<name>+<8 hex>+<base64>`: split at the first two `+` only (base64 has `+` of its own). */
export function splitVerifierKey(text: string): { name: string; hash: string; b64: string } {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (!m?.[1] || !m[2] || !m[3]) throw new Error('a verifier key reads <name>+<8 hex digits>+<base64 key>');
  return { name: m[1], hash: m[2], b64: m[3] };
}

interface ParsedVerifier {
  name: string;
  keyHash: Buffer;
  publicKey: KeyObject;
}

export function parseVerifierKey(text: string): ParsedVerifier {
  const { name, hash, b64 } = splitVerifierKey(text);
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== 33 || bytes[0] !== ED25519) throw new Error('the verifier key is not an Ed25519 key');
  const raw = bytes.subarray(1);
  if (!noteKeyHash(name, raw).equals(Buffer.from(hash, 'hex'))) throw new Error('the verifier key hash does not match its name and key');
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return { name, keyHash: Buffer.from(hash, 'hex'), publicKey };
}

export function formatCheckpoint(body: CheckpointBody): string {
  if (!body.origin || /[\n]/.test(body.origin)) throw new Error('a checkpoint origin is one non-empty line');
  if (!Number.isSafeInteger(body.size) || body.size < 0) throw new Error('a checkpoint size is a whole number');
  if (body.root.length !== 32) throw new Error('a checkpoint root is 32 bytes');
  return `${body.origin}\n${body.size}\n${body.root.toString('base64')}\n`;
}

export function parseCheckpoint(text: string): CheckpointBody {
  const lines = text.split('\n');
  if (lines.length < 4 || lines.at(-1) !== '') throw new Error('a checkpoint has an origin, a size and a root hash, each on its own line');
  const [origin, size = '', root = ''] = lines;
  if (!origin) throw new Error('the checkpoint has no origin line');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new Error('the checkpoint size is not a decimal number');
  const hash = Buffer.from(root, 'base64');
  if (hash.length !== 32 || hash.toString('base64') !== root) throw new Error('the checkpoint root is not a base64 SHA-256 hash');
  return { origin, size: Number(size), root: hash };
}

/** Signs a note body (ending in a newline) with an Ed25519 private key under `name`. */
export function signNote(body: string, name: string, privateKey: KeyObject, publicKey: KeyObject): string {
  if (!body.endsWith('\n')) throw new Error('a note body ends with a newline');
  const sig = sign(null, Buffer.from(body, 'utf8'), privateKey);
  const blob = Buffer.concat([noteKeyHash(name, rawEd25519(publicKey)), sig]).toString('base64');
  return `${body}\n${DASH} ${name} ${blob}\n`;
}

/** One signature line: the key name and the decoded blob (key hash or ID first). */
export interface NoteSignature {
  name: string;
  blob: Buffer;
}

/**
 * Splits a signed note at its blank line into the body (ending in a newline) and its signature
 * lines. Verifies nothing: `openNote` and `verifyCosignature` do.
 */
export function splitNote(note: string): { body: string; signatures: NoteSignature[] } {
  const cut = note.indexOf('\n\n');
  if (cut < 0) throw new Error('a signed note has a body, a blank line and signature lines');
  const rest = note.slice(cut + 2);
  if (!rest.endsWith('\n')) throw new Error('a signed note ends with a newline');
  const signatures = rest
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const m = new RegExp(`^${DASH} (\\S+) ([A-Za-z0-9+/=]+)$`).exec(line);
      if (!m?.[1] || !m[2]) throw new Error(`not a signature line: ${JSON.stringify(line)}`);
      return { name: m[1], blob: Buffer.from(m[2], 'base64') };
    });
  return { body: note.slice(0, cut + 1), signatures };
}

/** The checkpoint a note carries, read without checking any signature (sizes, origins to look up). */
export function checkpointOf(note: string): CheckpointBody {
  return parseCheckpoint(splitNote(note).body);
}

/**
 * Verifies a signed note against one verifier key and returns its body. A note whose signature
 * lines include none by this key, or whose signature by it does not verify, is refused.
 */
export function openNote(note: string, key: string): string {
  const verifier = parseVerifierKey(key);
  const { body, signatures } = splitNote(note);
  for (const { name, blob } of signatures) {
    if (name !== verifier.name || blob.length !== 68 || !blob.subarray(0, 4).equals(verifier.keyHash)) continue;
    if (verify(null, Buffer.from(body, 'utf8'), verifier.publicKey, blob.subarray(4))) return body;
    throw new Error(`the signature by ${verifier.name} does not verify: the note was changed after it was signed`);
  }
  throw new Error(`the note carries no signature by ${verifier.name}`);
}
