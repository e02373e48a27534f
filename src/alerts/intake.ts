import type { AlertsConfig, WebhookSourceConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { WindowCounts } from '../limits/index.ts';
import type { Pipeline, ReceiveResult } from '../operations/index.ts';
import type { Principal } from '../policy/index.ts';
import type { Runtime } from '../runtime.ts';
import { NO_TENANT, type Store } from '../store/index.ts';
import type { ToolRegistry } from '../tools/index.ts';
import { type CandidateOutcome, planCandidate } from './candidate.ts';
import type { ModelCallObserver, ModelClient } from './models.ts';
import { type Alert, type AlertDelivery, readDelivery } from './payloads.ts';
import { type LoadedPlaybook, matches } from './playbooks.ts';
import type { AlertSettings } from './setup.ts';
import { type Headers, verifyDelivery } from './signatures.ts';

/** The window every name that is not a configured source shares, and its budget. */
const UNKNOWN_SOURCES = '?unknown';
const UNKNOWN_PER_MINUTE = 60;

export interface ResolvedSource {
  config: WebhookSourceConfig;
  /** The current secret first, then any previous one still accepted during a rotation. */
  secrets: string[];
}

export interface IntakeDeps {
  pipeline: Pipeline;
  store: Store;
  tools: ToolRegistry;
  runtime: Runtime;
  config: AlertsConfig;
  sources: ReadonlyMap<string, ResolvedSource>;
  playbooks: readonly LoadedPlaybook[];
  models: ReadonlyMap<string, ModelClient>;
  /** replicas: deliveries per source and minute, counted in the database on PostgreSQL so every replica shares one budget. */
  counts?: WindowCounts;
  /** observability: model calls and refusals, for metrics (absent: not counted). */
  modelCalls?: ModelCallObserver;
}

export interface ProposedForGroup {
  playbook: string;
  planId?: string;
  refused?: string[];
}

export interface IntakeResult {
  accepted: true;
  source: string;
  groupKey: string | null;
  deliveryId: string | null;
  proposed: ProposedForGroup[];
  duplicates: string[];
  cancelled: string[];
  annotated: string[];
}

/** The principal a webhook source acts as: declared in config, proven by its signature. */
export function sourcePrincipal(tenantId: string, source: string): Principal {
  const id = `webhook:${source}`;
  return { tenantId, id, name: id, kind: 'webhook', groups: [], authMethod: 'webhook_signature' };
}

/**
 * Alert intake: verify → record the delivery and its groups (`alert.receive`) → per newly opened
 * group, a candidate from its playbook (typed labels, optionally a planner and model reviewers)
 * → `plan.propose` → `alert.plan`. Every step is an operation of the table run as the source's
 * principal on the `webhook` channel; every refusal before the pipeline is audited here.
 *
 * Memory stays bounded under a flood: bodies are capped per source, at most `maxConcurrent`
 * deliveries are processed with as many waiting, the rest get 429; the per-source windows and
 * tenant ids are one entry per configured source.
 */
export class AlertIntake {
  /** Replaced whole by a reload (SIGHUP): settings, secrets and playbooks change together, never field by field. */
  #deps: IntakeDeps;
  /** This replica's refusals past a source's budget, not audited one by one, per source and window. */
  readonly #suppressed = new Map<string, { window: number; count: number }>();
  readonly #counts: WindowCounts;
  readonly #tenants = new Map<string, string>();
  readonly #waiting: (() => void)[] = [];
  #running = 0;
  #peakWaiting = 0;

  constructor(deps: IntakeDeps) {
    this.#deps = deps;
    this.#counts = deps.counts ?? new WindowCounts(null, () => deps.runtime.now().getTime());
  }

  /** The playbooks in force now (a reload verifies the next set against their models). */
  get playbooks(): readonly LoadedPlaybook[] {
    return this.#deps.playbooks;
  }

  /** The models configured now (a playbook reload checks the next set against them). */
  get models(): ReadonlyMap<string, ModelClient> {
    return this.#deps.models;
  }

  /** A reloaded `alerts:` section (SIGHUP): sources, their secrets and models, swapped at once. */
  reconfigure(settings: AlertSettings): void {
    this.#deps = { ...this.#deps, config: settings.config, sources: settings.sources, models: settings.models };
    this.#tenants.clear();
  }

  /** A reloaded, wholly verified playbook set (SIGHUP). */
  replacePlaybooks(playbooks: readonly LoadedPlaybook[]): void {
    this.#deps = { ...this.#deps, playbooks };
  }

  /** The largest body any source accepts: the route's parser limit. */
  maxBodyBytes(): number {
    return Math.max(1024, ...[...this.#deps.sources.values()].map((s) => s.config.maxBodyBytes));
  }

  /** For the memory-bound test and the bench: what is held now, and the most that ever waited. */
  stats(): { running: number; waiting: number; peakWaiting: number; windows: number } {
    return { running: this.#running, waiting: this.#waiting.length, peakWaiting: this.#peakWaiting, windows: this.#suppressed.size };
  }

  async receive(name: string, headers: Headers, body: Buffer, ip: string): Promise<IntakeResult> {
    const { store, runtime } = this.#deps;
    const source = this.#deps.sources.get(name);
    // Counted before anything is verified, so an unauthenticated flood (to a source, or to names
    // that are none) costs at most one audit entry per delivery within the budget, one for the
    // first refusal, and one entry counting the rest when the minute ends.
    const gate = await this.#take(source ? name : UNKNOWN_SOURCES, source?.config.perMinute ?? UNKNOWN_PER_MINUTE);
    if (gate.suppressedBefore > 0) {
      const what = `${gate.suppressedBefore} further deliveries were refused over the rate in the previous minute (counted, not audited one by one)`;
      await this.auditRefusal(source ? name : UNKNOWN_SOURCES, 'RATE_LIMITED', what, ip, null);
    }
    const limited = () =>
      new CountersignError('RATE_LIMITED', `more than ${source?.config.perMinute ?? UNKNOWN_PER_MINUTE} deliveries this minute`, {
        details: { retryAfterSeconds: 60 },
      });
    if (!gate.ok && !gate.audit) throw limited();
    if (!source) {
      if (!gate.ok) {
        await this.auditRefusal(UNKNOWN_SOURCES, 'RATE_LIMITED', 'deliveries to unknown sources over the rate', ip, body.length);
        throw limited();
      }
      await this.auditRefusal(name, 'NOT_FOUND', 'no such webhook source', ip, body.length);
      throw new CountersignError('NOT_FOUND', 'no such webhook source');
    }
    const tenantId = await this.#tenantOf(source.config);
    const principal = sourcePrincipal(tenantId, name);
    const refuse = async (err: unknown): Promise<never> => {
      if (err instanceof CountersignError) {
        await this.auditRefusal(name, err.code, String(err.details?.reason ?? err.message), ip, body.length);
      }
      throw err;
    };
    const now = runtime.now();
    if (!gate.ok) await refuse(limited());
    if (body.length > source.config.maxBodyBytes) {
      await refuse(new CountersignError('BODY_TOO_LARGE', `deliveries from ${name} are limited to ${source.config.maxBodyBytes} bytes`));
    }
    let deliveryId: string | null = null;
    let delivery: AlertDelivery | null = null;
    try {
      deliveryId = verifyDelivery(source.config, source.secrets, headers, body, now).deliveryId;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new CountersignError('INVALID_JSON', 'the body is not valid JSON');
      }
      delivery = readDelivery(source.config.type, parsed);
    } catch (err) {
      await refuse(err);
    }
    const empty: IntakeResult = {
      accepted: true,
      source: name,
      groupKey: null,
      deliveryId,
      proposed: [],
      duplicates: [],
      cancelled: [],
      annotated: [],
    };
    if (!delivery) {
      await store.scope(tenantId).audit({
        actor: principal.id,
        action: 'alert.receive',
        outcome: 'allowed',
        resource: `webhook:${name}`,
        details: { deliveryId, ignored: 'the event carries no alert', channel: 'webhook' },
      });
      return empty;
    }
    if (!(await this.#slot()))
      await refuse(new CountersignError('RATE_LIMITED', 'the alert intake is busy; retry', { details: { retryAfterSeconds: 5 } }));
    try {
      return await this.#process(principal, source.config, delivery, deliveryId);
    } finally {
      this.#release();
    }
  }

  /**
   * Audits a refused delivery under its source's tenant (or none, for an unknown source): also
   * called by the route for bodies cut off before they were read (over the largest limit).
   */
  async auditRefusal(name: string, code: string, reason: string, ip: string, bytes: number | null): Promise<void> {
    const source = this.#deps.sources.get(name);
    const tenantId = source ? await this.#tenantOf(source.config) : NO_TENANT;
    await this.#deps.store.scope(tenantId).audit({
      actor: source ? sourcePrincipal(tenantId, name).id : 'anonymous',
      action: 'alert.receive',
      outcome: 'denied',
      resource: `webhook:${name.slice(0, 64)}`,
      details: { code, reason, ip, ...(bytes === null ? {} : { bytes }), channel: 'webhook' },
    });
  }

  async #process(
    principal: Principal,
    source: WebhookSourceConfig,
    delivery: AlertDelivery,
    deliveryId: string | null,
  ): Promise<IntakeResult> {
    const { pipeline } = this.#deps;
    const matched = new Map<string, { playbook: LoadedPlaybook; alerts: Alert[] }>();
    if (delivery.status === 'firing') {
      for (const pb of this.#deps.playbooks) {
        const alerts = delivery.alerts
          .filter((a) => matches(pb, a, source.name))
          .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
        if (alerts.length > 0) matched.set(pb.playbook.name, { playbook: pb, alerts });
      }
    }
    const received = await pipeline.run<ReceiveResult>(
      'alert.receive',
      principal,
      {
        source: source.name,
        deliveryId,
        groupKey: delivery.groupKey,
        status: delivery.status,
        alerts: delivery.alerts.length,
        fingerprints: delivery.alerts.map((a) => a.fingerprint).slice(0, 5000),
        playbooks: [...matched.keys()],
      },
      'webhook',
    );
    const proposed: ProposedForGroup[] = [];
    for (const name of received.claimed) {
      const m = matched.get(name);
      if (m) proposed.push(await this.#proposeFor(principal, source, delivery, m.playbook, m.alerts));
    }
    const cancelled: string[] = [];
    for (const planId of received.cancel) {
      try {
        await pipeline.run('plan.cancel', principal, { planId, reason: 'the alert resolved' }, 'webhook');
        cancelled.push(planId);
      } catch {
        // Refused or raced with a review: audited by the pipeline; the plan keeps its humans.
      }
    }
    return {
      accepted: true,
      source: source.name,
      groupKey: delivery.groupKey,
      deliveryId,
      proposed,
      duplicates: received.duplicates,
      cancelled,
      annotated: received.annotated,
    };
  }

  async #proposeFor(
    principal: Principal,
    source: WebhookSourceConfig,
    delivery: AlertDelivery,
    pb: LoadedPlaybook,
    alerts: Alert[],
  ): Promise<ProposedForGroup> {
    const { pipeline } = this.#deps;
    const key = { source: source.name, groupKey: delivery.groupKey, playbook: pb.playbook.name };
    let outcome: CandidateOutcome;
    try {
      outcome = await planCandidate(this.#deps, principal, source.tenant, pb, alerts);
    } catch (err) {
      outcome = { ok: false, reasons: [`the candidate could not be built: ${(err as Error).message}`], origin: {} };
    }
    let planId: string | null = null;
    let refused = outcome.ok ? [] : outcome.reasons;
    if (outcome.ok) {
      try {
        const plan = await pipeline.run<{ id: string }>(
          'plan.propose',
          principal,
          {
            intent: outcome.candidate.intent,
            environment: outcome.candidate.environment,
            steps: outcome.candidate.steps.map((s) => ({ tool: s.tool, action: s.action, input: s.input })),
          },
          'webhook',
        );
        planId = plan.id;
      } catch (err) {
        const code = err instanceof CountersignError ? err.code : 'INTERNAL';
        refused = [`plan.propose refused it: ${code}: ${(err as Error).message}`];
      }
    }
    await pipeline.run('alert.plan', principal, { ...key, planId, refused, origin: outcome.origin }, 'webhook');
    return planId ? { playbook: key.playbook, planId } : { playbook: key.playbook, refused };
  }

  async #tenantOf(source: WebhookSourceConfig): Promise<string> {
    const known = this.#tenants.get(source.name);
    if (known) return known;
    const tenant = await this.#deps.store.findTenantByName(source.tenant);
    if (!tenant)
      throw new CountersignError('CONFIG_INVALID', `webhook source ${source.name} names tenant "${source.tenant}", which does not exist`);
    this.#tenants.set(source.name, tenant.id);
    return tenant.id;
  }

  /**
   * A fixed one-minute window per source (one entry per configured source, and one shared by
   * every unknown name), counted across replicas (WindowCounts). Past the budget only the first
   * refusal is audited (one across all replicas); each replica counts the rest it refused and
   * reports them once when its next window opens.
   */
  async #take(key: string, perMinute: number): Promise<{ ok: boolean; audit: boolean; suppressedBefore: number }> {
    const { window, count } = await this.#counts.add(`webhook:${key}`);
    const s = this.#suppressed.get(key);
    let suppressedBefore = 0;
    if (s && s.window !== window) {
      suppressedBefore = s.count;
      this.#suppressed.delete(key);
    }
    if (count <= perMinute) return { ok: true, audit: true, suppressedBefore };
    if (count === perMinute + 1) return { ok: false, audit: true, suppressedBefore };
    const mine = this.#suppressed.get(key) ?? { window, count: 0 };
    mine.count += 1;
    this.#suppressed.set(key, mine);
    return { ok: false, audit: false, suppressedBefore };
  }

  async #slot(): Promise<boolean> {
    const max = this.#deps.config.maxConcurrent;
    if (this.#running < max) {
      this.#running += 1;
      return true;
    }
    if (this.#waiting.length >= max) return false;
    await new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#peakWaiting = Math.max(this.#peakWaiting, this.#waiting.length);
    });
    return true;
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running -= 1;
  }
}
