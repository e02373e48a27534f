import type { TrustConfig } from '../config/index.ts';

/**
 * The K of "K valid signatures from the N trusted keys" (invariant 13), pure. N is whatever the
 * trust store holds; K comes from config, per environment, and is never below 1.
 */
export function requiredSignatures(trust: Pick<TrustConfig, 'required' | 'environments'>, environment: string): number {
  return Math.max(1, trust.environments[environment] ?? trust.required);
}

/**
 * What a manifest needs to load at all: the smallest K of any environment. A tool that loads
 * can still be refused per environment at propose, execute and every step.
 */
export function loadThreshold(trust: Pick<TrustConfig, 'required' | 'environments'>): number {
  return Math.max(1, Math.min(trust.required, ...Object.values(trust.environments)));
}

export type ToolTrustVerdict =
  | { ok: true; unsigned: false; signers: string[] }
  /** Below K, allowed only because developmentMode is on: every use is marked and audited. */
  | { ok: true; unsigned: true; signers: string[]; shortfall: string }
  | { ok: false; reason: string };

/**
 * Decides one tool in one environment from the signatures that verify under the trust store as
 * it is now. A bad signature by a trusted key is refused even in development mode: that is an
 * edited manifest, not an unsigned one.
 */
export function judgeTool(input: {
  tool: string;
  environment: string;
  required: number;
  valid: readonly string[];
  bad: readonly string[];
  developmentMode: boolean;
}): ToolTrustVerdict {
  if (input.bad.length > 0) {
    return {
      ok: false,
      reason: `tool "${input.tool}": the signature by trusted key ${input.bad.join(', ')} does not verify (the manifest changed after signing)`,
    };
  }
  if (input.valid.length >= input.required) return { ok: true, unsigned: false, signers: [...input.valid] };
  const shortfall = `tool "${input.tool}" has ${input.valid.length} valid signature(s) from currently trusted publisher keys; ${input.environment} requires ${input.required}`;
  if (input.developmentMode) return { ok: true, unsigned: true, signers: [...input.valid], shortfall };
  return { ok: false, reason: shortfall };
}
