import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';

import { PLAN_SOURCES, type PlanSource } from '../policy/index.ts';
import type { StepPreview } from './previews.ts';

export { PLAN_SOURCES, type PlanSource };

const StepSchema = z
  .object({
    tool: z.string().min(1).max(64),
    action: z.string().min(1).max(64),
    input: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/**
 * What a caller may submit. Tenant, proposer and environment existence come from the server
 * (invariant 3): `tenant` is accepted only so that a conflicting one can be refused loudly.
 */
export const ProposeBodySchema = z
  .object({
    intent: z.string().trim().min(1).max(4000),
    environment: z.string().min(1).max(64),
    steps: z.array(StepSchema).min(1).max(100),
    rollback: z.array(StepSchema).max(100).default([]),
    /** A caller may only declare a source at or below its interface's trust (api, cli, planner). */
    source: z.enum(['api', 'cli', 'planner']).optional(),
    tenant: z.string().max(128).optional(),
  })
  .strict();
export type ProposeBody = z.infer<typeof ProposeBodySchema>;

export interface PlanStep {
  tool: string;
  action: string;
  input: Record<string, unknown>;
  /** SHA-256 of the tool manifest the step was validated against. */
  toolDigest: string;
}

/**
 * The immutable, hashed content of a plan. Everything a reviewer approves is in here; nothing
 * time- or id-dependent is, so the same submission yields the same hash (invariant 4).
 */
export interface PlanDocument {
  v: 1;
  tenant: string;
  environment: string;
  intent: string;
  proposer: string;
  source: PlanSource;
  steps: PlanStep[];
  rollback: PlanStep[];
  /**
   * previews (issue 17): what each previewed main step's preview showed, attached once before
   * review. Absent on plans without previews, so their document (and hash) is as before.
   */
  previews?: StepPreview[];
}

/** RFC 8785 canonical JSON. Lone surrogates, NaN and Infinity cannot be canonicalized: a 400. */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (err) {
    throw new CountersignError('NOT_CANONICALIZABLE', `the plan cannot be canonicalized: ${(err as Error).message}`, { cause: err });
  }
  if (text === undefined) throw new CountersignError('NOT_CANONICALIZABLE', 'the plan cannot be canonicalized');
  return text;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The plan hash: SHA-256 of the document's RFC 8785 canonical form. */
export function planHash(doc: PlanDocument): string {
  return sha256Hex(canonicalJson(doc));
}

/** Parses stored canonical text back into a document, refusing anything not of the document's shape. */
export function parseStoredDocument(text: string): PlanDocument {
  const value = JSON.parse(text) as PlanDocument;
  if (value === null || typeof value !== 'object' || value.v !== 1 || !Array.isArray(value.steps)) {
    throw new CountersignError('PLAN_HASH_MISMATCH', 'the stored plan document is not a plan document');
  }
  return value;
}
