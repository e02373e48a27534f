import assert from 'node:assert/strict';
import type { TestServer } from './server.ts';

/** Creates a principal through the real API as the tenant admin; returns its id and key. */
export async function addPrincipal(
  s: TestServer,
  name: string,
  kind: 'human' | 'agent',
  groups: string[],
): Promise<{ id: string; key: string }> {
  const res = await s.request('POST', '/v1/principals', { body: { name, kind, groups } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.id, key: res.body.key };
}
