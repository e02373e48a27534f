import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import canonicalize from 'canonicalize';
import { keyIdOf } from '../audit/index.ts';
import { CountersignError } from '../errors/index.ts';

/**
 * Tool manifest signatures (invariant 13). A publisher signs the RFC 8785 canonical JSON of the
 * manifest as parsed from YAML, with Ed25519; the signatures live beside the manifest in
 * `<name>.yaml.sig` as a JSON array (or JSON lines) of `{keyId, signature}`. Signing the parsed
 * content rather than the bytes means comments and formatting are not covered; every value is.
 *
 * Everything here is pure apart from the small file helpers at the end.
 */
export interface ManifestSignature {
  /** First 16 hex chars of SHA-256 over the publisher key's SPKI DER (as audit and grant keys). */
  keyId: string;
  /** Ed25519 signature over the canonical text, base64url. */
  signature: string;
}

export const SIGNATURE_SUFFIX = '.sig';

const KEY_ID = /^[0-9a-f]{16}$/;
const BASE64URL = /^[A-Za-z0-9_-]{86}$/;

/** The exact text a publisher signs: the canonical JSON of the parsed manifest document. */
export function manifestSigningText(document: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(document);
  } catch (err) {
    throw new CountersignError('MANIFEST_INVALID', `the manifest cannot be canonicalized: ${(err as Error).message}`, { cause: err });
  }
  if (text === undefined) throw new CountersignError('MANIFEST_INVALID', 'the manifest cannot be canonicalized');
  return text;
}

export function signManifestText(text: string, privateKey: KeyObject): ManifestSignature {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new CountersignError('VALIDATION_FAILED', 'publisher keys must be Ed25519');
  return {
    keyId: keyIdOf(createPublicKey(privateKey)),
    signature: sign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64url'),
  };
}

export function verifyManifestSignature(text: string, sig: ManifestSignature, publicKey: KeyObject): boolean {
  if (!BASE64URL.test(sig.signature)) return false;
  try {
    return verify(null, Buffer.from(text, 'utf8'), publicKey, Buffer.from(sig.signature, 'base64url'));
  } catch {
    return false;
  }
}

export interface SignatureCheck {
  /** Ids of trusted keys whose signature verifies. */
  valid: string[];
  /** Ids of trusted keys whose signature does NOT verify: the content changed after signing. */
  bad: string[];
  /** Ids of keys not in the trust store (their signatures count for nothing). */
  untrusted: string[];
}

/**
 * Checks every signature against the trusted keys. A signature from a key that is not trusted
 * is ignored, never counted; one from a trusted key that fails is reported as bad.
 */
export function checkManifestSignatures(
  text: string,
  signatures: readonly ManifestSignature[],
  trusted: ReadonlyMap<string, KeyObject>,
): SignatureCheck {
  const out: SignatureCheck = { valid: [], bad: [], untrusted: [] };
  for (const sig of signatures) {
    const key = trusted.get(sig.keyId);
    if (!key) out.untrusted.push(sig.keyId);
    else if (verifyManifestSignature(text, sig, key)) {
      if (!out.valid.includes(sig.keyId)) out.valid.push(sig.keyId);
    } else out.bad.push(sig.keyId);
  }
  return out;
}

/** Parses a `.sig` file: a JSON array, or one JSON object per line. Anything else is refused. */
export function parseSignatureFile(text: string, file = SIGNATURE_SUFFIX): ManifestSignature[] {
  const trimmed = text.trim();
  let items: unknown[];
  try {
    items = trimmed.startsWith('[')
      ? (JSON.parse(trimmed) as unknown[])
      : trimmed
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.length > 0)
          .map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new CountersignError('TOOL_UNTRUSTED', `${file}: not a JSON array or JSON lines of signatures`, { cause: err });
  }
  if (!Array.isArray(items)) throw new CountersignError('TOOL_UNTRUSTED', `${file}: expected a list of signatures`);
  return items.map((item, i) => {
    const s = item as Partial<ManifestSignature> | null;
    if (!s || typeof s !== 'object' || typeof s.keyId !== 'string' || !KEY_ID.test(s.keyId) || typeof s.signature !== 'string') {
      throw new CountersignError('TOOL_UNTRUSTED', `${file}: entry ${i + 1} is not {keyId, signature}`);
    }
    return { keyId: s.keyId, signature: s.signature };
  });
}

export function formatSignatureFile(signatures: readonly ManifestSignature[]): string {
  return `${JSON.stringify(
    signatures.map((s) => ({ keyId: s.keyId, signature: s.signature })),
    null,
    2,
  )}\n`;
}

/** Adds a signature, replacing an earlier one by the same key (re-signing after an edit). */
export function mergeSignature(existing: readonly ManifestSignature[], added: ManifestSignature): ManifestSignature[] {
  return [...existing.filter((s) => s.keyId !== added.keyId), added];
}

/** The signatures beside a manifest file; none when the `.sig` file is absent. */
export function readSignaturesBeside(manifestFile: string): ManifestSignature[] {
  const file = `${manifestFile}${SIGNATURE_SUFFIX}`;
  if (!existsSync(file)) return [];
  return parseSignatureFile(readFileSync(file, 'utf8'), file);
}

export interface PublisherKeyPair {
  keyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generatePublisherKeyPair(): PublisherKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The file names a publisher key pair is written under. */
export function publisherKeyFiles(keyId: string): { privateKey: string; publicKey: string } {
  return { privateKey: `publisher-${keyId}.key`, publicKey: `publisher-${keyId}.pub` };
}

/**
 * Reads a publisher's private key for signing. A key file others can read is refused, like ssh
 * does: a signing key that leaked is a key anyone can publish tools with.
 */
export function readPublisherPrivateKey(file: string): KeyObject {
  let pem: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      throw new CountersignError(
        'CONFIG_INVALID',
        `${file} is readable by group or others (mode ${(statSync(file).mode & 0o777).toString(8)}); chmod 600 it`,
      );
    }
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    throw new CountersignError('BAD_REQUEST', `cannot read the key ${file}: ${(err as Error).message}`, { cause: err });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new CountersignError('VALIDATION_FAILED', `${file} is not a PEM private key`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CountersignError('VALIDATION_FAILED', `${file} is not an Ed25519 key`);
  return key;
}

/** Parses a publisher's public key (SPKI PEM); anything but Ed25519 is refused. */
export function parsePublisherPublicKey(pem: string): { keyId: string; key: KeyObject; pem: string } {
  if (/PRIVATE KEY/.test(pem)) {
    // createPublicKey would derive the public half; refusing keeps private keys off the wire.
    throw new CountersignError('VALIDATION_FAILED', 'publicKey: this is a PRIVATE key; pass the .pub file', {
      details: { field: 'publicKey' },
    });
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new CountersignError('VALIDATION_FAILED', 'publicKey: not a PEM public key', { cause: err, details: { field: 'publicKey' } });
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    throw new CountersignError('VALIDATION_FAILED', 'publicKey: publisher keys must be Ed25519 public keys', {
      details: { field: 'publicKey' },
    });
  }
  return { keyId: keyIdOf(key), key, pem: key.export({ type: 'spki', format: 'pem' }).toString() };
}
