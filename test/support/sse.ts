import assert from 'node:assert/strict';

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
}

export interface SseReader {
  status: number;
  frames: SseFrame[];
  /** Reads until a frame satisfies `match` (bounded); false when the stream ended or the wait ran out first. */
  until(match: (f: SseFrame) => boolean, timeoutMs?: number): Promise<boolean>;
  /** True once the server closed the stream. */
  ended(): boolean;
  close(): Promise<void>;
}

/** Opens a Server-Sent Events stream and parses its frames as they arrive. */
export async function openSse(url: string, key: string): Promise<SseReader> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${key}` }, signal: abort.signal });
  assert.ok(res.body);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const frames: SseFrame[] = [];
  let buffer = '';
  let ended = false;
  const pump = async (deadline: number, match: (f: SseFrame) => boolean): Promise<boolean> => {
    while (!frames.some(match)) {
      if (ended || Date.now() > deadline) return false;
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now())));
      const next = await Promise.race([reader.read(), timer]);
      if (next === 'timeout') return false;
      if (next.done) {
        ended = true;
        return frames.some(match);
      }
      buffer += decoder.decode(next.value, { stream: true });
      let cut = buffer.indexOf('\n\n');
      while (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const frame: SseFrame = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const [k, ...v] = line.split(': ');
          if (k === 'id' || k === 'event' || k === 'data') frame[k] = v.join(': ');
        }
        if (frame.event || frame.data) frames.push(frame);
        cut = buffer.indexOf('\n\n');
      }
    }
    return true;
  };
  return {
    status: res.status,
    frames,
    until: (match, timeoutMs = 30_000) => pump(Date.now() + timeoutMs, match),
    ended: () => ended,
    async close() {
      abort.abort();
      await reader.cancel().catch(() => undefined);
    },
  };
}
