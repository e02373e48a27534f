import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { backoffMs } from '../store/index.ts';
import type { LiveHub } from './hub.ts';

/** The channels the 0012_scale and 0017_preview_notify triggers notify on (payload: an execution, tenant or plan id). */
const EVENTS_CHANNEL = 'countersign_events';
const AUTH_CHANNEL = 'countersign_auth';
const PREVIEWS_CHANNEL = 'countersign_previews';

/**
 * One dedicated connection per API process that LISTENs and feeds the hub. It reconnects with
 * backoff when the database restarts; on every (re)connect it tells the hub that anything may
 * have changed, so a stream that missed notifications meanwhile looks again (and re-checks its
 * subscriber) instead of waiting for the next one.
 */
export class PostgresListener {
  #client: pg.Client | null = null;
  #stopped = false;
  #connected = false;
  readonly #stop = new AbortController();
  readonly #done: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly hub: LiveHub,
    private readonly log: (line: string) => void,
  ) {
    hub.setConnectedProbe(() => this.#connected);
    this.#done = this.#run();
  }

  get connected(): boolean {
    return this.#connected;
  }

  async #run(): Promise<void> {
    for (let attempt = 1; !this.#stopped; ) {
      const client = new pg.Client({ connectionString: this.url, keepAlive: true, connectionTimeoutMillis: 5_000 });
      this.#client = client;
      const lost = new Promise<Error>((resolve) => {
        client.on('error', resolve);
        client.on('end', () => resolve(new Error('connection ended')));
      });
      try {
        await client.connect();
        client.on('notification', (n) => {
          if (n.channel === EVENTS_CHANNEL && n.payload) this.hub.eventWritten(n.payload);
          else if (n.channel === AUTH_CHANNEL) this.hub.authChanged();
          else if (n.channel === PREVIEWS_CHANNEL) this.hub.previewReady();
        });
        await client.query(`listen ${EVENTS_CHANNEL}; listen ${AUTH_CHANNEL}; listen ${PREVIEWS_CHANNEL}`);
        this.#connected = true;
        if (attempt > 1) this.log('live notifications: listening again');
        attempt = 1;
        this.hub.authChanged();
        this.hub.previewReady();
        const err = await lost;
        this.#connected = false;
        if (!this.#stopped) this.log(`live notifications: connection lost (${err.message}); streams poll until it is back`);
      } catch (err) {
        this.#connected = false;
        if (attempt === 1 && !this.#stopped)
          this.log(`live notifications: cannot listen (${(err as Error).message}); retrying with backoff`);
      }
      await client.end().catch(() => undefined);
      if (this.#stopped) break;
      await sleep(backoffMs(attempt++, 200, 5_000), undefined, { signal: this.#stop.signal }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.#stopped = true;
    this.#stop.abort();
    await this.#client?.end().catch(() => undefined);
    await this.#done;
  }
}
