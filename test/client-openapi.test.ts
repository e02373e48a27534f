// Issue 6 item 2: the typed client is checked against the OpenAPI document the server serves —
// every call it makes names a route and method that exist there.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ENGINES } from './support/engines.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const SOURCES = [
  '../src/client/index.ts',
  '../src/cli/commands/trust.ts',
  '../src/cli/commands/override.ts',
  // alerts
  '../src/cli/commands/plan-origin.ts',
];

/** The (method, path) of every request made through the typed client, with ${…} segments as {param}. */
function clientCalls(): { method: string; path: string }[] {
  const calls: { method: string; path: string }[] = [];
  for (const file of SOURCES) {
    const source = readFileSync(new URL(file, import.meta.url), 'utf8');
    for (const m of source.matchAll(/request(?:<[^(]*?>)?\(\s*'([A-Z]+)',\s*(?:'([^']*)'|`([^`]*)`)/g)) {
      const path = (m[2] ?? m[3] ?? '')
        .replace(/\$\{queryString\((?:[^()]|\([^()]*\))*\)\}/g, '')
        .replace(/\?.*$/, '')
        .replace(/\$\{encodeURIComponent\((\w+)\)\}/g, (_all, name: string) =>
          name === 'keyId' && file.includes('trust') ? '{keyId}' : name === 'platform' ? '{platform}' : '{id}',
        );
      calls.push({ method: m[1] ?? '', path });
    }
  }
  return calls;
}

describe('typed client ↔ OpenAPI', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer(ENGINES[0]!);
  });
  after(async () => s?.close());

  test('every client call exists in the served OpenAPI document', async () => {
    const doc = (await s.request('GET', '/docs/json', { key: null })).body as { paths: Record<string, Record<string, unknown>> };
    const calls = clientCalls();
    assert.ok(calls.length >= 25, `found only ${calls.length} client calls`);
    const missing = calls.filter((c) => !doc.paths[c.path]?.[c.method.toLowerCase()]);
    assert.deepEqual(missing, []);
  });

  test('every documented /v1 route has a client method', async () => {
    const doc = (await s.request('GET', '/docs/json', { key: null })).body as { paths: Record<string, Record<string, unknown>> };
    const calls = new Set(clientCalls().map((c) => `${c.method} ${c.path}`));
    const uncovered = Object.entries(doc.paths)
      // alerts: webhook deliveries come from alert sources (Alertmanager, Grafana, PagerDuty), not the client.
      .filter(([p]) => p.startsWith('/v1/') && !p.startsWith('/v1/webhooks/'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .filter((r) => !calls.has(r));
    assert.deepEqual(uncovered, []);
  });
});
