import { writeFileSync } from 'node:fs';
import { generateAuditKeyPair } from '../audit/index.ts';
import { generateApiKey } from '../auth/index.ts';
import { DEFAULT_CONFIG_YAML, loadConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { writeBaselinePolicies } from '../policy/policy-dir.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import { type ContextOverrides, openStore } from './context.ts';
import { dataDirPaths, echoToolManifest, isEmptyOrAbsent, makePrivateDir, writePrivateFile } from './datadir.ts';

export const DEFAULT_TENANT = 'default';
export const DEFAULT_ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

export interface InitResult {
  dir: string;
  tenantId: string;
  adminPrincipalId: string;
  adminKey: string;
  auditKeyId: string;
  store: 'sqlite' | 'postgres';
}

/**
 * Creates a data directory: config, keys (0600), example tool, baseline policies, the database
 * with the default tenant, its environments and an admin principal whose key is returned once.
 * Refuses a directory that already has content: init never overwrites.
 */
export async function initDataDir(dir: string, overrides: ContextOverrides = {}): Promise<InitResult> {
  const paths = dataDirPaths(dir);
  if (!isEmptyOrAbsent(paths.dir)) {
    throw new CountersignError('ALREADY_INITIALIZED', `${paths.dir} already exists and is not empty; choose another --dir or remove it`);
  }
  const runtime: Runtime = overrides.runtime ?? systemRuntime;
  makePrivateDir(paths.dir);
  makePrivateDir(paths.keys);
  makePrivateDir(paths.tools);
  writeFileSync(paths.config, DEFAULT_CONFIG_YAML, { mode: 0o600, flag: 'wx' });
  const auditKey = generateAuditKeyPair();
  writePrivateFile(paths.auditKey, auditKey.privateKeyPem);
  writeFileSync(paths.auditPublicKey, auditKey.publicKeyPem, { mode: 0o644, flag: 'wx' });
  writeFileSync(`${paths.tools}/echo.yaml`, echoToolManifest(), { flag: 'wx' });
  writeBaselinePolicies(paths.dir);

  const config = loadConfig(paths.dir, overrides.env ?? process.env);
  const store = await openStore(paths.dir, config, overrides, true);
  try {
    await store.migrate();
    if (await store.findTenantByName(DEFAULT_TENANT)) {
      throw new CountersignError('ALREADY_INITIALIZED', `the database already holds a tenant named "${DEFAULT_TENANT}"; use an empty database`);
    }
    const tenantId = runtime.newId('ten');
    const adminId = runtime.newId('prn');
    const key = generateApiKey((p) => runtime.newId(p));
    const at = runtime.now().toISOString();
    await store.transaction(tenantId, async (scope) => {
      await scope.audit({ actor: 'system', action: 'system.init', outcome: 'succeeded', resource: `tenant:${tenantId}`, details: { dir: paths.dir } });
      await scope.directory.insertTenant(DEFAULT_TENANT, at);
      await scope.audit({ actor: 'system', action: 'tenant.create', outcome: 'succeeded', resource: `tenant:${tenantId}`, details: { name: DEFAULT_TENANT } });
      for (const env of DEFAULT_ENVIRONMENTS) {
        await scope.directory.insertEnvironment(env, at);
        await scope.audit({ actor: 'system', action: 'environment.create', outcome: 'succeeded', resource: `environment:${env}` });
      }
      await scope.directory.insertPrincipal({ id: adminId, name: 'admin', kind: 'human', groups: ['admin'], disabled: false, createdAt: at });
      await scope.audit({
        actor: 'system',
        action: 'principal.create',
        outcome: 'succeeded',
        resource: `principal:${adminId}`,
        details: { name: 'admin', kind: 'human', groups: ['admin'] },
      });
      await scope.directory.insertApiKey({
        id: key.id,
        principalId: adminId,
        secretHash: key.secretHash,
        description: 'created by init',
        createdAt: at,
        lastUsedAt: null,
        revokedAt: null,
      });
      await scope.audit({ actor: 'system', action: 'key.create', outcome: 'succeeded', resource: `key:${key.id}`, details: { principal: adminId } });
    });
    await store.checkpoint();
    return { dir: paths.dir, tenantId, adminPrincipalId: adminId, adminKey: key.token, auditKeyId: auditKey.keyId, store: store.engine };
  } finally {
    await store.close();
  }
}
