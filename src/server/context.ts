import { type AlertIntake, openAlertIntake } from '../alerts/index.ts';
import { closeAnalysis } from '../analysis/index.ts';
import { loadApprovalRules, type StepUpSettings, stepUpSettings } from '../approvals/index.ts';
import { type Authenticator, createAuthenticator } from '../auth/index.ts';
import { ChatService } from '../chat/index.ts';
import { type Config, loadConfig } from '../config/index.ts';
import { GrantKeyring } from '../grants/index.ts';
import { RequestBudgets } from '../limits/index.ts';
import { AUTH_CHANGING_OPERATIONS, LiveHub, PostgresListener } from '../live/index.ts';
import {
  decisionCounter,
  instrumentOutbox,
  instrumentStore,
  loadScrapeAccess,
  Metrics,
  modelCallMetrics,
  type ScrapeAccess,
} from '../metrics/index.ts';
import {
  createNotifier,
  loadNotificationSettings,
  NotificationDispatcher,
  type Notifier,
  type ResolvedNotifications,
} from '../notifications/index.ts';
import { apiPipeline, type Pipeline, systemPrincipal } from '../operations/index.ts';
import { hasOverrideKey, loadOverrideSigningKey, loadOverrideVerificationKeys, OverrideAuthority } from '../overrides/index.ts';
import type { Authorizer } from '../policy/index.ts';
import { loadCedarAuthorizer, ReloadableAuthorizer } from '../policy/index.ts';
import { type Runtime, systemRuntime } from '../runtime.ts';
import type { Store } from '../store/index.ts';
import { loadToolDir, ReloadableToolRegistry, type ToolRegistry } from '../tools/index.ts';
import { manifestTrustAtStart, reportToolLoad, ToolTrustGate } from '../trust/index.ts';
import { CheckpointPublisher } from '../witness/index.ts';
import { auditNoteSigner, auditVerifierKey } from './audit-signer.ts';
import { dataDirPaths } from './datadir.ts';
import { keyPaths } from './key-location.ts';
import { startPreviewAttacher } from './previews.ts';
import { ConfigSettings, PlaybookSet, type SettingsTargets } from './settings-reload.ts';
import { boundStoreUrl, openStore } from './store-binding.ts';
import { toolSetSource } from './tool-reload.ts';

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
  /** Tests only: how long the preview attacher waits between looks while notifications arrive. */
  previewIdleMs?: number;
}

/** Everything the API process needs, built once from the data directory and then frozen. */
export interface ServerContext {
  dir: string;
  config: Readonly<Config>;
  store: Store;
  tools: ToolRegistry;
  authorizer: Authorizer;
  authenticator: Authenticator;
  /** The operations table and its one pipeline: every interface runs operations through it. */
  pipeline: Pipeline;
  /** Which approvals need a security-key step-up: the console asks for it, every other channel refuses them. */
  stepUp: StepUpSettings;
  /** Re-verifies tools against the trust store as it is now (propose, execute). */
  toolTrust: ToolTrustGate;
  runtime: Runtime;
  /** This process's Prometheus metrics, and who may scrape them (`/metrics`). */
  metrics: Metrics;
  scrapeAccess: ScrapeAccess;
  /** Signals for open event streams: PostgreSQL notifications from every process, and this one's operations. */
  live: LiveHub;
  /** alerts: the webhook intake (sources, playbooks, models). */
  alerts: AlertIntake;
  // ---- notifications and chat (issue 14) ----
  /** `<dir>/notifications.yaml`, resolved; null when absent (no notifications, no chat). */
  notifications: ResolvedNotifications | null;
  /** The outbox worker; `serve` starts it once the API listens. */
  dispatcher: NotificationDispatcher | null;
  chat: ChatService | null;
  /** Hands audit checkpoints to the configured witnesses; `serve` starts it. Null without witnesses. */
  publisher: CheckpointPublisher | null;
  // ---- replicas ----
  /** The API's request budgets (shared through PostgreSQL); a config reload adjusts them. */
  budgets: RequestBudgets;
  close(): Promise<void>;
}

function openPublisher(dir: string, config: Readonly<Config>, store: Store, runtime: Runtime, log: (line: string) => void) {
  return new CheckpointPublisher({
    store,
    signer: auditNoteSigner(dir, config),
    witnesses: config.audit.witnesses,
    quorum: config.audit.witnessQuorum,
    checkpointFile: dataDirPaths(dir).checkpoints,
    intervalMs: config.audit.witnessEverySeconds * 1000,
    now: () => runtime.now(),
    log,
  });
}

/**
 * Loads config, tools and policies, opens and migrates the store. Any invalid piece stops the
 * start with a message: nothing falls back to a default (CONVENTIONS: config validated once).
 */
export async function openServerContext(dir: string, overrides_: ContextOverrides = {}): Promise<ServerContext> {
  const config = loadConfig(dataDirPaths(dir).dir, overrides_.env ?? process.env);
  // replicas: the keys may live on a secret path every replica mounts (keys.dir).
  const paths = keyPaths(dataDirPaths(dir), config);
  const runtime = overrides_.runtime ?? systemRuntime;
  const warn = overrides_.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const approvalRules = loadApprovalRules(paths.approvals);
  const authorizer = overrides_.authorizer ?? new ReloadableAuthorizer(() => loadCedarAuthorizer(paths.dir));
  const scrapeAccess = loadScrapeAccess(config, paths.dir);
  const store = await openStore(paths.dir, config, overrides_, 'write');
  const metrics = new Metrics({ process: 'api' });
  instrumentStore(metrics, store);
  instrumentOutbox(metrics, store, () => runtime.now()); // observability: the notification backlog
  const live = new LiveHub();
  const storeUrl = boundStoreUrl(paths.dir, config, overrides_);
  const listener = store.engine === 'postgres' && storeUrl ? new PostgresListener(storeUrl, live, warn) : null;
  let tools: ToolRegistry;
  let toolTrust: ToolTrustGate;
  let pipeline: Pipeline;
  let alerts: AlertIntake;
  let notifications: ResolvedNotifications | null = null;
  let dispatcher: NotificationDispatcher | null = null;
  let stepUp: StepUpSettings = stepUpSettings(config.console);
  let publisher: CheckpointPublisher | null = null;
  // replicas: SIGHUP re-reads countersign.yaml and the playbooks (src/server/settings-reload.ts).
  const budgets = new RequestBudgets(store, config.rateLimit, warn);
  try {
    notifications = await loadNotificationSettings(paths.dir, overrides_.env ?? process.env);
    stepUp = stepUpSettings(config.console, notifications?.settings.chat.stepUpEnvironments);
    await store.migrate();
    // Tools are verified against the trust store, so they load once the store is open (invariant 13).
    // Reloadable: SIGHUP swaps in a newly verified set (src/server/tool-reload.ts).
    const manifestTrust = await manifestTrustAtStart(store, config);
    tools = new ReloadableToolRegistry(loadToolDir(paths.tools, manifestTrust));
    await reportToolLoad(store, tools, config.developmentMode, 'api', warn);
    toolTrust = new ToolTrustGate({ tools, trust: config.trust, developmentMode: config.developmentMode });
    const reloadTargets: SettingsTargets = {
      dir: paths.dir,
      store,
      env: overrides_.env ?? process.env,
      tools,
      budgets,
      intake: () => alerts,
    };
    let overrideKeys: ReturnType<typeof loadOverrideVerificationKeys> | undefined;
    const overrides = new OverrideAuthority({
      runtime,
      signingKey: () => loadOverrideSigningKey(paths.keys),
      // Read once, after the key exists (an old data directory gets it just below).
      verificationKeys: () => {
        overrideKeys ??= loadOverrideVerificationKeys(paths.keys);
        return overrideKeys;
      },
      notifier: overrides_.notifier ?? createNotifier(config.notifications, warn),
      log: warn,
    });
    // Witnesses (issue 17): the publisher checkpoints the audit tree and collects cosignatures.
    publisher = config.audit.witnesses.length > 0 ? openPublisher(paths.dir, config, store, runtime, warn) : null;
    const witnessHold =
      publisher && config.audit.holdGrantsForRisks.length > 0
        ? {
            risks: config.audit.holdGrantsForRisks,
            quorum: {
              logKey: auditVerifierKey(paths.dir, config),
              witnessKeys: config.audit.witnesses.map((w) => w.key),
              quorum: config.audit.witnessQuorum,
            },
            kick: () => void publisher?.kick(),
          }
        : undefined;
    pipeline = apiPipeline({
      ...(witnessHold ? { witnessHold } : {}),
      store,
      authorizer,
      runtime,
      tools,
      approvalRules,
      pendingTtlHours: config.plans.pendingTtlHours,
      toolTrust,
      grantKeys: new GrantKeyring(paths.keys, true),
      grantTtlSeconds: config.grants.ttlSeconds,
      overrides,
      trust: config.trust,
      keysDir: paths.keys,
      observer: {
        ...decisionCounter(metrics),
        // In process at once; other replicas hear it through the database's notification.
        settled: (name, ok) => {
          if (ok && AUTH_CHANGING_OPERATIONS.has(name)) live.authChanged();
          // An approval a grant may wait for: checkpoint it for the witnesses now, not at the next tick.
          if (ok && witnessHold && name === 'plan.approve') witnessHold.kick();
        },
      },
      ...(authorizer instanceof ReloadableAuthorizer ? { policies: authorizer } : {}),
      toolSet: toolSetSource(store, config, paths.tools, tools),
      stepUp,
      chatLinkTtlMinutes: notifications?.settings.chat.linkCodeTtlMinutes ?? 10,
      notificationHealth: async () => (dispatcher ? dispatcher.health() : []),
      configSettings: new ConfigSettings(config, reloadTargets),
      playbookSet: new PlaybookSet(config, reloadTargets),
    });
    if (notifications) dispatcher = await NotificationDispatcher.open({ store, notifications, runtime, log: warn, stepUp });
    // Data directories made before overrides existed get their key now, as init would have made it.
    if (!hasOverrideKey(paths.keys)) await pipeline.run('override.key', systemPrincipal(), {}, 'host');
    // alerts: playbooks are verified with the same trust as the tools they name.
    alerts = await openAlertIntake({
      dir: paths.dir,
      config,
      store,
      tools,
      pipeline,
      runtime,
      trust: manifestTrust,
      env: overrides_.env ?? process.env,
      warn,
      modelCalls: modelCallMetrics(metrics), // observability: LLM latency, tokens, cost, refusals
    });
  } catch (err) {
    await listener?.close();
    await store.close();
    throw err;
  }
  // Checks the OIDC JWKS URL (DNS included); a refusal stops the start and closes the store.
  const authenticator = await createAuthenticator({ store, runtime, oidc: config.oidc }).catch(async (err: unknown) => {
    await listener?.close();
    await store.close();
    throw err;
  });
  // previews (issue 17): previews executors ran are attached (and sealed) here, in the API.
  const stopPreviews = startPreviewAttacher({ store, pipeline }, warn, { live, idleMs: overrides_.previewIdleMs });
  return {
    dir: paths.dir,
    config,
    store,
    tools,
    authorizer,
    authenticator,
    pipeline,
    stepUp,
    toolTrust,
    runtime,
    metrics,
    scrapeAccess,
    live,
    alerts,
    notifications,
    dispatcher,
    publisher,
    budgets,
    chat:
      notifications && (notifications.settings.slack || notifications.settings.telegram)
        ? new ChatService({ store, pipeline, notifications, runtime, log: warn })
        : null,
    close: async () => {
      await stopPreviews();
      await dispatcher?.stop();
      await publisher?.stop();
      await listener?.close();
      await closeAnalysis();
      await store.close();
    },
  };
}
