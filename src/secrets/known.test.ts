import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KnownSecrets, logLineRedactor, redactCredentialShapes, redactForPrompt } from './known.ts';
import { REDACTED } from './redact.ts';

const A = 'first-Secret-9f8e7d6c';
const B = 'second-Secret-1a2b3c4d';

describe('KnownSecrets', () => {
  it('redacts every value added, in all forms, and credential shapes always', () => {
    const known = new KnownSecrets();
    assert.equal(known.redact(`x ${A}`), `x ${A}`, 'nothing known yet');
    known.add([A]);
    known.add([B, A]);
    const b64 = Buffer.from(B).toString('base64');
    assert.equal(known.redact(`${A.toUpperCase()} ${b64} AKIAIOSFODNN7EXAMPLE`), `${REDACTED} ${REDACTED} ${REDACTED}`);
  });

  it('is bounded: the oldest value falls out once the limit is passed', () => {
    const [one, two, three, four] = ['alpha-7Q2wX9', 'bravo-3Zk8Lm', 'charlie-5Nf1Rt', 'delta-8Hy4Vp'];
    const known = new KnownSecrets(2);
    known.add([one, two, three]);
    assert.equal(known.redact(one), one);
    assert.equal(known.redact(two), REDACTED);
    // Adding a known value again makes it the most recent rather than growing the set.
    known.add([two, four]);
    assert.equal(known.redact(two), REDACTED);
    assert.equal(known.redact(three), three);
  });

  it('redacts a JSON-like value without changing its shape', () => {
    const known = new KnownSecrets();
    known.add([A]);
    assert.deepEqual(known.redactValue({ reason: `saw ${A}`, n: 3, list: [A] }), { reason: `saw ${REDACTED}`, n: 3, list: [REDACTED] });
  });
});

describe('redactForPrompt', () => {
  it('removes given values, the values a KnownSecrets holds, and credential shapes', () => {
    const alert = `disk full on db; DSN postgres://app:${A}@db:5432/x; token ${B.split('').join(' ')}`;
    assert.equal(redactForPrompt(alert, [B]), `disk full on db; DSN postgres://app:${REDACTED}@db:5432/x; token ${REDACTED}`);
    const known = new KnownSecrets();
    known.add([A]);
    assert.equal(redactForPrompt(`echo ${[...A].reverse().join('')}`, known), `echo ${REDACTED}`);
    assert.equal(redactForPrompt('ghp_0123456789abcdefghijABCDEFGHIJ012345'), REDACTED);
  });
});

describe('log lines', () => {
  it('stay one line each after redaction, even when a pattern runs to the end', () => {
    const known = new KnownSecrets();
    const redact = logLineRedactor(known);
    assert.equal(redact('{"msg":"-----BEGIN PRIVATE KEY-----\\nMIIE"}\n'), `{"msg":"${REDACTED}\n`);
    assert.equal(redact('plain line\n'), 'plain line\n');
    assert.equal(redactCredentialShapes('url redis://:pw-123456@cache:6379'), `url redis://:${REDACTED}@cache:6379`);
  });
});
