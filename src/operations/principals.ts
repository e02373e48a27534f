import { z } from 'zod';
import { generateApiKey } from '../auth/index.ts';
import { CountersignError } from '../errors/index.ts';
import type { ResourceRef } from '../policy/index.ts';
import { type KeyView, keyView, type PrincipalView, principalView } from '../principals/index.ts';
import type { ApiKeyRecord, PrincipalRecord, TenantScope } from '../store/index.ts';
import type { OperationDeps } from './deps.ts';
import { tenantResource } from './plans.ts';
import type { AnyOperation, Operation } from './types.ts';

const GROUP = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'group names are lowercase letters, digits, - and _')
  .refine((g) => g !== 'system', 'the group "system" is reserved for the host operator');

export const CreatePrincipalSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'names are letters, digits, ., _, @ and -'),
    kind: z.enum(['human', 'agent']),
    groups: z.array(GROUP).max(50).default([]),
    description: z.string().max(500).default(''),
  })
  .strict();

export const CreateKeySchema = z.object({ description: z.string().max(500).default('') }).strict();

const PrincipalRef = z.object({ principalId: z.string().min(1).max(128) }).strict();

function principalResource(p: PrincipalRecord): ResourceRef {
  return { type: 'Principal', id: p.id, tenantId: p.tenantId };
}

/** A principal by its id or, for people, by its name (ids win: `prn_…` is never a name one types). */
async function loadPrincipal(tx: TenantScope, id: string): Promise<PrincipalRecord> {
  const p = (await tx.directory.getPrincipal(id)) ?? (await tx.directory.findPrincipalByName(id));
  if (!p) throw new CountersignError('NOT_FOUND', `principal ${id} not found`);
  return p;
}

async function insertKey(deps: OperationDeps, tx: TenantScope, principalId: string, description: string, at: string) {
  const key = generateApiKey((p) => deps.runtime.newId(p));
  await tx.directory.insertApiKey({
    id: key.id,
    principalId,
    secretHash: key.secretHash,
    description,
    createdAt: at,
    lastUsedAt: null,
    revokedAt: null,
  });
  return key;
}

function setDisabled(disabled: boolean): Operation<z.infer<typeof PrincipalRef>, PrincipalRecord, PrincipalView> {
  return {
    name: disabled ? 'principal.disable' : 'principal.enable',
    action: 'principal.disable',
    kind: 'mutation',
    summary: disabled ? 'Disable a principal: its keys and tokens stop working.' : 'Enable a disabled principal again.',
    input: PrincipalRef,
    load: (tx, { principalId }) => loadPrincipal(tx, principalId),
    resource: principalResource,
    guards: [
      (_tx, target, _i, ctx) => {
        if (disabled && target.id === ctx.principal.id) {
          throw new CountersignError('CONFLICT', 'you cannot disable yourself; ask another admin');
        }
      },
    ],
    act: async (tx, target) => {
      await tx.directory.setPrincipalDisabled(target.id, disabled);
      return { result: principalView({ ...target, disabled }), details: { disabled } };
    },
  };
}

export function principalOperations(deps: OperationDeps): AnyOperation[] {
  const create: Operation<z.infer<typeof CreatePrincipalSchema>, null, PrincipalView & { key: string; keyId: string }> = {
    name: 'principal.create',
    action: 'principal.create',
    kind: 'mutation',
    summary: 'Create a principal (a human or an agent) with its first API key, returned once.',
    input: CreatePrincipalSchema,
    load: async (tx, req) => {
      const clash = await tx.directory.findPrincipalByNameKey(req.name);
      if (clash) {
        const same = clash.name === req.name ? '' : ` ("${clash.name}" reads the same in a reviewer list)`;
        throw new CountersignError(
          'CONFLICT',
          `a principal named "${clash.name}" already exists in this tenant${same}; choose another name`,
        );
      }
      return null;
    },
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx, _l, req, ctx) => {
      const at = ctx.now.toISOString();
      const record = {
        id: deps.runtime.newId('prn'),
        name: req.name,
        kind: req.kind,
        groups: [...new Set(req.groups)],
        disabled: false,
        createdAt: at,
      };
      await tx.directory.insertPrincipal(record);
      const key = await insertKey(deps, tx, record.id, req.description, at);
      return {
        result: { ...principalView({ ...record, tenantId: ctx.principal.tenantId }), key: key.token, keyId: key.id },
        resource: `principal:${record.id}`,
        details: { name: req.name, kind: req.kind, groups: record.groups, keyId: key.id },
      };
    },
  };
  const list: Operation<Record<string, never>, null, { principals: PrincipalView[] }> = {
    name: 'principal.list',
    action: 'principal.read',
    kind: 'read',
    summary: "The tenant's principals.",
    input: z.object({}).strict(),
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    act: async (tx) => ({ result: { principals: (await tx.directory.listPrincipals()).map(principalView) } }),
  };
  const createKey: Operation<
    z.infer<typeof PrincipalRef> & z.infer<typeof CreateKeySchema>,
    PrincipalRecord,
    { id: string; key: string; principal: string }
  > = {
    name: 'key.create',
    action: 'key.create',
    kind: 'mutation',
    summary: 'Create another API key for a principal, returned once.',
    input: PrincipalRef.extend(CreateKeySchema.shape).strict(),
    load: (tx, { principalId }) => loadPrincipal(tx, principalId),
    resource: principalResource,
    act: async (tx, target, req, ctx) => {
      const key = await insertKey(deps, tx, target.id, req.description, ctx.now.toISOString());
      return { result: { id: key.id, key: key.token, principal: target.id }, resource: `key:${key.id}`, details: { principal: target.id } };
    },
  };
  const listKeys: Operation<z.infer<typeof PrincipalRef>, PrincipalRecord, { keys: KeyView[] }> = {
    name: 'key.list',
    action: 'principal.read',
    kind: 'read',
    summary: "A principal's API keys (never their secrets).",
    input: PrincipalRef,
    load: (tx, { principalId }) => loadPrincipal(tx, principalId),
    resource: principalResource,
    act: async (tx, target) => ({ result: { keys: (await tx.directory.listApiKeys(target.id)).map(keyView) } }),
  };
  const revokeKey: Operation<{ keyId: string }, { key: ApiKeyRecord; owner: PrincipalRecord }, KeyView> = {
    name: 'key.revoke',
    action: 'key.revoke',
    kind: 'mutation',
    summary: 'Revoke an API key.',
    input: z.object({ keyId: z.string().min(1).max(128) }).strict(),
    load: async (tx, { keyId }) => {
      const key = (await tx.directory.listApiKeys()).find((k) => k.id === keyId);
      if (!key) throw new CountersignError('NOT_FOUND', `key ${keyId} not found`);
      return { key, owner: await loadPrincipal(tx, key.principalId) };
    },
    resource: (l) => principalResource(l.owner),
    act: async (tx, { key }, _i, ctx) => {
      const at = ctx.now.toISOString();
      if (!(await tx.directory.revokeApiKey(key.id, at))) throw new CountersignError('CONFLICT', `key ${key.id} is already revoked`);
      return { result: keyView({ ...key, revokedAt: at }), resource: `key:${key.id}`, details: { principal: key.principalId } };
    },
  };
  return [create, list, setDisabled(true), setDisabled(false), createKey, listKeys, revokeKey];
}
