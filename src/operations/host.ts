import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { generateApiKey } from '../auth/index.ts';
import { CountersignError } from '../errors/index.ts';
import { createGrantKey } from '../grants/index.ts';
import { createOverrideKey, hasOverrideKey } from '../overrides/index.ts';
import type { Principal, ResourceRef } from '../policy/index.ts';
import type { Runtime } from '../runtime.ts';
import { NO_TENANT } from '../store/index.ts';
import { parsePublisherPublicKey } from '../tools/index.ts';
import {
  auditCheckpointOperation,
  type PolicyUpgrader,
  type PreparedCheckpoint,
  policyUpgradeOperation,
  storeRestoreOperation,
} from './host-maintenance.ts';
import { type ToolSetSource, toolReloadOperation } from './host-reload.ts';
import type { PipelineDeps } from './pipeline.ts';
import { recoverAdminOperation } from './recover-admin.ts';
import type { AnyOperation, Operation } from './types.ts';

export const DEFAULT_ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

/**
 * The host operator, acting on the server host (init, key rotation, tenant provisioning, policy
 * reload, sweeps). Built in-process only: no credential maps to it, and the code rules refuse it
 * every action that is not a host action, and refuse host actions to everyone else.
 */
export function systemPrincipal(tenantId: string = NO_TENANT): Principal {
  return { tenantId, id: 'system', name: 'system', kind: 'system', groups: ['system'], authMethod: 'system' };
}

const installation = (tenantId: string): ResourceRef => ({ type: 'Tenant', id: tenantId, tenantId });

/** A host event with no effect of its own but its audit entry (start, stop, init). */
function hostEvent(
  name: 'system.init' | 'system.start' | 'system.stop',
  summary: string,
): Operation<{ details: Record<string, unknown> }, null, true> {
  return {
    name,
    action: name,
    kind: 'mutation',
    summary,
    input: z.object({ details: z.record(z.string(), z.unknown()).default({}) }).strict(),
    load: async () => null,
    resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
    act: async (_tx, _l, req) => ({ result: true, resource: name === 'system.init' ? 'server:init' : 'server:api', details: req.details }),
  };
}

const ProvisionInput = z
  .object({
    name: z.string().min(1).max(128),
    environments: z
      .array(z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/))
      .min(1)
      .max(50)
      .default([...DEFAULT_ENVIRONMENTS]),
  })
  .strict();

export interface ProvisionedTenant {
  tenantId: string;
  adminPrincipalId: string;
  /** The admin's API key, returned once and never stored in clear. */
  adminKey: string;
}

/** Options of the host operations that touch the data directory's files. */
export interface HostDeps extends PipelineDeps {
  runtime: Runtime;
  /** `<dir>/keys`: where grant and override keys live. */
  keysDir: string;
  /** The process's reloadable policy set, when it has one (the API server). */
  policies?: { prepare(): { ok: true; commit: () => void } | { ok: false; error: string } };
  /** The process's reloadable tool set, when it serves tools (the API server, an executor). */
  toolSet?: ToolSetSource;
  /** `countersign policy upgrade`: the checked upgrade of the data directory's baseline files. */
  policyUpgrader?: PolicyUpgrader<{ files: { file: string; change: string }[] }>;
  /** `countersign audit checkpoint`: the signed checkpoint and its publication. */
  checkpoint?: () => Promise<PreparedCheckpoint<unknown>>;
}

type PreparedPolicies = ReturnType<NonNullable<HostDeps['policies']>['prepare']>;

export function hostOperations(deps: HostDeps): AnyOperation[] {
  /**
   * A tenant with its environments and an admin principal and key, in one transaction: either
   * all of it exists, with its entry, or none of it. The system principal runs it bound to the
   * new tenant's id, so the transaction and the entry belong to that tenant.
   */
  const provision: Operation<z.infer<typeof ProvisionInput>, null, ProvisionedTenant> = {
    name: 'tenant.create',
    action: 'tenant.create',
    kind: 'mutation',
    summary: 'Provision a tenant with its environments and an admin principal and key (host operator).',
    input: ProvisionInput,
    load: async () => null,
    resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
    act: async (tx, _l, req, ctx) => {
      if (await tx.directory.getTenant()) throw new CountersignError('CONFLICT', `tenant ${tx.tenantId} already exists`);
      const at = ctx.now.toISOString();
      const adminId = deps.runtime.newId('prn');
      const key = generateApiKey((p) => deps.runtime.newId(p));
      await tx.directory.insertTenant(req.name, at);
      for (const env of req.environments) await tx.directory.insertEnvironment(env, at);
      await tx.directory.insertPrincipal({ id: adminId, name: 'admin', kind: 'human', groups: ['admin'], disabled: false, createdAt: at });
      await tx.directory.insertApiKey({
        id: key.id,
        principalId: adminId,
        secretHash: key.secretHash,
        description: 'tenant admin key',
        createdAt: at,
        lastUsedAt: null,
        revokedAt: null,
      });
      return {
        result: { tenantId: tx.tenantId, adminPrincipalId: adminId, adminKey: key.token },
        resource: `tenant:${tx.tenantId}`,
        details: { name: req.name, environments: req.environments, admin: adminId, keyId: key.id },
      };
    },
  };
  const bootstrapTrust: Operation<{ publicKey: string; name: string }, null, string> = {
    name: 'trust.bootstrap',
    action: 'trust.bootstrap',
    kind: 'mutation',
    summary: "Trust the installation's own publisher key at init (host operator).",
    input: z.object({ publicKey: z.string().min(1).max(4096), name: z.string().min(1).max(128) }).strict(),
    load: async () => null,
    resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
    act: async (tx, _l, req, ctx) => {
      const parsed = parsePublisherPublicKey(req.publicKey);
      await tx.installationTrust.add({
        keyId: parsed.keyId,
        publicKey: parsed.pem,
        name: req.name,
        addedBy: 'system:init',
        addedTenant: NO_TENANT,
        addedAt: ctx.now.toISOString(),
      });
      return { result: parsed.keyId, resource: `trusted-key:${parsed.keyId}`, details: { op: 'add', keyId: parsed.keyId, name: req.name } };
    },
  };
  const rotateGrantKey: Operation<Record<string, never>, { previous: string }, { kid: string; previous: string }> = {
    name: 'grant.rotate',
    action: 'grant.rotate',
    kind: 'mutation',
    summary: 'Add a grant signing key and make it current; verifiers keep the old ones (host operator).',
    input: z.object({}).strict(),
    load: async () => ({ previous: readFileSync(join(deps.keysDir, 'grant-current'), 'utf8').trim() }),
    resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
    act: async (_tx, { previous }) => ({
      result: { kid: '', previous },
      resource: 'grant-keys',
      details: { previous },
      afterCommit: async () => {
        const kid = createGrantKey(deps.keysDir);
        return { result: { kid, previous }, resource: `grant-key:${kid}`, details: { previous } };
      },
    }),
  };
  const overrideKey: Operation<Record<string, never>, null, string | null> = {
    name: 'override.key',
    action: 'override.key',
    kind: 'mutation',
    summary: 'Create the override signing key of a data directory made before overrides existed (host operator).',
    input: z.object({}).strict(),
    load: async () => null,
    resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
    guards: [
      () => {
        if (hasOverrideKey(deps.keysDir)) throw new CountersignError('CONFLICT', 'the override key already exists');
      },
    ],
    act: async () => ({
      result: null,
      resource: 'override-key',
      details: { dir: deps.keysDir },
      afterCommit: async () => {
        const kid = createOverrideKey(deps.keysDir);
        return { result: kid, resource: `override-key:${kid}`, details: {} };
      },
    }),
  };
  /**
   * SIGHUP: the policy directory is read, validated and canary-checked; a set that fails is
   * refused (`denied`, the previous set stays), one that passes replaces the old one only after
   * its entry has committed.
   */
  const reloadPolicies: Operation<Record<string, never>, PreparedPolicies | null, { reloaded: true }> = {
    name: 'policy.reload',
    action: 'policy.reload',
    kind: 'mutation',
    summary: 'Reload the policy directory (SIGHUP); a set that fails validation or canaries is refused (host).',
    input: z.object({}).strict(),
    load: async () => deps.policies?.prepare() ?? null,
    resource: (_l, _i, ctx) => installation(ctx.principal.tenantId),
    guards: [
      (_tx, prepared) => {
        if (!prepared) throw new CountersignError('CONFLICT', "this process's policies do not reload");
        if (!prepared.ok) {
          throw new CountersignError('CONFIG_INVALID', prepared.error);
        }
      },
    ],
    act: async (_tx, prepared) => ({
      result: { reloaded: true },
      resource: 'policies',
      afterCommit: async () => {
        if (prepared?.ok) prepared.commit();
        return { result: { reloaded: true }, resource: 'policies' };
      },
    }),
  };
  return [
    reloadPolicies,
    hostEvent('system.init', 'Initialize a data directory (host operator).'),
    hostEvent('system.start', 'An API process started (host).'),
    hostEvent('system.stop', 'An API process stopped (host).'),
    provision,
    bootstrapTrust,
    rotateGrantKey,
    overrideKey,
    toolReloadOperation(deps.toolSet),
    recoverAdminOperation(deps.runtime),
    policyUpgradeOperation(deps.policyUpgrader),
    auditCheckpointOperation(deps.checkpoint),
    storeRestoreOperation,
  ];
}
