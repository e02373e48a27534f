import type { KeyObject } from 'node:crypto';
import type { ExecutionRecord, TenantScope } from '../store/index.ts';
import { verifyOverrideText } from './document.ts';

/**
 * The executor's per-step check of an override execution (invariants 8 and 14): the grant and
 * the execution name the same override, it still exists, still verifies under the override key,
 * is bound to this execution, and is not revoked. Null when the step may run, else why not. An
 * override's TTL bounds when it may be accepted; a run it authorized is stopped by revocation.
 */
export async function overrideStepRefusal(
  scope: TenantScope,
  exec: Pick<ExecutionRecord, 'id' | 'overrideId'>,
  grantOverride: string | undefined,
  keys: ReadonlyMap<string, KeyObject>,
): Promise<string | null> {
  const bound = grantOverride ?? null;
  if (bound !== exec.overrideId) return 'the grant and the execution name different overrides';
  if (bound === null) return null;
  const o = await scope.overrides.get(bound);
  if (!o) return `override ${bound} no longer exists`;
  if (!verifyOverrideText(o.document, o.keyId, o.signature, keys)) return `override ${bound} no longer verifies under the override key`;
  if (o.executionId !== exec.id) return `override ${bound} is not bound to this execution`;
  if (o.revokedAt) return `override ${bound} was revoked${o.revokeReason ? `: ${o.revokeReason}` : ''}`;
  return null;
}
