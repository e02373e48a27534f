import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import type { ResourceRef } from '../policy/index.ts';
import type { Operation } from './types.ts';

// Host tools that change state outside the store — policy files, the checkpoint file and the
// witnesses, the store itself — run as host operations, so the log says when and by whom, and
// the effect happens only after its `allowed` entry has committed (invariant 11).

const installation = (tenantId: string): ResourceRef => ({ type: 'Tenant', id: tenantId, tenantId });

/** Who ran the command on the host (the account name), for the record. */
const Operator = z.string().min(1).max(200);

/** What `policy.upgrade` is given by the command: a checked preview, and the write. */
export interface PolicyUpgrader<R extends { files: { file: string; change: string }[] }> {
  /** The upgrade as a dry run: the upgraded set is loaded and canary-checked; nothing is written. */
  preview(): R;
  /** Writes it (keeping backups) and returns what was written. */
  apply(): R;
}

export function policyUpgradeOperation<R extends { files: { file: string; change: string }[] }>(
  upgrader: PolicyUpgrader<R> | undefined,
): Operation<{ operator: string }, R, R, R> {
  const changed = (r: R) => r.files.filter((f) => f.change !== 'unchanged').map((f) => `${f.file}: ${f.change}`);
  return {
    name: 'policy.upgrade',
    action: 'policy.upgrade',
    kind: 'mutation',
    summary: "Bring the data directory's baseline policy files and schema to this release (host operator).",
    input: z.object({ operator: Operator }).strict(),
    gate: (_i, ctx) => installation(ctx.principal.tenantId),
    // Checked before the decision is recorded: a set the server would refuse is never written.
    prepare: async () => {
      if (!upgrader) throw new CountersignError('CONFLICT', 'this process cannot upgrade policies');
      return upgrader.preview();
    },
    load: async (_tx, _i, _ctx, preview) => preview as R,
    resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
    act: async (_tx, preview, req) => ({
      result: preview,
      resource: 'policies',
      details: { operator: req.operator, changes: changed(preview) },
      afterCommit: async () => {
        const done = (upgrader as PolicyUpgrader<R>).apply();
        return { result: done, resource: 'policies', details: { operator: req.operator, changes: changed(done) } };
      },
    }),
  };
}

/** A signed checkpoint the command computed, and how to publish it (file, witnesses). */
export interface PreparedCheckpoint<P> {
  size: number;
  /** Base64 root hash of the tree of `size` entries. */
  root: string;
  publish(): Promise<P & { details: Record<string, unknown> }>;
}

export function auditCheckpointOperation<P>(
  make: (() => Promise<PreparedCheckpoint<P>>) | undefined,
): Operation<{ operator: string }, PreparedCheckpoint<P>, PreparedCheckpoint<P> | P, PreparedCheckpoint<P>> {
  return {
    name: 'audit.checkpoint',
    action: 'audit.checkpoint',
    kind: 'mutation',
    summary: 'Sign a checkpoint of the audit tree, append it to the checkpoint file and hand it to witnesses (host operator).',
    input: z.object({ operator: Operator }).strict(),
    gate: (_i, ctx) => installation(ctx.principal.tenantId),
    prepare: async () => {
      if (!make) throw new CountersignError('CONFLICT', 'this process cannot make checkpoints');
      return make();
    },
    load: async (_tx, _i, _ctx, prepared) => prepared as PreparedCheckpoint<P>,
    resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
    act: async (_tx, cp, req) => ({
      result: cp,
      resource: `checkpoint:${cp.size}`,
      details: { operator: req.operator, size: cp.size, root: cp.root },
      afterCommit: async () => {
        const published = await cp.publish();
        return {
          result: published,
          resource: `checkpoint:${cp.size}`,
          details: { operator: req.operator, size: cp.size, ...published.details },
        };
      },
    }),
  };
}

const RestoreInput = z
  .object({
    operator: Operator,
    /** The backup file restored from. */
    from: z.string().min(1).max(4096),
    engine: z.enum(['sqlite', 'postgres']),
    /** Entries of the restored chain that verified before it was put in place. */
    verifiedEntries: z.number().int().min(0),
    /** Where the store it replaced was kept (SQLite), or null. */
    replaced: z.string().max(4096).nullable(),
  })
  .strict();

/**
 * The record of a restore, written into the restored store as the first entry after the history
 * it brought back: the restore cannot be recorded before the log it replaces is in place. The
 * command takes the restore back out when this is refused or cannot be written.
 */
export const storeRestoreOperation: Operation<z.infer<typeof RestoreInput>, null, true> = {
  name: 'store.restore',
  action: 'store.restore',
  kind: 'mutation',
  summary: 'Record a restore from a backup in the restored store (host operator).',
  input: RestoreInput,
  load: async () => null,
  resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
  act: async (_tx, _l, req) => ({ result: true, resource: 'store', details: { ...req } }),
};
