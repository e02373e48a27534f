import assert from 'node:assert/strict';
import { test } from 'node:test';
import { principalNameKey } from './name-key.ts';

test('names that a reviewer list cannot tell apart share one key', () => {
  for (const [a, b] of [
    ['alice', 'Alice'],
    ['alice', 'ALICE'],
    ['bob', 'b0b'],
    ['alice', 'a1ice'],
    ['alice', 'aIice'],
    ['marco', 'rnarco'],
    ['wendy', 'vvendy'],
    ['ｃａｒｏｌ', 'carol'],
  ]) {
    assert.equal(principalNameKey(a!), principalNameKey(b!), `${a} / ${b}`);
  }
});

test('different names keep different keys', () => {
  for (const [a, b] of [
    ['alice', 'alicia'],
    ['bob', 'rob'],
    ['ci-bot', 'cd-bot'],
  ]) {
    assert.notEqual(principalNameKey(a!), principalNameKey(b!), `${a} / ${b}`);
  }
});
