import type { FastifyReply } from 'fastify';
import { CountersignError } from '../errors/index.ts';
import type { LiveHub } from '../live/index.ts';
import { backoffMs, type EventRecord, isStoreUnavailable } from '../store/index.ts';

/** One read of an execution's event log after a cursor (the `execution.events` operation's answer). */
export interface EventLogRead {
  events: EventRecord[];
  status: string;
  final: boolean;
}

/** Reads a stream retries through a database outage (with backoff up to 5 s: about two minutes). */
const STREAM_OUTAGE_RETRIES = 30;
/** A stream ends by itself after this long; clients resume with Last-Event-ID. */
const MAX_STREAM_MS = 60 * 60 * 1000;

export interface StreamOptions {
  /** How often a live stream re-checks the subscriber's credential and read permission. */
  recheckMs: number;
  /** Notifications of new events and credential changes (any replica); absent: streams poll. */
  live?: LiveHub;
  /** While notifications arrive, how often a stream still looks on its own (a safety net). */
  livePollMs?: number;
  /** How often an idle stream sends a comment line, so proxies keep it open (default 15 s). */
  keepAliveMs?: number;
}

/** How often a stream polls when no notifications arrive (SQLite's separate executor, a lost LISTEN). */
const POLL_MS = 200;

/** Server-Sent Events from the stored event log, polled, so any API replica can serve any stream. */
export async function streamExecutionEvents(
  reply: FastifyReply,
  read: (cursor: number) => Promise<EventLogRead>,
  after: number,
  recheck: () => Promise<void>,
  options: StreamOptions & { executionId: string },
): Promise<FastifyReply> {
  const { recheckMs, live } = options;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  // A notification wakes the wait below; one that comes while reading is remembered (`signalled`).
  let signalled = false;
  let authChanged = false;
  let wake: (() => void) | null = null;
  const nudge = () => {
    signalled = true;
    wake?.();
  };
  const unsubscribe = [
    live?.onEvents(options.executionId, nudge),
    // A revoked key or a disabled principal anywhere: re-check this subscriber now, not at the next interval.
    live?.onAuthChange(() => {
      authChanged = true;
      nudge();
    }),
  ];
  raw.on('close', () => {
    closed = true;
    wake?.();
  });
  const started = Date.now();
  let cursor = after;
  let lastBeat = Date.now();
  let lastCheck = Date.now();
  // Consecutive reads the database could not answer (a restart): the stream waits with backoff,
  // keeping the connection alive, and after an outage re-checks the subscriber before any event.
  let outage = 0;
  const waitOut = async () => {
    outage++;
    if (Date.now() - lastBeat > 1_000) {
      raw.write(': database unavailable, waiting\n\n');
      lastBeat = Date.now();
    }
    await new Promise((r) => setTimeout(r, backoffMs(outage, 200, 5_000)));
  };
  try {
    while (!closed && Date.now() - started < MAX_STREAM_MS) {
      if (outage > 0 || authChanged || Date.now() - lastCheck >= recheckMs) {
        authChanged = false;
        try {
          await recheck();
          lastCheck = Date.now();
        } catch (err) {
          if (isStoreUnavailable(err) && outage < STREAM_OUTAGE_RETRIES) {
            await waitOut();
            continue;
          }
          const code = err instanceof CountersignError ? err.code : 'UNAUTHENTICATED';
          raw.write(`event: error\ndata: ${JSON.stringify({ code, message: 'the subscription is no longer authorized' })}\n\n`);
          break;
        }
      }
      let page: EventLogRead;
      signalled = false;
      try {
        page = await read(cursor);
        outage = 0;
      } catch (err) {
        if (!isStoreUnavailable(err) || outage >= STREAM_OUTAGE_RETRIES) throw err;
        await waitOut();
        continue;
      }
      const { events, final } = page;
      for (const e of events) {
        raw.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, ts: e.ts })}\n\n`);
        cursor = e.seq;
      }
      if (events.length === 0 && final) break;
      if (Date.now() - lastBeat > keepAliveMs) {
        raw.write(': keep-alive\n\n');
        lastBeat = Date.now();
      }
      if (events.length === 0 && !signalled && !closed) {
        const idleMs = live?.connected ? Math.min(options.livePollMs ?? 5_000, recheckMs - (Date.now() - lastCheck), keepAliveMs) : POLL_MS;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(idleMs, 0));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    }
  } catch (err) {
    // Internal messages never reach the client (they can name tables or hosts): log, send a code.
    reply.log.error({ err }, 'event stream failed');
    const body = isStoreUnavailable(err)
      ? { code: 'STORE_UNAVAILABLE', message: 'the database is unavailable; resume with Last-Event-ID' }
      : { code: 'INTERNAL', message: 'internal error; see the server log' };
    raw.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
  } finally {
    for (const off of unsubscribe) off?.();
  }
  raw.end();
  return reply;
}
