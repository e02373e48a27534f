import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderArgv } from './argv.ts';
import { type ToolManifest, ToolManifestSchema } from './manifest.ts';

const manifest: ToolManifest = ToolManifestSchema.parse({
  apiVersion: 'countersign/v1',
  kind: 'Tool',
  name: 'kubectl',
  version: '1.0.0',
  executable: { path: '/usr/bin/kubectl', sha256: 'a'.repeat(64) },
  actions: {
    restart: {
      risk: 'medium',
      argv: ['rollout', 'restart', 'deployment/{{name}}', '--namespace', '{{namespace}}', '{{extra}}'],
      input: {
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9-]+$' },
          namespace: { type: 'string', enum: ['default', 'web'] },
          extra: { type: 'array', items: { type: 'string' } },
        },
        required: ['name', 'namespace'],
      },
    },
    scale: {
      risk: 'low',
      argv: ['scale', '--replicas={{replicas}}', '{{dryRun}}', '{{ratio}}'],
      input: {
        properties: {
          replicas: { type: 'integer', minimum: 0, maximum: 50 },
          dryRun: { type: 'boolean' },
          ratio: { type: 'number' },
        },
      },
    },
    grep: {
      risk: 'low',
      argv: ['{{pattern}}', '{{files}}'],
      input: {
        properties: {
          pattern: { type: 'string', allowLeadingDash: true },
          files: { type: 'array', items: { type: 'string' }, maxItems: 3 },
        },
        required: ['pattern'],
      },
    },
    joined: {
      risk: 'low',
      argv: ['--targets={{files}}'],
      input: { properties: { files: { type: 'array', items: { type: 'string' } } } },
    },
  },
});

const refused = (field: string) => ({ code: 'ARGUMENT_REFUSED', details: { field } });

describe('renderArgv', () => {
  it('substitutes placeholders in place and expands an exact array placeholder per item', () => {
    assert.deepEqual(renderArgv(manifest, 'restart', { name: 'api', namespace: 'web', extra: ['a b', 'c;rm -rf /'] }), [
      'rollout',
      'restart',
      'deployment/api',
      '--namespace',
      'web',
      'a b',
      'c;rm -rf /',
    ]);
  });

  it('renders an absent array as no elements', () => {
    assert.deepEqual(renderArgv(manifest, 'restart', { name: 'api', namespace: 'default' }), [
      'rollout',
      'restart',
      'deployment/api',
      '--namespace',
      'default',
    ]);
  });

  it('stringifies numbers and booleans', () => {
    assert.deepEqual(renderArgv(manifest, 'scale', { replicas: 3, dryRun: false, ratio: 0.5 }), ['scale', '--replicas=3', 'false', '0.5']);
  });

  it('refuses a value starting with a dash unless the field allows it, naming the field', () => {
    assert.throws(() => renderArgv(manifest, 'restart', { name: 'api', namespace: 'web', extra: ['--force'] }), refused('extra[0]'));
    assert.throws(() => renderArgv(manifest, 'restart', { name: 'api', namespace: 'web', extra: ['--'] }), refused('extra[0]'));
    assert.deepEqual(renderArgv(manifest, 'grep', { pattern: '-v' }), ['-v']);
    assert.throws(() => renderArgv(manifest, 'grep', { pattern: 'x', files: ['-r'] }), refused('files[0]'));
  });

  it('refuses negative numbers, which read as options', () => {
    assert.throws(() => renderArgv(manifest, 'scale', { replicas: 1, dryRun: true, ratio: -1 }), refused('ratio'));
  });

  it('refuses a NUL byte', () => {
    assert.throws(() => renderArgv(manifest, 'grep', { pattern: 'a\0b' }), refused('pattern'));
  });

  it('refuses values outside the schema: type, enum, pattern, bounds, items, unknown fields', () => {
    assert.throws(() => renderArgv(manifest, 'restart', { name: 'api', namespace: 'kube-system' }), refused('namespace'));
    assert.throws(() => renderArgv(manifest, 'restart', { name: 'API!', namespace: 'web' }), refused('name'));
    assert.throws(() => renderArgv(manifest, 'scale', { replicas: 51, dryRun: true, ratio: 1 }), refused('replicas'));
    assert.throws(() => renderArgv(manifest, 'scale', { replicas: 1.5, dryRun: true, ratio: 1 }), refused('replicas'));
    assert.throws(() => renderArgv(manifest, 'scale', { replicas: '3', dryRun: true, ratio: 1 }), refused('replicas'));
    assert.throws(() => renderArgv(manifest, 'scale', { replicas: 1, dryRun: true, ratio: Number.NaN }), refused('ratio'));
    assert.throws(() => renderArgv(manifest, 'grep', { pattern: 'x', files: ['a', 'b', 'c', 'd'] }), refused('files'));
    assert.throws(() => renderArgv(manifest, 'grep', { pattern: 'x', shell: 'sh -c' }), refused('shell'));
  });

  it('refuses a missing value rather than leave a dangling flag', () => {
    assert.throws(() => renderArgv(manifest, 'restart', { name: 'api' }), refused('namespace'));
    assert.throws(() => renderArgv(manifest, 'scale', { dryRun: true }), refused('replicas'));
  });

  it('refuses an array inside a larger element', () => {
    assert.throws(() => renderArgv(manifest, 'joined', { files: ['a'] }), refused('files'));
  });

  it('never re-expands placeholders found in values', () => {
    assert.deepEqual(renderArgv(manifest, 'grep', { pattern: '{{files}}', files: ['$(id)'] }), ['{{files}}', '$(id)']);
  });

  it('refuses an unknown action', () => {
    assert.throws(() => renderArgv(manifest, 'delete', {}), { code: 'UNKNOWN_ACTION' });
    assert.throws(() => renderArgv(manifest, '__proto__', {}), { code: 'UNKNOWN_ACTION' });
  });
});
