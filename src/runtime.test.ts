import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sortableId, systemRuntime } from './runtime.ts';

test('ids drawn from pooled randomness are all distinct across refills, and sort by time', () => {
  // 5,000 ids draw 50 KB: the 4 KiB pool is refilled a dozen times.
  const ids = Array.from({ length: 5000 }, () => systemRuntime.newId('pln'));
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^pln_[0-9a-hjkmnp-tv-z]{26}$/);
  // The random part of consecutive ids shares no 10-byte slice (no slice handed out twice).
  const tails = ids.map((id) => id.slice(-16));
  assert.equal(new Set(tails).size, tails.length);
  const early = sortableId('x', 1_000, Buffer.alloc(10, 0xff));
  const late = sortableId('x', 2_000, Buffer.alloc(10, 0));
  assert.ok(early < late);
});
