import { closeAnalysis } from '../analysis/index.ts';
import { loadApprovalRules } from '../approvals/rules.ts';
import { ApprovalService } from '../approvals/service.ts';
import { AuditService } from '../audit/service.ts';
import { type Authenticator, createAuthenticator } from '../auth/index.ts';
import { type Config, loadConfig } from '../config/index.ts';
import { ExecutionService } from '../executions/service.ts';
import { GrantKeyring } from '../grants/index.ts';
import { createNotifier, type Notifier } from '../notifications/index.ts';
import {
  createOverrideKey,
  hasOverrideKey,
  loadOverrideSigningKey,
  loadOverrideVerificationKeys,
  OverrideService,
} from '../overrides/index.ts';
import { PlanService } from '../plans/service.ts';
import { loadCedarAuthorizer } from '../policy/policy-dir.ts';
import { ReloadableAuthorizer } from '../policy/reloadable.ts';
import type { Authorizer } from '../policy/types.ts';
import { PrincipalService } from '../principals/service.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import type { Store } from '../store/index.ts';
import { loadToolDir, type ToolRegistry } from '../tools/index.ts';
import { manifestTrustAtStart, reportToolLoad, ToolTrustGate, TrustService } from '../trust/index.ts';
import { dataDirPaths } from './datadir.ts';
import { openStore } from './store-binding.ts';

export interface ContextOverrides {
  databaseUrl?: string;
  env?: NodeJS.ProcessEnv;
  runtime?: Runtime;
  /** Tests only: substitute the policy engine (e.g. one that throws) to attack fail-closed paths. */
  authorizer?: Authorizer;
  /** Tests only: receive break-glass notifications instead of the configured webhook. */
  notifier?: Notifier;
  /** Where start-up warnings (refused or unsigned manifests, development mode) go; stderr by default. */
  warn?: (line: string) => void;
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
  trust: TrustService;
  overrides: OverrideService;
  /** Re-verifies tools against the trust store as it is now (propose, execute). */
  toolTrust: ToolTrustGate;
  runtime: Runtime;
  close(): Promise<void>;
}

/**
 * Loads config, tools and policies, opens and migrates the store. Any invalid piece stops the
 * start with a message: nothing falls back to a default (CONVENTIONS: config validated once).
 */
export async function openServerContext(dir: string, overrides: ContextOverrides = {}): Promise<ServerContext> {
  const paths = dataDirPaths(dir);
  const config = loadConfig(paths.dir, overrides.env ?? process.env);
  const runtime = overrides.runtime ?? systemRuntime;
  const warn = overrides.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const approvalRules = loadApprovalRules(paths.approvals);
  const authorizer = overrides.authorizer ?? new ReloadableAuthorizer(() => loadCedarAuthorizer(paths.dir));
  const store = await openStore(paths.dir, config, overrides, 'write');
  let tools: ToolRegistry;
  let overrideKeys: ReturnType<typeof loadOverrideVerificationKeys>;
  try {
    await store.migrate();
    // Tools are verified against the trust store, so they load once the store is open (invariant 13).
    tools = loadToolDir(paths.tools, await manifestTrustAtStart(store, config));
    await reportToolLoad(store, tools, config.developmentMode, 'api', warn);
    await ensureOverrideKey(store, paths.keys);
    overrideKeys = loadOverrideVerificationKeys(paths.keys);
  } catch (err) {
    await store.close();
    throw err;
  }
  const toolTrust = new ToolTrustGate({ tools, trust: config.trust, developmentMode: config.developmentMode });
  const overrideService = new OverrideService({
    store,
    authorizer,
    runtime,
    tools,
    signingKey: () => loadOverrideSigningKey(paths.keys),
    verificationKeys: overrideKeys,
    notifier: overrides.notifier ?? createNotifier(config.notifications, warn),
    log: warn,
  });
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
    plans: new PlanService({ ...deps, tools, approvalRules, runtime, pendingTtlHours: config.plans.pendingTtlHours, toolTrust }),
    approvals: new ApprovalService({ ...deps, runtime }),
    principals: new PrincipalService({ ...deps, runtime }),
    executions: new ExecutionService({
      ...deps,
      runtime,
      tools,
      grantKeys,
      grantTtlSeconds: config.grants.ttlSeconds,
      toolTrust,
      overrides: overrideService,
    }),
    audit: new AuditService(deps),
    trust: new TrustService({ ...deps, runtime, trust: config.trust }),
    overrides: overrideService,
    toolTrust,
    runtime,
    close: async () => {
      await closeAnalysis();
      await store.close();
    },
  };
}

/**
 * Data directories made before overrides existed have no override key: the API makes one at
 * start, audited, exactly as init would have.
 */
async function ensureOverrideKey(store: Store, keysDir: string): Promise<void> {
  if (hasOverrideKey(keysDir)) return;
  await store
    .scope('-')
    .audit({ actor: 'system', action: 'key.create', outcome: 'allowed', resource: 'override-key', details: { dir: keysDir } });
  const kid = createOverrideKey(keysDir);
  await store
    .scope('-')
    .audit({ actor: 'system', action: 'key.create', outcome: 'succeeded', resource: `override-key:${kid}`, details: {} });
}
