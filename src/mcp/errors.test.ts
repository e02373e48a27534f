import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CountersignError } from '../errors/index.ts';
import { toolError } from './errors.ts';

const text = (r: ReturnType<typeof toolError>) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

test('a CountersignError becomes a tool error with its message, code and a hint', () => {
  const logged: unknown[] = [];
  const r = toolError(new CountersignError('UNKNOWN_TOOL', 'steps[0].tool: no tool "rm" is loaded'), 'propose_plan', (e) => logged.push(e));
  assert.equal(r.isError, true);
  assert.equal(text(r), 'steps[0].tool: no tool "rm" is loaded [UNKNOWN_TOOL]\nCall list_tools for the tools you may use.');
  assert.deepEqual(logged, []);
});

test('an unexpected error never crosses the wire: generic text, details to the log only', () => {
  const logged: [unknown, string][] = [];
  const err = new Error('SQLITE_CORRUPT at /var/lib/countersign/countersign.db');
  const r = toolError(err, 'get_plan', (e, tool) => logged.push([e, tool]));
  assert.equal(r.isError, true);
  assert.doesNotMatch(text(r), /SQLITE|countersign\.db/);
  assert.match(text(r), /internal error.*\[INTERNAL\]/);
  assert.deepEqual(logged, [[err, 'get_plan']]);
});

test('an INTERNAL CountersignError is treated as unexpected too', () => {
  const logged: unknown[] = [];
  const r = toolError(new CountersignError('INTERNAL', 'stack trace here'), 'execute_plan', (e) => logged.push(e));
  assert.doesNotMatch(text(r), /stack trace/);
  assert.equal(logged.length, 1);
});
