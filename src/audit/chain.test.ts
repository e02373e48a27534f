import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { canonicalEntryText, entryHash, jcsString } from './chain.ts';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

test('the fast entry hash equals SHA-256 of the general RFC 8785 form, for awkward strings too', () => {
  const samples = ['plain', 'quote " and \\\\ backslash', 'ctrl \u0001\u001f\n\t', 'unicode é 漢字 😀', '\u2028\u2029', '</script>', ''];
  let seq = 1;
  for (const s of samples) {
    const e = {
      seq: seq++,
      ts: '2026-01-01T00:00:00.000Z',
      tenantId: s,
      actor: s,
      action: 'plan.propose',
      outcome: 'allowed',
      resource: s,
      details: `{"x":${JSON.stringify(s)}}`,
      prevHash: 'p'.repeat(64),
    };
    assert.equal(entryHash(e), sha(canonicalEntryText(e)), JSON.stringify(s));
  }
  const big = {
    seq: 9007199254740991,
    ts: 't',
    tenantId: 't',
    actor: 'a',
    action: 'x',
    outcome: 'o',
    resource: 'r',
    details: '{}',
    prevHash: '0',
  };
  assert.equal(entryHash(big), sha(canonicalEntryText(big)));
});

test('refuses a lone surrogate like the general implementation does', () => {
  const e = { seq: 1, ts: 't', tenantId: 't', actor: '\ud800', action: 'x', outcome: 'o', resource: 'r', details: '{}', prevHash: '0' };
  assert.throws(() => entryHash(e));
  assert.throws(() => canonicalEntryText(e));
});

test('a string quoted as it is reads exactly as JSON.stringify writes it, for every character and mix', () => {
  const mismatches: string[] = [];
  const check = (s: string) => {
    if (jcsString(s) !== JSON.stringify(s)) mismatches.push(JSON.stringify(s));
  };
  // Every BMP code point alone and between ASCII letters (the quoted-as-is path must never take
  // one JSON escapes), and the escapes JSON writes at the edges of the as-is range.
  for (let c = 0; c <= 0xffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const ch = String.fromCharCode(c);
    check(ch);
    check(`a${ch}b`);
  }
  for (const s of ['', ' ', '~', '!#', '[]', '"', '\\\\', 'tab\there', 'del\u007f', 'nul\u0000', '😀', '2026-12-07T23:52:29.789Z'])
    check(s);
  assert.deepEqual(mismatches.slice(0, 10), []);
  assert.throws(() => jcsString('\ud800'), /lone surrogate/);
});
