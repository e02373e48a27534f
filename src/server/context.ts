import { closeAnalysis } from '../analysis/index.ts';
import { loadApprovalRules } from '../approvals/rules.ts';
import { ApprovalService } from '../approvals/service.ts';
import { CheckpointSigner } from '../audit/index.ts';
import { AuditService } from '../audit/service.ts';
import { type Authenticator, createAuthenticator } from '../auth/index.ts';
import { type Config, loadConfig } from '../config/index.ts';
import { ExecutionService } from '../executions/service.ts';
import { GrantKeyring } from '../grants/index.ts';
import { PlanService } from '../plans/service.ts';
import { loadCedarAuthorizer } from '../policy/policy-dir.ts';
import { ReloadableAuthorizer } from '../policy/reloadable.ts';
import type { Authorizer } from '../policy/types.ts';
import { PrincipalService } from '../principals/service.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import { Store } from '../store/index.ts';
import { loadToolDir, type ToolRegistry } from '../tools/index.ts';
import { dataDirPaths, readText } from './datadir.ts';

export interface ContextOverrides {
  databaseUrl?: string;
  env?: NodeJS.ProcessEnv;
  runtime?: Runtime;
  /** Tests only: substitute the policy engine (e.g. one that throws) to attack fail-closed paths. */
  authorizer?: Authorizer;
}

/** Everything the API process needs, built once from the data directory and then frozen. */
export interface ServerContext {
  dir: string;
  config: Readonly<Config>;
  store: Store;
  tools: ToolRegistry;
  authorizer: Authorizer;
  authenticator: Authenticator;
  plans: PlanService;
  approvals: ApprovalService;
  principals: PrincipalService;
  executions: ExecutionService;
  audit: AuditService;
  runtime: Runtime;
  close(): Promise<void>;
}

export function resolveDatabaseUrl(config: Readonly<Config>, overrides: ContextOverrides): string | undefined {
  const env = overrides.env ?? process.env;
  return overrides.databaseUrl || env.COUNTERSIGN_DATABASE_URL || config.database.url || undefined;
}

/** Opens the store of a data directory (SQLite file or the configured PostgreSQL). */
export async function openStore(dir: string, config: Readonly<Config>, overrides: ContextOverrides, withSigner: boolean): Promise<Store> {
  const paths = dataDirPaths(dir);
  const signer = withSigner ? new CheckpointSigner(readText(paths.auditKey)) : null;
  return Store.open({
    databaseUrl: resolveDatabaseUrl(config, overrides),
    sqlitePath: paths.database,
    sqliteSynchronous: config.database.sqliteSynchronous,
    maxConnections: config.database.maxConnections,
    runtime: overrides.runtime ?? systemRuntime,
    signer,
    checkpointEvery: config.audit.checkpointEvery,
  });
}

/**
 * Loads config, tools and policies, opens and migrates the store. Any invalid piece stops the
 * start with a message: nothing falls back to a default (CONVENTIONS: config validated once).
 */
export async function openServerContext(dir: string, overrides: ContextOverrides = {}): Promise<ServerContext> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, overrides.env ?? process.env);
  const runtime = overrides.runtime ?? systemRuntime;
  const tools = loadToolDir(paths.tools);
  const approvalRules = loadApprovalRules(paths.approvals);
  const authorizer = overrides.authorizer ?? new ReloadableAuthorizer(() => loadCedarAuthorizer(paths.dir));
  const store = await openStore(paths.dir, config, overrides, true);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  const deps = { store, authorizer };
  const grantKeys = new GrantKeyring(paths.keys, true);
  return {
    dir: paths.dir,
    config,
    store,
    tools,
    authorizer,
    // Checks the OIDC JWKS URL (DNS included); a refusal stops the start and closes the store.
    authenticator: await createAuthenticator({ store, runtime, oidc: config.oidc }).catch(async (err: unknown) => {
      await store.close();
      throw err;
    }),
    plans: new PlanService({ ...deps, tools, approvalRules, runtime, pendingTtlHours: config.plans.pendingTtlHours }),
    approvals: new ApprovalService({ ...deps, runtime }),
    principals: new PrincipalService({ ...deps, runtime }),
    executions: new ExecutionService({ ...deps, runtime, tools, grantKeys, grantTtlSeconds: config.grants.ttlSeconds }),
    audit: new AuditService(deps),
    runtime,
    close: async () => {
      await closeAnalysis();
      await store.close();
    },
  };
}
