import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertArgvAllowed } from './deny.ts';
import { ToolManifestSchema } from './manifest.ts';

const kube = ToolManifestSchema.parse({
  apiVersion: 'countersign/v1',
  kind: 'Tool',
  name: 'kube',
  version: '1.0.0',
  executable: { path: '/usr/bin/true', sha256: 'a'.repeat(64) },
  denyArgv: [
    { sequence: ['delete', 'namespace'], reason: 'namespaces hold everything' },
    { sequence: ['--force'], reason: 'no forced deletion' },
    { sequence: ['/^--grace-period$/', '0'], reason: 'no zero grace period' },
  ],
  actions: {
    run: {
      risk: 'medium',
      argv: ['{{args}}'],
      input: { properties: { args: { type: 'array', items: { type: 'string', allowLeadingDash: true } } } },
    },
  },
});

test('refuses denied sequences, including --flag=value forms', () => {
  for (const argv of [
    ['delete', 'namespace', 'prod'],
    ['delete', 'pod', 'x', '--force'],
    ['delete', 'pod', 'x', '--grace-period=0'],
    ['delete', 'pod', 'x', '--grace-period', '0'],
  ]) {
    assert.throws(() => assertArgvAllowed(kube, 'run', argv), { code: 'ARGUMENT_REFUSED' }, argv.join(' '));
  }
});

test('allows what no pattern matches', () => {
  assertArgvAllowed(kube, 'run', ['delete', 'pod', 'x', '--grace-period=30']);
  assertArgvAllowed(kube, 'run', ['get', 'namespace']);
});
