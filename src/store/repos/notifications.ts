import type { Kysely } from 'kysely';
import { type Engine, Precompiled } from '../precompiled.ts';
import type { Database } from '../schema.ts';

export type OutboxRow = Database['notification_outbox'];
export type DeliveryRow = Database['notification_deliveries'];

/** A notification event as the change that caused it records it (inside its transaction). */
export interface OutboxEvent {
  id: string;
  kind: string;
  /** `plan:<id>` or `override:<id>`: what the event is about. */
  subject: string;
  /** The same change reported twice (a retried writer) is one event. */
  dedupKey: string;
  payload: Record<string, unknown>;
  createdAt: string;
}

/** One tenant's outbox: written only inside the transaction of the change it reports. */
/** Every proposal and review enqueues one event: compiled once (see Precompiled). */
const OUTBOX_INSERT = new Precompiled<Record<'id' | 'tenant' | 'kind' | 'subject' | 'dedup' | 'payload' | 'created', string>>(
  (db, param) =>
    db
      .insertInto('notification_outbox')
      .values({
        id: param('id'),
        tenant_id: param('tenant'),
        kind: param('kind'),
        subject: param('subject'),
        dedup_key: param('dedup'),
        payload: param('payload'),
        created_at: param('created'),
        expanded_at: null,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'dedup_key']).doNothing()),
  { prepared: true },
);

export class NotificationsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tenantId: string,
    private readonly engine: Engine,
  ) {}

  /** Adds the event unless one with its dedup key exists; true when it was added. */
  async enqueue(e: OutboxEvent): Promise<boolean> {
    const res = await OUTBOX_INSERT.run(this.db, this.engine, {
      id: e.id,
      tenant: this.tenantId,
      kind: e.kind,
      subject: e.subject,
      dedup: e.dedupKey,
      payload: JSON.stringify(e.payload),
      created: e.createdAt,
    });
    return Number(res.numAffectedRows ?? 0) === 1;
  }
}

/** A delivery claimed for sending, with the event it carries. */
export interface ClaimedDelivery {
  delivery: DeliveryRow;
  event: OutboxRow;
}

export interface ChannelHealthRow {
  channel: string;
  pending: number;
  dead: number;
  sent: number;
  lastError: string | null;
  lastSentAt: string | null;
}

/**
 * The installation-wide delivery queue: the dispatcher serves every tenant, so these are the
 * queries that look across tenants (each row names its tenant; nothing here reads plans).
 */
export class NotificationQueue {
  constructor(private readonly db: Kysely<Database>) {}

  async unexpanded(limit: number): Promise<OutboxRow[]> {
    return this.db
      .selectFrom('notification_outbox')
      .selectAll()
      .where('expanded_at', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Fans one event out to its channels and marks it expanded, atomically; a repeat adds nothing. */
  async expand(event: OutboxRow, channels: readonly string[], seq: number, at: string, newId: () => string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const channel of channels) {
        await trx
          .insertInto('notification_deliveries')
          .values({
            id: newId(),
            tenant_id: event.tenant_id,
            event_id: event.id,
            seq,
            channel,
            subject: event.subject,
            status: 'pending',
            attempts: 0,
            next_attempt_at: at,
            lease_until: null,
            last_error: null,
            created_at: at,
            sent_at: null,
          })
          .onConflict((oc) => oc.columns(['event_id', 'channel']).doNothing())
          .execute();
      }
      await trx.updateTable('notification_outbox').set({ expanded_at: at }).where('id', '=', event.id).execute();
    });
  }

  /**
   * Claims up to `limit` due deliveries with a lease, so replicas never send one twice at once.
   * A delivery waits while an earlier one of the same subject on the same channel is unsent:
   * a message edit never overtakes the post it edits.
   */
  async claimDue(now: string, leaseUntil: string, limit: number): Promise<ClaimedDelivery[]> {
    const due = await this.db
      .selectFrom('notification_deliveries as d')
      .innerJoin('notification_outbox as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select([
        'e.kind as e_kind',
        'e.payload as e_payload',
        'e.created_at as e_created_at',
        'e.dedup_key as e_dedup_key',
        'e.expanded_at as e_expanded_at',
      ])
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('d.lease_until', 'is', null), eb('d.lease_until', '<', now)]))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('notification_deliveries as p')
              .select('p.id')
              .whereRef('p.channel', '=', 'd.channel')
              .whereRef('p.subject', '=', 'd.subject')
              .whereRef('p.tenant_id', '=', 'd.tenant_id')
              .where('p.status', '=', 'pending')
              .whereRef('p.seq', '<', 'd.seq'),
          ),
        ),
      )
      .orderBy('d.seq')
      .limit(limit)
      .execute();
    const claimed: ClaimedDelivery[] = [];
    for (const r of due) {
      const res = await this.db
        .updateTable('notification_deliveries')
        .set({ lease_until: leaseUntil })
        .where('id', '=', r.id)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) continue;
      const { e_kind, e_payload, e_created_at, e_dedup_key, e_expanded_at, ...delivery } = r;
      claimed.push({
        delivery: { ...delivery, seq: Number(delivery.seq), lease_until: leaseUntil },
        event: {
          id: r.event_id,
          tenant_id: r.tenant_id,
          kind: e_kind,
          subject: r.subject,
          dedup_key: e_dedup_key,
          payload: e_payload,
          created_at: e_created_at,
          expanded_at: e_expanded_at,
        },
      });
    }
    return claimed;
  }

  async markSent(id: string, at: string): Promise<void> {
    await this.db
      .updateTable('notification_deliveries')
      .set({ status: 'sent', sent_at: at, lease_until: null, attempts: (eb) => eb('attempts', '+', 1) })
      .where('id', '=', id)
      .execute();
  }

  /** A failed attempt: retried at `nextAt`, or dead when `nextAt` is null (attempts exhausted). */
  async markFailed(id: string, error: string, nextAt: string | null): Promise<void> {
    await this.db
      .updateTable('notification_deliveries')
      .set({
        status: nextAt === null ? 'dead' : 'pending',
        last_error: error.slice(0, 1000),
        lease_until: null,
        attempts: (eb) => eb('attempts', '+', 1),
        ...(nextAt === null ? {} : { next_attempt_at: nextAt }),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Per channel: what waits, what gave up, and the last error and success (status and doctor). */
  async channelHealth(): Promise<ChannelHealthRow[]> {
    const counts = await this.db
      .selectFrom('notification_deliveries')
      .select(['channel', 'status'])
      .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.max('sent_at').as('last_sent')])
      .groupBy(['channel', 'status'])
      .execute();
    const byChannel = new Map<string, ChannelHealthRow>();
    for (const c of counts) {
      const row = byChannel.get(c.channel) ?? { channel: c.channel, pending: 0, dead: 0, sent: 0, lastError: null, lastSentAt: null };
      row[c.status] = Number(c.n);
      if (c.status === 'sent') row.lastSentAt = (c.last_sent as string | null) ?? null;
      byChannel.set(c.channel, row);
    }
    for (const row of byChannel.values()) {
      const failed = await this.db
        .selectFrom('notification_deliveries')
        .select(['last_error'])
        .where('channel', '=', row.channel)
        .where('last_error', 'is not', null)
        .where('status', '!=', 'sent')
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      row.lastError = failed?.last_error ?? null;
    }
    return [...byChannel.values()].sort((a, b) => a.channel.localeCompare(b.channel));
  }

  /**
   * observability: the outbox backlog for metrics — deliveries waiting per channel with the
   * oldest one's creation time, and events not yet fanned out to channels as channel `null`.
   */
  async backlog(): Promise<{ channel: string | null; pending: number; oldest: string | null }[]> {
    const [deliveries, events] = await Promise.all([
      this.db
        .selectFrom('notification_deliveries')
        .where('status', '=', 'pending')
        .select((eb) => ['channel', eb.fn.countAll<number | string>().as('n'), eb.fn.min('created_at').as('oldest')])
        .groupBy('channel')
        .execute(),
      this.db
        .selectFrom('notification_outbox')
        .where('expanded_at', 'is', null)
        .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.min('created_at').as('oldest')])
        .execute(),
    ]);
    return [
      ...deliveries.map((r) => ({ channel: r.channel, pending: Number(r.n), oldest: (r.oldest as string | null) ?? null })),
      ...events.map((r) => ({ channel: null, pending: Number(r.n), oldest: (r.oldest as string | null) ?? null })),
    ];
  }
}
