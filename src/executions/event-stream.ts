import type { FastifyReply } from 'fastify';
import { CountersignError } from '../errors/index.ts';
import type { EventRecord } from '../store/index.ts';

/** One read of an execution's event log after a cursor (the `execution.events` operation's answer). */
export interface EventLogRead {
  events: EventRecord[];
  status: string;
  final: boolean;
}

/** A stream ends by itself after this long; clients resume with Last-Event-ID. */
const MAX_STREAM_MS = 60 * 60 * 1000;

/** Server-Sent Events from the stored event log, polled, so any API replica can serve any stream. */
export async function streamExecutionEvents(
  reply: FastifyReply,
  read: (cursor: number) => Promise<EventLogRead>,
  after: number,
  recheck: () => Promise<void>,
  recheckMs: number,
): Promise<FastifyReply> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  raw.on('close', () => {
    closed = true;
  });
  const started = Date.now();
  let cursor = after;
  let lastBeat = Date.now();
  let lastCheck = Date.now();
  try {
    while (!closed && Date.now() - started < MAX_STREAM_MS) {
      if (Date.now() - lastCheck >= recheckMs) {
        lastCheck = Date.now();
        try {
          await recheck();
        } catch (err) {
          const code = err instanceof CountersignError ? err.code : 'UNAUTHENTICATED';
          raw.write(`event: error\ndata: ${JSON.stringify({ code, message: 'the subscription is no longer authorized' })}\n\n`);
          break;
        }
      }
      const { events, final } = await read(cursor);
      for (const e of events) {
        raw.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, ts: e.ts })}\n\n`);
        cursor = e.seq;
      }
      if (events.length === 0 && final) break;
      if (Date.now() - lastBeat > 15_000) {
        raw.write(': keep-alive\n\n');
        lastBeat = Date.now();
      }
      if (events.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    // Internal messages never reach the client (they can name tables or hosts): log, send a code.
    reply.log.error({ err }, 'event stream failed');
    raw.write(`event: error\ndata: ${JSON.stringify({ code: 'INTERNAL', message: 'internal error; see the server log' })}\n\n`);
  }
  raw.end();
  return reply;
}
