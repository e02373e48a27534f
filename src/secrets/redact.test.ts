import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedactor, createStreamRedactor, REDACTED } from './redact.ts';

const SECRET = 'hunter2-Sup3r/S3cret+value';

describe('createRedactor', () => {
  const redact = createRedactor([SECRET]);

  it('removes the exact value', () => {
    assert.equal(redact(`token=${SECRET}; next`), `token=${REDACTED}; next`);
  });

  it('removes its base64, base64url, URL-encoded, hex and JSON-escaped forms', () => {
    const b64 = Buffer.from(SECRET).toString('base64');
    const b64url = Buffer.from(SECRET).toString('base64url');
    const forms = [
      b64,
      b64url,
      encodeURIComponent(SECRET),
      Buffer.from(SECRET).toString('hex'),
      Buffer.from(SECRET).toString('hex').toUpperCase(),
    ];
    for (const form of forms) assert.equal(redact(`x ${form} y`), `x ${REDACTED} y`, form);
    const quoted = createRedactor(['pa"ss\\word']);
    assert.equal(quoted(JSON.stringify({ p: 'pa"ss\\word' })), `{"p":"${REDACTED}"}`);
  });

  it('removes the secret inside a longer base64 blob, at every alignment', () => {
    for (const prefix of ['', 'a', 'ab', 'abc', 'user:']) {
      const blob = Buffer.from(`${prefix}${SECRET}!trailer`).toString('base64');
      const out = redact(blob);
      assert.ok(out.includes(REDACTED), `prefix ${JSON.stringify(prefix)}: ${out}`);
      // What is left cannot be decoded back into the secret.
      assert.ok(!Buffer.from(out.replace(REDACTED, ''), 'base64').toString('latin1').includes(SECRET.slice(2, -2)));
    }
  });

  it('removes known credential shapes without being told the value', () => {
    const samples = [
      'AKIAIOSFODNN7EXAMPLE',
      `ghp_${'a1B2'.repeat(9)}`,
      `github_pat_${'x'.repeat(30)}`,
      'xoxb-1234567890-abcdefghij',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----',
    ];
    const none = createRedactor([]);
    for (const s of samples) assert.equal(none(`before ${s} after`), `before ${REDACTED} after`, s);
    assert.equal(none('Authorization: Bearer abc.def-ghi_jkl'), `Authorization: Bearer ${REDACTED}`);
    assert.equal(none('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'), `aws_secret_access_key = ${REDACTED}`);
    assert.equal(none('-----BEGIN PRIVATE KEY-----\nMIIE truncated'), REDACTED);
  });

  it('leaves ordinary text alone', () => {
    const text = 'deployment.apps/api restarted\nreplicas: 3\nBearer of bad news';
    assert.equal(redact(text), text);
  });
});

describe('createStreamRedactor', () => {
  const run = (secrets: string[], chunks: string[]): string => {
    const r = createStreamRedactor(secrets);
    return chunks.map((c) => r.write(c)).join('') + r.flush();
  };

  it('redacts a secret split across two chunks at every position', () => {
    const text = `start ${SECRET} end ${'.'.repeat(600)}`;
    for (let cut = 1; cut < text.length; cut += 3) {
      const out = run([SECRET], [text.slice(0, cut), text.slice(cut)]);
      assert.equal(out, text.replace(SECRET, REDACTED), `cut at ${cut}`);
    }
  });

  it('redacts a token pattern delivered one character at a time', () => {
    const token = `ghp_${'Z9'.repeat(18)}`;
    const out = run([], [...`x Bearer ${token} y`]);
    assert.equal(out, `x Bearer ${REDACTED} y`);
  });

  it('emits complete lines at once and holds only what could still become a secret', () => {
    const r = createStreamRedactor([SECRET]);
    assert.equal(r.write('started\n'), 'started\n');
    assert.equal(r.write(`progress ${SECRET.slice(0, 5)}`), '');
    assert.equal(r.write(`${SECRET.slice(5)} done\nnext`), `progress ${REDACTED} done\n`);
    assert.equal(r.flush(), 'next');
    const multiline = createStreamRedactor(['line-one\nline-two']);
    assert.equal(multiline.write('x line-one\n'), 'x ');
    assert.equal(multiline.write('line-two y\n') + multiline.flush(), `${REDACTED} y\n`);
  });

  it('emits output as it goes once past the hold-back window', () => {
    const r = createStreamRedactor([SECRET]);
    const emitted = r.write('a'.repeat(5000));
    assert.ok(emitted.length > 4000);
    assert.equal(emitted + r.flush(), 'a'.repeat(5000));
  });
});
