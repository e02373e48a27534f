import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ToolManifestSchema } from '../tools/manifest.ts';
import { assessRisk } from './risk.ts';

const manifest = ToolManifestSchema.parse({
  apiVersion: 'countersign/v1',
  kind: 'Tool',
  name: 'kube',
  version: '1.0.0',
  executable: { path: '/usr/bin/true', sha256: 'a'.repeat(64) },
  actions: {
    get: { risk: 'low', argv: ['get'] },
    restart: {
      risk: 'medium',
      argv: ['restart', '{{targets}}'],
      input: { properties: { targets: { type: 'array', items: { type: 'string' } } } },
      targets: 'targets',
    },
    delete: { risk: 'high', destructive: true, argv: ['delete'] },
  },
});

test('risk comes from the action, the environment, targets and the destructive flag', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['dev', 'get', {}, 'low'],
    ['prod', 'get', {}, 'medium'],
    ['dev', 'restart', { targets: ['a'] }, 'medium'],
    ['dev', 'restart', { targets: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'high'],
    ['prod', 'restart', { targets: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'critical'],
    ['dev', 'delete', {}, 'critical'],
    ['prod', 'delete', {}, 'critical'],
  ];
  for (const [env, action, input, expected] of cases) {
    assert.equal(assessRisk(env, [{ manifest, action, input }]).risk, expected, `${env} ${action} ${JSON.stringify(input)}`);
  }
});

test('the plan takes its highest step and explains each', () => {
  const r = assessRisk('dev', [
    { manifest, action: 'get', input: {} },
    { manifest, action: 'delete', input: {} },
  ]);
  assert.equal(r.risk, 'critical');
  assert.equal(r.reasons.length, 2);
  assert.match(r.reasons[1]!, /destructive \+1/);
});

test('an unknown action is treated as critical, never as low', () => {
  assert.equal(assessRisk('dev', [{ manifest, action: 'nope', input: {} }]).risk, 'critical');
});
