import type { Store } from '../store/index.ts';
import type { Metrics } from './instruments.ts';

/** The label of events recorded but not yet fanned out to channels (no channel name starts with `_`). */
export const UNROUTED_CHANNEL = '_unrouted';

/**
 * The notification outbox's backlog, read from the database at scrape time (one query for both
 * gauges), so every replica reports the same figures: what waits per channel, and how long the
 * oldest has waited — the figure that says a channel is stuck before anyone misses a message.
 */
export function instrumentOutbox(metrics: Metrics, store: Pick<Store, 'notificationQueue'>, now: () => Date): void {
  let pending: ReturnType<Store['notificationQueue']['backlog']> | null = null;
  const read = () => {
    pending ??= store.notificationQueue.backlog().finally(() => {
      setImmediate(() => {
        pending = null;
      });
    });
    // A database outage leaves these gauges out of the scrape (countersign_store_up says why).
    return pending.catch(() => []);
  };
  metrics.gaugeFromStore(
    'countersign_notification_outbox_pending',
    `Notifications waiting to be delivered, by channel (${UNROUTED_CHANNEL}: events not yet fanned out to channels).`,
    ['channel'],
    async (set) => {
      for (const r of await read()) set({ channel: r.channel ?? UNROUTED_CHANNEL }, r.pending);
    },
  );
  metrics.gaugeFromStore(
    'countersign_notification_outbox_oldest_age_seconds',
    'Age of the oldest notification waiting, by channel; absent when nothing waits.',
    ['channel'],
    async (set) => {
      const at = now().getTime();
      for (const r of await read())
        if (r.oldest && r.pending > 0) set({ channel: r.channel ?? UNROUTED_CHANNEL }, Math.max(0, (at - Date.parse(r.oldest)) / 1000));
    },
  );
}
