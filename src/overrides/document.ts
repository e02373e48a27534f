import { type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { canonicalJson } from '../plans/index.ts';

/**
 * A break-glass override (invariant 14): a canonical JSON document naming its tenant, scope
 * (environment, tools, actions), reason, nonce and lifetime, signed with the installation's
 * override key (Ed25519). The `type` field keeps this signature from ever being taken for
 * another kind of document.
 */
export interface OverrideDocument {
  v: 1;
  type: 'countersign-override';
  id: string;
  tenant: string;
  environment: string;
  /** A step is in scope when its tool is in `tools` AND its action in `actions`. */
  tools: string[];
  actions: string[];
  reason: string;
  /** Server-generated; consumed once, atomically with the execution it authorizes. */
  nonce: string;
  issuedBy: string;
  issuedAt: string;
  expiresAt: string;
}

export interface SignedOverride {
  document: OverrideDocument;
  keyId: string;
  /** Ed25519 over the document's RFC 8785 canonical form, base64url. */
  signature: string;
}

const NAME = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/);
export const OVERRIDE_ID = /^ovr_[0-9a-z]{26}$/;

export const OverrideDocumentSchema = z
  .object({
    v: z.literal(1),
    type: z.literal('countersign-override'),
    id: z.string().regex(OVERRIDE_ID),
    tenant: z.string().min(1).max(128),
    environment: z.string().min(1).max(64),
    tools: z.array(NAME).min(1).max(50),
    actions: z.array(NAME).min(1).max(50),
    reason: z.string().min(1).max(2000),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    issuedBy: z.string().min(1).max(128),
    issuedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
  })
  .strict();

export const SignedOverrideSchema = z
  .object({
    document: OverrideDocumentSchema,
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
    signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
  })
  .strict();

export function overrideSigningText(doc: OverrideDocument): string {
  return canonicalJson(doc);
}

export function signOverride(doc: OverrideDocument, key: { keyId: string; privateKey: KeyObject }): SignedOverride {
  const signature = sign(null, Buffer.from(overrideSigningText(doc), 'utf8'), key.privateKey).toString('base64url');
  return { document: doc, keyId: key.keyId, signature };
}

/** Verifies a signature over canonical text against the pinned override keys. */
export function verifyOverrideText(text: string, keyId: string, signature: string, keys: ReadonlyMap<string, KeyObject>): boolean {
  const key = keys.get(keyId);
  if (!key || !/^[A-Za-z0-9_-]{86}$/.test(signature)) return false;
  try {
    return verify(null, Buffer.from(text, 'utf8'), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Parses stored canonical text back into a document, refusing anything not of its shape. */
export function parseOverrideDocument(text: string): OverrideDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CountersignError('OVERRIDE_INVALID', 'the override document is not JSON');
  }
  const parsed = OverrideDocumentSchema.safeParse(value);
  if (!parsed.success) throw new CountersignError('OVERRIDE_INVALID', 'the override document is not an override document');
  return parsed.data as OverrideDocument;
}

export type PresentedOverride = { id: string; signed: null } | { id: string; signed: SignedOverride };

/**
 * What a caller presents to use an override: its id, or the whole signed document as JSON text
 * (as `override issue --json` prints it). Either way the stored record decides; a presented
 * document must be byte-for-byte the stored one.
 */
export function parsePresentedOverride(presented: string): PresentedOverride {
  const s = presented.trim();
  if (OVERRIDE_ID.test(s)) return { id: s, signed: null };
  let value: unknown;
  try {
    value = JSON.parse(s);
  } catch {
    throw new CountersignError('OVERRIDE_INVALID', 'override: expected an override id (ovr_…) or the signed override document as JSON');
  }
  const parsed = SignedOverrideSchema.safeParse(value);
  if (!parsed.success) throw new CountersignError('OVERRIDE_INVALID', 'override: not a signed override document');
  return { id: parsed.data.document.id, signed: parsed.data as SignedOverride };
}
