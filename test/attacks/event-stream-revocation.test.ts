// Invariant 16 for the whole subscription: revoking the subscriber's key ends a live stream.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENGINES } from '../support/engines.ts';
import { addPrincipal } from '../support/principals.ts';
import { echoPlan, startTestServer, type TestServer } from '../support/server.ts';

describe('live event streams re-check their subscriber', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(ENGINES[0]!);
  });
  after(async () => s?.close());

  test('a key revoked mid-stream ends the stream with an error frame', async () => {
    const watcher = await addPrincipal(s, 'watcher', 'human', ['auditor']);
    const keys = (await s.request('GET', `/v1/principals/${watcher.id}/keys`)).body.keys;
    const plan = (await s.request('POST', '/v1/plans', { body: echoPlan('queued forever') })).body;
    // No executor runs in this test: the execution stays queued and the stream stays open.
    const exec = (await s.request('POST', `/v1/plans/${plan.id}/executions`, { body: {} })).body;
    const res = await fetch(`${s.url}/v1/executions/${exec.id}/events`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${watcher.key}` },
    });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 20_000;
      while (!text.includes(needle) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      return text.includes(needle);
    };
    assert.ok(await readUntil('event: execution.queued'));
    assert.equal((await s.request('POST', `/v1/keys/${keys[0].id}/revoke`)).status, 200);
    assert.ok(await readUntil('event: error'), text);
    assert.match(text, /"code":"UNAUTHENTICATED"/);
    const { done } = await reader.read();
    assert.equal(done, true, 'the stream closed');
  });
});
