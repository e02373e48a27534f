import { z } from 'zod';
import { generateApiKey } from '../auth/index.ts';
import { CountersignError } from '../errors/index.ts';
import { parseOrThrow } from '../plans/service.ts';
import { type PrivilegeDeps, requirePrivilege, requireRead } from '../policy/require-privilege.ts';
import type { Principal, ResourceRef } from '../policy/types.ts';
import type { Runtime } from '../runtime.ts';
import type { ApiKeyRecord, PrincipalRecord } from '../store/index.ts';
import type { KeyView, PrincipalView } from './view.ts';

const GROUP = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'group names are lowercase letters, digits, - and _');

export const CreatePrincipalSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'names are letters, digits, ., _, @ and -'),
    kind: z.enum(['human', 'agent']),
    groups: z.array(GROUP).max(50).default([]),
    description: z.string().max(500).default(''),
  })
  .strict();

export const CreateKeySchema = z.object({ description: z.string().max(500).default('') }).strict();

export type { KeyView, PrincipalView } from './view.ts';

const principalView = (p: PrincipalRecord): PrincipalView => ({
  id: p.id,
  name: p.name,
  kind: p.kind,
  groups: p.groups,
  disabled: p.disabled,
  createdAt: p.createdAt,
});
const keyView = (k: ApiKeyRecord): KeyView => ({
  id: k.id,
  principal: k.principalId,
  description: k.description,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
});

/** Principals and their API keys. Keys are returned once, at creation, and stored hashed. */
export class PrincipalService {
  constructor(private readonly deps: PrivilegeDeps & { runtime: Runtime }) {}

  whoami(principal: Principal): Principal {
    return principal;
  }

  async create(principal: Principal, body: unknown): Promise<PrincipalView & { key: string; keyId: string }> {
    const req = parseOrThrow(CreatePrincipalSchema, body, 'body');
    const tenant: ResourceRef = { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId };
    return requirePrivilege(this.deps, principal, 'principal.create', tenant, async (scope) => {
      if (await scope.directory.findPrincipalByName(req.name)) {
        throw new CountersignError('CONFLICT', `a principal named "${req.name}" already exists in this tenant`);
      }
      const at = this.deps.runtime.now().toISOString();
      const record = {
        id: this.deps.runtime.newId('prn'),
        name: req.name,
        kind: req.kind,
        groups: [...new Set(req.groups)],
        disabled: false,
        createdAt: at,
      };
      await scope.directory.insertPrincipal(record);
      const key = generateApiKey((p) => this.deps.runtime.newId(p));
      await scope.directory.insertApiKey({
        id: key.id,
        principalId: record.id,
        secretHash: key.secretHash,
        description: req.description,
        createdAt: at,
        lastUsedAt: null,
        revokedAt: null,
      });
      return {
        result: { ...principalView({ ...record, tenantId: principal.tenantId }), key: key.token, keyId: key.id },
        resource: `principal:${record.id}`,
        details: { name: req.name, kind: req.kind, groups: record.groups, keyId: key.id },
      };
    });
  }

  async list(principal: Principal): Promise<{ principals: PrincipalView[] }> {
    await requireRead(this.deps, principal, 'principal.read', { type: 'Tenant', id: principal.tenantId, tenantId: principal.tenantId });
    return { principals: (await this.deps.store.scope(principal.tenantId).directory.listPrincipals()).map(principalView) };
  }

  async setDisabled(principal: Principal, id: string, disabled: boolean): Promise<PrincipalView> {
    const target = await this.#load(principal, id);
    if (target.id === principal.id && disabled) throw new CountersignError('CONFLICT', 'you cannot disable yourself; ask another admin');
    return requirePrivilege(this.deps, principal, 'principal.disable', this.#resource(target), async (scope) => {
      await scope.directory.setPrincipalDisabled(id, disabled);
      return { result: principalView({ ...target, disabled }), details: { disabled } };
    });
  }

  async createKey(principal: Principal, id: string, body: unknown): Promise<{ id: string; key: string; principal: string }> {
    const req = parseOrThrow(CreateKeySchema, body ?? {}, 'body');
    const target = await this.#load(principal, id);
    return requirePrivilege(this.deps, principal, 'key.create', this.#resource(target), async (scope) => {
      const key = generateApiKey((p) => this.deps.runtime.newId(p));
      const at = this.deps.runtime.now().toISOString();
      await scope.directory.insertApiKey({
        id: key.id,
        principalId: id,
        secretHash: key.secretHash,
        description: req.description,
        createdAt: at,
        lastUsedAt: null,
        revokedAt: null,
      });
      return { result: { id: key.id, key: key.token, principal: id }, resource: `key:${key.id}`, details: { principal: id } };
    });
  }

  async listKeys(principal: Principal, id: string): Promise<{ keys: KeyView[] }> {
    const target = await this.#load(principal, id);
    await requireRead(this.deps, principal, 'principal.read', this.#resource(target));
    return { keys: (await this.deps.store.scope(principal.tenantId).directory.listApiKeys(id)).map(keyView) };
  }

  async revokeKey(principal: Principal, keyId: string): Promise<KeyView> {
    const keys = await this.deps.store.scope(principal.tenantId).directory.listApiKeys();
    const key = keys.find((k) => k.id === keyId);
    if (!key) throw new CountersignError('NOT_FOUND', `key ${keyId} not found`);
    const owner = await this.#load(principal, key.principalId);
    return requirePrivilege(this.deps, principal, 'key.revoke', this.#resource(owner), async (scope) => {
      const at = this.deps.runtime.now().toISOString();
      if (!(await scope.directory.revokeApiKey(keyId, at))) throw new CountersignError('CONFLICT', `key ${keyId} is already revoked`);
      return { result: keyView({ ...key, revokedAt: at }), resource: `key:${keyId}`, details: { principal: key.principalId } };
    });
  }

  async #load(principal: Principal, id: string): Promise<PrincipalRecord> {
    const p = await this.deps.store.scope(principal.tenantId).directory.getPrincipal(id);
    if (!p) throw new CountersignError('NOT_FOUND', `principal ${id} not found`);
    return p;
  }

  #resource(p: PrincipalRecord): ResourceRef {
    return { type: 'Principal', id: p.id, tenantId: p.tenantId };
  }
}
