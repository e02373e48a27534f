import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base32, findLeaks } from '../../test/support/leaks.ts';
import { createRedactor, createStreamRedactor, REDACTED, redactionRules, redactValue } from './redact.ts';

const SECRET = 'hunter2-Sup3r/S3cret+value';
const SPACED = 'correct horse/battery staple 9!';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const sep = (text: string, by: string) => [...text].join(by);
const rev = (text: string) => [...text].reverse().join('');

/** Every way the adversarial pass printed a secret, by name. */
export function printedForms(secret: string): Record<string, string> {
  const bytes = Buffer.from(secret);
  const hex = bytes.toString('hex');
  const pairs = hex.match(/../g) ?? [];
  const forms: Record<string, string> = {
    plain: secret,
    upper: secret.toUpperCase(),
    lower: secret.toLowerCase(),
    reversed: rev(secret),
    'reversed upper': rev(secret).toUpperCase(),
    hex,
    'hex upper': hex.toUpperCase(),
    'hex colons': pairs.join(':'),
    'hex spaces': pairs.join(' '),
    'hex \\x': pairs.map((p) => `\\x${p}`).join(''),
    'hex 0x list': pairs.map((p) => `0x${p.toUpperCase()}`).join(', '),
    'percent every byte': pairs.map((p) => `%${p.toUpperCase()}`).join(''),
    base64: b64(secret),
    'base64 unpadded': b64(secret).replace(/=+$/, ''),
    base64url: bytes.toString('base64url'),
    'base64url padded': bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_'),
    base32: base32(bytes).padEnd(Math.ceil(base32(bytes).length / 8) * 8, '='),
    'base32 unpadded': base32(bytes),
    'base32 lower': base32(bytes).toLowerCase(),
    'dash separated': sep(secret, '-'),
    'space separated': sep(secret, ' '),
    'one per line': sep(secret, '\n'),
    'python list': `[${[...secret].map((c) => `'${c}'`).join(', ')}]`,
    'reversed dotted': sep(rev(secret), '.'),
    'upper pipes': sep(secret.toUpperCase(), '|'),
    'url-encoded': encodeURIComponent(secret),
    'url-encoded keeping slashes': encodeURIComponent(secret).replace(/%2F/g, '/'),
    'url-encoded plus': encodeURIComponent(secret).replace(/%20/g, '+'),
    'url-encoded lower hex': encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    json: JSON.stringify(secret),
  };
  for (let k = 0; k < 3; k++) forms[`base64 embedded at ${k}`] = b64(`${'p'.repeat(k + 3)}${secret}!trailer`);
  for (let k = 0; k < 3; k++) {
    forms[`base64url embedded at ${k}`] = Buffer.from(`${'q'.repeat(k + 1)}${secret}~~`).toString('base64url');
  }
  for (let k = 0; k < 5; k++) forms[`base32 embedded at ${k}`] = base32(Buffer.from(`${'r'.repeat(k + 5)}${secret}#tail`));
  // coreutils `base64` wraps at 76 columns: a long prefix puts the break inside the secret.
  const wrapped = b64(`${'w'.repeat(40)}${secret}${'z'.repeat(40)}`);
  forms['base64 wrapped'] = wrapped.replace(/.{76}/g, '$&\n');
  return forms;
}

describe('createRedactor: every printed form of an injected secret', () => {
  for (const secret of [SECRET, SPACED]) {
    const redact = createRedactor([secret]);
    for (const [name, form] of Object.entries(printedForms(secret))) {
      it(`removes ${JSON.stringify(secret).slice(0, 12)}… ${name}`, () => {
        const out = redact(`before: ${form} :after\n`);
        assert.deepEqual(findLeaks(out, secret), [], `${name}: ${out}`);
        assert.ok(out.includes(REDACTED), out);
        assert.ok(out.startsWith('before: ') || out.startsWith('before:'), out);
      });
    }
  }

  it('removes a half of the secret wherever it lands (pieces of 11 characters or more)', () => {
    const redact = createRedactor([SECRET]);
    for (let cut = 11; cut <= SECRET.length - 11; cut++) {
      for (const piece of [SECRET.slice(0, cut), SECRET.slice(cut)]) {
        const out = redact(`x ${piece} y`);
        assert.deepEqual(findLeaks(out, SECRET), [], out);
      }
    }
  });

  it('leaves ordinary text alone', () => {
    const redact = createRedactor([SECRET, SPACED]);
    const text = [
      'deployment.apps/api restarted',
      'replicas: 3 value=ok',
      'Bearer of bad news',
      'commit 3f786850e387550fdab836ed7e6dc881de23001b',
      'sha256:3F786850E387550FDAB836ED7E6DC881DE23001B',
      'see https://example.com:8443/path?q=1 and ssh://git@host:22/repo',
      'C:\\Program Files\\App',
    ].join('\n');
    assert.equal(redact(text), text);
  });
});

describe('known credential shapes', () => {
  const none = createRedactor([]);

  it('keeps scheme, user and host of any URL with credentials and redacts the password', () => {
    const cases: [string, string][] = [
      ['postgres://app:s3cr3t-pw@db.internal:5432/prod', `postgres://app:${REDACTED}@db.internal:5432/prod`],
      ['mysql://root:p@ss@w0rd@10.0.0.5/x', `mysql://root:${REDACTED}@10.0.0.5/x`],
      ['redis://:only-a-password@cache:6379', `redis://:${REDACTED}@cache:6379`],
      ['amqps://svc:Zm9vYmFy%2Fx@mq.example.com/vhost', `amqps://svc:${REDACTED}@mq.example.com/vhost`],
      ['DATABASE_URL="postgresql://u:pw12345@h/db"', `DATABASE_URL="postgresql://u:${REDACTED}@h/db"`],
      ['https://deploy:ghs_token@github.com/org/repo.git', `https://deploy:${REDACTED}@github.com/org/repo.git`],
      ['GET /x?dsn=postgres%3A%2F%2Fapp%3Ap%40ss-9%40db%2Fprod&y=1', `GET /x?dsn=postgres%3A%2F%2Fapp%3A${REDACTED}%40db%2Fprod&y=1`],
    ];
    for (const [input, expected] of cases) assert.equal(none(input), expected);
  });

  it('redacts an AWS secret access key without a label, but not hex digests or words', () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    assert.equal(none(`key ${key} end`), `key ${REDACTED} end`);
    assert.equal(none(`"${key}"`), `"${REDACTED}"`);
    assert.equal(none(key), REDACTED);
    assert.equal(none('aws_secret_access_key = abcdefghijabcdefghijabcdefghijabcdefghij'), `aws_secret_access_key = ${REDACTED}`);
    const ordinary = [
      '3f786850e387550fdab836ed7e6dc881de23001b',
      '3F786850E387550FDAB836ED7E6DC881DE23001B',
      'abcdefghijklmnopqrstuvwxyzabcdefghijklmn',
      'ThisIsAVeryLongIdentifierWithoutDigitsAtA',
      `${key}X`,
      `base64 blob ${key}${key}`,
    ];
    for (const text of ordinary) assert.equal(none(text), text);
  });

  it('redacts AWS access key ids, Countersign API keys and the existing token shapes', () => {
    const csk = `csk_${'0123456789abcdefghijklmnop'}_${'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U-_'}`;
    assert.equal(none(`token: ${csk}`), `token: csk_0123456789abcdefghijklmnop_${REDACTED}`);
    assert.equal(none('csk_short-but-still-a-key-12345'), REDACTED);
    const samples = [
      'AKIAIOSFODNN7EXAMPLE',
      'ASIAIOSFODNN7EXAMPLE',
      `ghp_${'a1B2'.repeat(9)}`,
      `github_pat_${'x'.repeat(30)}`,
      'xoxb-1234567890-abcdefghij',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----',
    ];
    for (const s of samples) assert.equal(none(`before ${s} after`), `before ${REDACTED} after`, s);
    assert.equal(none('Authorization: Bearer abc.def-ghi_jkl'), `Authorization: Bearer ${REDACTED}`);
    assert.equal(none('-----BEGIN PRIVATE KEY-----\nMIIE truncated'), REDACTED);
  });

  it('redacts a URL user name that is itself a secret instead of keeping it', () => {
    const redact = createRedactor(['svc-user-0a9f7e']);
    const out = redact('postgres://svc-user-0a9f7e:pw-123456@db/x');
    assert.ok(!out.includes('svc-user-0a9f7e'), out);
    assert.ok(!out.includes('pw-123456'), out);
  });
});

describe('redactValue', () => {
  it('redacts every string of a JSON-like value, keys included, and keeps its shape', () => {
    const redact = createRedactor([SECRET]);
    const out = redactValue({ a: [SECRET, 1, null, { [SECRET]: `x${b64(SECRET)}` }], b: true }, redact);
    assert.deepEqual(out, { a: [REDACTED, 1, null, { [REDACTED]: `x${REDACTED}` }], b: true });
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { k: SECRET });
    class Holder {
      constructor(readonly held: string) {}
    }
    assert.deepEqual(redactValue({ bare, held: new Holder(SECRET) }, redact), { bare: { k: REDACTED }, held: { held: REDACTED } });
  });
});

describe('createStreamRedactor', () => {
  const rules = redactionRules([SECRET]);
  const run = (chunks: string[]): string => {
    const r = createStreamRedactor(rules);
    return chunks.map((c) => r.write(c)).join('') + r.flush();
  };

  it('redacts every form split across two chunks at every position', () => {
    const forms = printedForms(SECRET);
    for (const name of ['plain', 'reversed', 'hex colons', 'base64 embedded at 1', 'one per line', 'url-encoded', 'base32 lower']) {
      const text = `start ${forms[name]} end\n`;
      for (let cut = 1; cut < text.length; cut++) {
        const out = run([text.slice(0, cut), text.slice(cut)]);
        assert.deepEqual(findLeaks(out, SECRET), [], `${name} cut at ${cut}: ${out}`);
      }
    }
  });

  it('redacts a secret written one character per write, on one line and one per line', () => {
    assert.deepEqual(findLeaks(run([...`x ${SECRET} y`]), SECRET), []);
    const perLine = [...SECRET].map((c) => `${c}\n`);
    assert.deepEqual(findLeaks(run(perLine), SECRET), []);
  });

  it('redacts a secret split across stdout and stderr: each stream redacts its half', () => {
    for (let cut = 11; cut <= SECRET.length - 11; cut++) {
      const stdout = createStreamRedactor(rules);
      const stderr = createStreamRedactor(rules);
      const out = stdout.write(`${SECRET.slice(0, cut)}\n`) + stdout.flush();
      const err = stderr.write(`${SECRET.slice(cut)}\n`) + stderr.flush();
      assert.deepEqual(findLeaks(`${out}${err}`, SECRET), [], `cut ${cut}: ${out} | ${err}`);
      assert.deepEqual(findLeaks(`${out.trim()}${err.trim()}`, SECRET), []);
    }
  });

  it('redacts a credential URL and a token pattern delivered one character at a time', () => {
    const token = `ghp_${'Z9'.repeat(18)}`;
    assert.equal(run([...`x Bearer ${token} y`]), `x Bearer ${REDACTED} y`);
    assert.equal(run([...'db postgres://u:hunter22@h/x\n']), `db postgres://u:${REDACTED}@h/x\n`);
  });

  it('emits complete lines at once and holds only what could still become a secret', () => {
    const r = createStreamRedactor(rules);
    assert.equal(r.write('started\n'), 'started\n');
    assert.equal(r.write(`progress ${SECRET.slice(0, 5)}`), '');
    assert.equal(r.write(`${SECRET.slice(5)} done\nnext`), `progress ${REDACTED} done\n`);
    assert.equal(r.flush(), 'next');
    const multiline = createStreamRedactor(['line-one\nline-two']);
    assert.equal(multiline.write('x line-one\n'), 'x ');
    assert.equal(multiline.write('line-two y\n') + multiline.flush(), `${REDACTED} y\n`);
  });

  it('emits output as it goes once past the hold-back window', () => {
    const r = createStreamRedactor(rules);
    const emitted = r.write('a'.repeat(5000));
    assert.ok(emitted.length > 4000);
    assert.equal(emitted + r.flush(), 'a'.repeat(5000));
  });

  it('cannot be made to backtrack without end by output built against its own secret', { timeout: 120_000 }, () => {
    // A step knows its secret: it can print near-misses designed to make a careless pattern
    // explore every way to split them (ReDoS against the executor's event loop).
    const punct = '%+\\ %+\\ %+\\ %+\\ %+\\ %+\\ x';
    const r = createStreamRedactor([punct, 'a b c d e f g h i j k l m n o p']);
    const hostile = `${'%25+%2B\\\\ '.repeat(400)}${'a+ b+ c+ d+ '.repeat(400)}${'a%20b%20c%20d%20'.repeat(300)}`;
    for (let i = 0; i < 20; i++) r.write(hostile);
    r.flush();
  });
});
