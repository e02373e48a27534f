import type { StepUpSettings } from '../approvals/index.ts';
import type { Runtime } from '../runtime.ts';
import type { ClaimedDelivery, OutboxRow, Store } from '../store/index.ts';
import type { ChannelSender } from './channels/types.ts';
import type { ResolvedNotifications } from './config.ts';
import { renderNotice } from './render.ts';
import { routeEvent } from './routing.ts';

export interface DispatcherOptions {
  store: Store;
  notifications: ResolvedNotifications;
  runtime: Runtime;
  log: (line: string) => void;
  /** Which approvals need step-up: chat offers no approve button for those. */
  stepUp: StepUpSettings;
  /** How long a claimed delivery stays ours before another replica may take it over. */
  leaseMs?: number;
}

export interface ChannelHealth {
  channel: string;
  type: string;
  ok: boolean;
  pending: number;
  dead: number;
  sent: number;
  lastError: string | null;
  lastSentAt: string | null;
}

/**
 * The outbox worker. Each pass: fan new events out to their channels (one delivery row per
 * event and channel: the unique key deduplicates), then send what is due, a few at a time. A
 * failed send is retried with exponential backoff until `maxAttempts`, then marked dead (and
 * shown by `countersign status` and doctor). It runs beside the API and never blocks a change:
 * the change committed its event before the dispatcher ever saw it.
 */
export class NotificationDispatcher {
  readonly senders: Map<string, ChannelSender>;
  readonly #o: DispatcherOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #tenantId: string | null | undefined;
  #seq = 0;

  constructor(options: DispatcherOptions, senders: Map<string, ChannelSender>) {
    this.#o = options;
    this.senders = senders;
  }

  /**
   * The dispatcher with a sender per configured channel. The platform clients (Slack, grammY,
   * nodemailer) load here, on demand: the pipeline and the executor import this module's events
   * to write the outbox and must not pay for the clients at start.
   */
  static async open(options: DispatcherOptions): Promise<NotificationDispatcher> {
    const { buildSenders } = await import('./channels/build.ts');
    return new NotificationDispatcher(
      options,
      buildSenders(options.notifications, () => options.runtime.now()),
    );
  }

  get settings() {
    return this.#o.notifications.settings;
  }

  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      this.#running = this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.#o.log(`notifications: pass failed (will retry): ${(err as Error).message}`))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(loop, this.settings.delivery.pollMilliseconds);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    for (const s of this.senders.values()) await s.close?.();
  }

  /** One pass: expand, then send until nothing is due. Returns how many deliveries were attempted. */
  async runOnce(): Promise<number> {
    await this.#expand();
    await this.#prune();
    let attempted = 0;
    for (;;) {
      const now = this.#o.runtime.now();
      const lease = new Date(now.getTime() + (this.#o.leaseMs ?? 60_000)).toISOString();
      const batch = await this.#o.store.notificationQueue.claimDue(now.toISOString(), lease, this.settings.delivery.concurrency * 4);
      if (batch.length === 0) return attempted;
      attempted += batch.length;
      // Deliveries of one subject on one channel go in order (post before edit); others in parallel.
      const lanes = new Map<string, ClaimedDelivery[]>();
      for (const d of batch) {
        const key = `${d.delivery.tenant_id}|${d.delivery.channel}|${d.delivery.subject}`;
        lanes.set(key, [...(lanes.get(key) ?? []), d]);
      }
      const queue = [...lanes.values()];
      const workers = Array.from({ length: Math.min(this.settings.delivery.concurrency, queue.length) }, async () => {
        for (let lane = queue.shift(); lane; lane = queue.shift()) for (const d of lane) await this.#deliver(d);
      });
      await Promise.all(workers);
      if (this.#stopped) return attempted;
    }
  }

  #prunedAt = 0;

  /** Chat state that can no longer matter (old callback ids, expired codes) goes once an hour. */
  async #prune(): Promise<void> {
    const now = this.#o.runtime.now().getTime();
    if (now - this.#prunedAt < 3_600_000) return;
    this.#prunedAt = now;
    await this.#o.store.chatLookup.prune(new Date(now - 7 * 86_400_000).toISOString());
  }

  async #tenant(): Promise<string | null> {
    if (this.#tenantId === undefined) this.#tenantId = (await this.#o.store.findTenantByName(this.settings.tenant))?.id ?? null;
    return this.#tenantId;
  }

  async #expand(): Promise<void> {
    const queue = this.#o.store.notificationQueue;
    const tenant = await this.#tenant();
    for (;;) {
      const events = await queue.unexpanded(200);
      if (events.length === 0) return;
      for (const e of events) {
        const channels = e.tenant_id === tenant ? await this.#route(e) : [];
        const seq = Date.parse(e.created_at) * 1000 + (this.#seq++ % 1000);
        await queue.expand(
          e,
          channels.filter((c) => this.senders.has(c)),
          seq,
          this.#o.runtime.now().toISOString(),
          () => this.#o.runtime.newId('dlv'),
        );
      }
    }
  }

  async #route(e: OutboxRow): Promise<string[]> {
    const [type, id = ''] = e.subject.split(':');
    const payload = JSON.parse(e.payload) as Record<string, unknown>;
    let facts: { environment?: string; risk?: string; groups: string[] } = { groups: [] };
    if (type === 'plan') {
      const plan = await this.#o.store.scope(e.tenant_id).plans.get(id);
      if (plan) facts = { environment: plan.environment, risk: plan.risk, groups: plan.approval.require.map((r) => r.group) };
    } else if (typeof payload.environment === 'string') facts = { environment: payload.environment, groups: [] };
    return routeEvent(this.settings.routes, { kind: e.kind, ...facts });
  }

  async #deliver({ delivery, event }: ClaimedDelivery): Promise<void> {
    const queue = this.#o.store.notificationQueue;
    const sender = this.senders.get(delivery.channel);
    const now = this.#o.runtime.now();
    try {
      if (!sender) throw new Error(`channel ${delivery.channel} is no longer configured`);
      const scope = this.#o.store.scope(event.tenant_id);
      const notice = await renderNotice(scope, event, {
        now,
        consoleUrl: this.settings.consoleUrl,
        stepUp: this.#o.stepUp,
      });
      await sender.send(notice, { scope, now });
      await queue.markSent(delivery.id, this.#o.runtime.now().toISOString());
    } catch (err) {
      const attempts = delivery.attempts + 1;
      const d = this.settings.delivery;
      const message = (err as Error).message ?? String(err);
      const next =
        attempts >= d.maxAttempts
          ? null
          : new Date(now.getTime() + Math.min(d.backoffMaxMilliseconds, d.backoffBaseMilliseconds * 2 ** (attempts - 1))).toISOString();
      await queue.markFailed(delivery.id, message, next);
      this.#o.log(
        `notifications: ${delivery.channel} failed for ${event.kind} ${event.subject} (attempt ${attempts}${next ? `, retry at ${next}` : ', giving up'}): ${message}`,
      );
    }
  }

  /** Each configured channel with its queue: a channel with dead deliveries, or failing now, is not ok. */
  async health(): Promise<ChannelHealth[]> {
    const rows = new Map((await this.#o.store.notificationQueue.channelHealth()).map((r) => [r.channel, r]));
    return [...this.senders.values()].map((s) => {
      const r = rows.get(s.name) ?? { pending: 0, dead: 0, sent: 0, lastError: null, lastSentAt: null };
      return {
        channel: s.name,
        type: s.type,
        ok: r.dead === 0 && r.lastError === null,
        pending: r.pending,
        dead: r.dead,
        sent: r.sent,
        lastError: r.lastError,
        lastSentAt: r.lastSentAt,
      };
    });
  }
}
