import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BASELINE_APPROVAL_RULES } from '../approvals/index.ts';
import { generateAuditKeyPair } from '../audit/index.ts';
import { type DatabaseBinding, loadConfig, renderConfigYaml, urlPassword, withoutPassword } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { createGrantKey } from '../grants/index.ts';
import { systemPrincipal } from '../operations/index.ts';
import { createOverrideKey } from '../overrides/index.ts';
import { loadCedarAuthorizer, writeBaselinePolicies } from '../policy/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import {
  formatSignatureFile,
  generatePublisherKeyPair,
  manifestSigningText,
  publisherKeyFiles,
  SIGNATURE_SUFFIX,
  signManifestText,
} from '../tools/index.ts';
import type { ContextOverrides } from './context.ts';
import {
  type DataDirPaths,
  dataDirPaths,
  echoToolManifest,
  isEmptyOrAbsent,
  makePrivateDir,
  shellToolManifest,
  writePrivateFile,
} from './datadir.ts';
import { hostPipelineFor } from './host.ts';
import { describeStore, openStore } from './store-binding.ts';
import { provisionTenant } from './tenants.ts';

export const DEFAULT_TENANT = 'default';

export interface InitResult {
  dir: string;
  tenantId: string;
  adminPrincipalId: string;
  adminKey: string;
  auditKeyId: string;
  /** The installation's own tool publisher key: it signed the example tools and is trusted. */
  publisherKeyId: string;
  store: 'sqlite' | 'postgres';
  /** The store init created and recorded in countersign.yaml (never with a password). */
  database: string;
  /** The random id written into the store and the config: the directory opens only this store. */
  installationId: string;
  /** Where the database password went, when the URL held one or a variable was named. */
  passwordFile?: string;
  passwordEnv?: string;
}

export interface InitOptions extends ContextOverrides {
  /**
   * Record the PostgreSQL password as `${env:NAME}` instead of writing it to
   * keys/database.password: nothing secret on disk, and every command needs NAME set.
   */
  databasePasswordEnv?: string;
}

/** Where init keeps a PostgreSQL password given in the URL: beside the other private keys, 0600. */
export const DATABASE_PASSWORD_FILE = 'keys/database.password';

/**
 * Creates a data directory: config, keys (0600), example tool, baseline policies, the database
 * with the default tenant, its environments and an admin principal whose key is returned once.
 * Refuses a directory that already has content: init never overwrites.
 */
export async function initDataDir(dir: string, overrides: InitOptions = {}): Promise<InitResult> {
  const paths = dataDirPaths(dir);
  if (!isEmptyOrAbsent(paths.dir)) {
    throw new CountersignError('ALREADY_INITIALIZED', `${paths.dir} already exists and is not empty; choose another --dir or remove it`);
  }
  const runtime: Runtime = overrides.runtime ?? systemRuntime;
  try {
    return await createDataDir(paths, runtime, overrides);
  } catch (err) {
    // No half-initialized directory is left behind: a retry starts clean.
    rmSync(paths.dir, { recursive: true, force: true });
    throw err;
  }
}

async function createDataDir(paths: DataDirPaths, runtime: Runtime, overrides: InitOptions): Promise<InitResult> {
  makePrivateDir(paths.dir);
  makePrivateDir(paths.keys);
  makePrivateDir(paths.tools);
  const url = overrides.databaseUrl || (overrides.env ?? process.env).COUNTERSIGN_DATABASE_URL || undefined;
  const binding = bindStore(paths, url, runtime.newId('ins'), overrides.databasePasswordEnv);
  writeFileSync(paths.config, renderConfigYaml(binding), { mode: 0o600, flag: 'wx' });
  const auditKey = generateAuditKeyPair();
  writePrivateFile(paths.auditKey, auditKey.privateKeyPem);
  writeFileSync(paths.auditPublicKey, auditKey.publicKeyPem, { mode: 0o644, flag: 'wx' });
  createGrantKey(paths.keys);
  writeFileSync(`${paths.tools}/echo.yaml`, echoToolManifest(), { flag: 'wx' });
  writeFileSync(`${paths.tools}/shell.yaml`, shellToolManifest(), { flag: 'wx' });
  createOverrideKey(paths.keys);
  const publisherKeyId = signExampleTools(paths);
  writeBaselinePolicies(paths.dir);
  writeFileSync(paths.approvals, BASELINE_APPROVAL_RULES, { mode: 0o600, flag: 'wx' });

  const config = loadConfig(paths.dir, overrides.env ?? process.env);
  const store = await openStore(paths.dir, config, { ...overrides, databaseUrl: url }, 'create');
  try {
    const owner = await store.installation();
    if (owner) {
      throw new CountersignError(
        'ALREADY_INITIALIZED',
        `${describeStore(url, paths)} already belongs to installation ${owner.id} (another data directory); use an empty database`,
      );
    }
    await store.migrate();
    if (await store.findTenantByName(DEFAULT_TENANT)) {
      throw new CountersignError(
        'ALREADY_INITIALIZED',
        `the database already holds a tenant named "${DEFAULT_TENANT}"; use an empty database`,
      );
    }
    // Init is host operator work like any other: its steps run through the pipeline, decided
    // by the policies just written, each with its audit entry.
    const host = hostPipelineFor(paths.dir, store, config, runtime);
    await host.run('system.init', systemPrincipal(), { details: { dir: paths.dir } }, 'host');
    await host.run(
      'trust.bootstrap',
      systemPrincipal(),
      {
        publicKey: readFileSync(join(paths.keys, publisherKeyFiles(publisherKeyId).publicKey), 'utf8'),
        name: 'local publisher (countersign init)',
      },
      'host',
    );
    const t = await provisionTenant(store, runtime, DEFAULT_TENANT, undefined, loadCedarAuthorizer(paths.dir));
    await store.checkpoint();
    // Last: a store is bound only once it is complete, so a failed init can be retried on it.
    await store.recordInstallation(binding.installationId);
    return {
      dir: paths.dir,
      tenantId: t.tenantId,
      adminPrincipalId: t.adminPrincipalId,
      adminKey: t.adminKey,
      auditKeyId: auditKey.keyId,
      publisherKeyId,
      store: store.engine,
      database: describeStore(url, paths),
      installationId: binding.installationId,
      ...(binding.passwordFile ? { passwordFile: join(paths.dir, binding.passwordFile) } : {}),
      ...(overrides.databasePasswordEnv ? { passwordEnv: overrides.databasePasswordEnv } : {}),
    };
  } finally {
    await store.close();
  }
}

/**
 * What countersign.yaml records about the store init is about to create. A password in the URL
 * never reaches the YAML (invariant 12): it goes to keys/database.password (0600), or, with
 * `passwordEnv`, stays in that environment variable, referenced as `${env:NAME}`.
 */
function bindStore(paths: DataDirPaths, url: string | undefined, installationId: string, passwordEnv: string | undefined): DatabaseBinding {
  if (!url) {
    if (passwordEnv) throw new CountersignError('BAD_REQUEST', '--database-password-env needs --database-url (SQLite has no password)');
    return { engine: 'sqlite', installationId };
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new CountersignError(
      'CONFIG_INVALID',
      'the database URL must start with postgres:// (leave it unset for the embedded SQLite store)',
    );
  }
  if (passwordEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) {
    throw new CountersignError('BAD_REQUEST', `--database-password-env must be an environment variable name, not "${passwordEnv}"`);
  }
  const binding: DatabaseBinding = { engine: 'postgres', installationId, url: withoutPassword(url) };
  if (passwordEnv) return { ...binding, password: `\${env:${passwordEnv}}` };
  const password = urlPassword(url);
  if (password === '') return binding;
  writePrivateFile(join(paths.dir, DATABASE_PASSWORD_FILE), `${decodeURIComponent(password)}\n`);
  return { ...binding, passwordFile: DATABASE_PASSWORD_FILE };
}

/**
 * A local publisher key so a fresh installation works with signed tools only (invariant 13):
 * `keys/publisher-<id>.key` (0600) signs the example manifests init wrote; init then trusts its
 * public half, audited. Operators sign their own tools with it (`countersign tool sign`) or with
 * their own publisher keys added through `countersign trust add`.
 */
function signExampleTools(paths: DataDirPaths): string {
  const publisher = generatePublisherKeyPair();
  const files = publisherKeyFiles(publisher.keyId);
  writePrivateFile(join(paths.keys, files.privateKey), publisher.privateKeyPem);
  writeFileSync(join(paths.keys, files.publicKey), publisher.publicKeyPem, { mode: 0o644, flag: 'wx' });
  const key = createPrivateKey(publisher.privateKeyPem);
  for (const name of readdirSync(paths.tools).filter((n) => n.endsWith('.yaml'))) {
    const file = join(paths.tools, name);
    const signature = signManifestText(manifestSigningText(parseYaml(readFileSync(file, 'utf8'))), key);
    writeFileSync(`${file}${SIGNATURE_SUFFIX}`, formatSignatureFile([signature]), { mode: 0o644, flag: 'wx' });
  }
  return publisher.keyId;
}
