import type { Kysely } from 'kysely';
import { principalNameKey } from '../name-key.ts';
import { type Engine, Precompiled } from '../precompiled.ts';
import type { Database } from '../schema.ts';

export interface PrincipalRecord {
  tenantId: string;
  id: string;
  name: string;
  kind: 'human' | 'agent';
  groups: string[];
  disabled: boolean;
  createdAt: string;
}

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  principalId: string;
  secretHash: string;
  description: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export function toPrincipal(r: Omit<Database['principals'], 'name_key'>): PrincipalRecord {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    name: r.name,
    kind: r.kind,
    groups: JSON.parse(r.groups) as string[],
    disabled: r.disabled === 1,
    createdAt: r.created_at,
  };
}

export function toApiKey(r: Database['api_keys']): ApiKeyRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    principalId: r.principal_id,
    secretHash: r.secret_hash,
    description: r.description,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

/** Every proposal reads its environment: compiled once (see Precompiled). */
const ENVIRONMENT = new Precompiled<{ tenant: string; name: string }>(
  (db, param) =>
    db
      .selectFrom('environments')
      .select(['name', 'frozen'])
      .where('tenant_id', '=', param<string>('tenant'))
      .where('name', '=', param<string>('name')),
  { prepared: true },
);

/** Principals, API keys and environments of one tenant. */
export class DirectoryRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
    private readonly engine: Engine,
  ) {}

  /** Creates the tenant row this scope is bound to (init and tenant provisioning). */
  async insertTenant(name: string, at: string): Promise<void> {
    await this.db.insertInto('tenants').values({ id: this.tenantId, name, created_at: at }).execute();
  }

  /** The tenant row this scope is bound to, if it exists. */
  async getTenant(): Promise<{ id: string; name: string } | undefined> {
    return this.db.selectFrom('tenants').select(['id', 'name']).where('id', '=', this.tenantId).executeTakeFirst();
  }

  async insertPrincipal(p: Omit<PrincipalRecord, 'tenantId'>): Promise<void> {
    await this.db
      .insertInto('principals')
      .values({
        tenant_id: this.tenantId,
        id: p.id,
        name: p.name,
        kind: p.kind,
        groups: JSON.stringify(p.groups),
        disabled: p.disabled ? 1 : 0,
        created_at: p.createdAt,
        name_key: principalNameKey(p.name),
      })
      .execute();
  }

  async getPrincipal(id: string): Promise<PrincipalRecord | undefined> {
    const r = await this.db
      .selectFrom('principals')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? toPrincipal(r) : undefined;
  }

  async findPrincipalByName(name: string): Promise<PrincipalRecord | undefined> {
    const r = await this.db
      .selectFrom('principals')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('name', '=', name)
      .executeTakeFirst();
    return r ? toPrincipal(r) : undefined;
  }

  /** The principal whose name collides with `name` after case and look-alike folding, if any. */
  async findPrincipalByNameKey(name: string): Promise<PrincipalRecord | undefined> {
    const r = await this.db
      .selectFrom('principals')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('name_key', '=', principalNameKey(name))
      .executeTakeFirst();
    return r ? toPrincipal(r) : undefined;
  }

  async listPrincipals(): Promise<PrincipalRecord[]> {
    const rows = await this.db.selectFrom('principals').selectAll().where('tenant_id', '=', this.tenantId).orderBy('name').execute();
    return rows.map(toPrincipal);
  }

  async setPrincipalDisabled(id: string, disabled: boolean): Promise<boolean> {
    const res = await this.db
      .updateTable('principals')
      .set({ disabled: disabled ? 1 : 0 })
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async insertApiKey(k: Omit<ApiKeyRecord, 'tenantId'>): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        id: k.id,
        tenant_id: this.tenantId,
        principal_id: k.principalId,
        secret_hash: k.secretHash,
        description: k.description,
        created_at: k.createdAt,
        last_used_at: k.lastUsedAt,
        revoked_at: k.revokedAt,
      })
      .execute();
  }

  async listApiKeys(principalId?: string): Promise<ApiKeyRecord[]> {
    let q = this.db.selectFrom('api_keys').selectAll().where('tenant_id', '=', this.tenantId);
    if (principalId) q = q.where('principal_id', '=', principalId);
    return (await q.orderBy('created_at').execute()).map(toApiKey);
  }

  async revokeApiKey(id: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async insertEnvironment(name: string, at: string): Promise<void> {
    await this.db.insertInto('environments').values({ tenant_id: this.tenantId, name, frozen: 0, created_at: at }).execute();
  }

  async getEnvironment(name: string): Promise<{ name: string; frozen: boolean } | undefined> {
    const r = (await ENVIRONMENT.run<{ name: string; frozen: number }>(this.db, this.engine, { tenant: this.tenantId, name })).rows[0];
    return r ? { name: r.name, frozen: r.frozen === 1 } : undefined;
  }

  async listEnvironments(): Promise<{ name: string; frozen: boolean }[]> {
    const rows = await this.db
      .selectFrom('environments')
      .select(['name', 'frozen'])
      .where('tenant_id', '=', this.tenantId)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({ name: r.name, frozen: r.frozen === 1 }));
  }
}
