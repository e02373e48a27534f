import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processLogLine, withLogFields } from './process-log.ts';

test('a terminal gets text, a pipe gets JSON, and COUNTERSIGN_LOG_FORMAT decides when set', () => {
  const fields = { process: 'executor', owner: 'vm:1:x' };
  const text = withLogFields({ executionId: 'exe_1' }, () => processLogLine('step 1 started', fields, {}, {}, true));
  assert.equal(text, 'executor: step 1 started (executionId=exe_1)');
  const json = JSON.parse(withLogFields({ executionId: 'exe_1' }, () => processLogLine('step 1 started', fields, {}, {}, false)));
  assert.equal(json.msg, 'step 1 started');
  assert.equal(json.executionId, 'exe_1');
  assert.equal(json.level, 30);
  assert.doesNotThrow(() => JSON.parse(processLogLine('x', fields, {}, { COUNTERSIGN_LOG_FORMAT: 'json' }, true)));
  assert.equal(processLogLine('x', fields, {}, { COUNTERSIGN_LOG_FORMAT: 'text' }, false), 'executor: x');
});

test('text lines are redacted like JSON lines', () => {
  const redact = (t: string) => t.replaceAll('s3cret', '[REDACTED]');
  assert.equal(
    processLogLine('token s3cret leaked', { process: 'supervisor' }, { redact }, {}, true),
    'supervisor: token [REDACTED] leaked',
  );
});
