// Issue 14, delivery: the outbox survives a kill -9 of a real serve process between the change
// and the send; the documented webhook receiver verifies what is sent (the exact code of
// docs/notifications.md is run here); email goes over real SMTP to a local server; a failing
// channel is retried with backoff, then marked dead and shown as failing.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkNotificationChannels } from '../src/doctor/notifications.ts';
import { recordNotification } from '../src/notifications/index.ts';
import { initDataDir } from '../src/server/init.ts';
import { FakeSmtp } from './support/chat-fakes.ts';
import { ENGINES } from './support/engines.ts';
import { rawSql } from './support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer, tempDir } from './support/server.ts';

async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(30);
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** The receiver exactly as docs/notifications.md documents it. */
function documentedReceiver(): string {
  const doc = readFileSync(new URL('../docs/notifications.md', import.meta.url), 'utf8');
  const block = /<!-- receiver:start -->\s*```js\n([\s\S]*?)```\s*<!-- receiver:end -->/.exec(doc)?.[1];
  assert.ok(block, 'docs/notifications.md has the receiver block');
  assert.ok(block.trim().split('\n').length <= 10, 'the documented receiver is at most 10 lines');
  return block;
}

function spawnProcess(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<unknown> } {
  // Its own process group, so kill -9 takes the supervisor, the API and the executor at once.
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.on('exit', r));
  return { child, output: () => out, exited };
}

const HOOK_SECRET = 'webhook-secret-for-tests';
const BIN = new URL('../bin/countersign.js', import.meta.url).pathname;

describe('the outbox survives kill -9 of a real serve process; the documented receiver verifies the webhook', () => {
  const dir = join(tempDir(), 'data');
  const env = { ...process.env, CS_HOOK_SECRET: HOOK_SECRET };
  let port = 0;
  const writeSettings = (pollMilliseconds: number) =>
    writeFileSync(
      join(dir, 'notifications.yaml'),
      `channels:\n  siem: { type: webhook, url: "http://127.0.0.1:${port}/hook", secret: env:CS_HOOK_SECRET }\nroutes:\n  - { channels: [siem] }\ndelivery: { pollMilliseconds: ${pollMilliseconds}, backoffBaseMilliseconds: 50 }\n`,
    );
  const serve = async (command: 'serve' | 'api') => {
    // The built CLI (dist/, as `npm ci` builds it): a real deployment's process, started fast.
    const p = spawnProcess([BIN, command, '--dir', dir, '--port', '0', '--json'], env);
    const url = await waitFor('serve to listen', () => /"url":\s*"([^"]+)"/.exec(p.output())?.[1], 30_000);
    return { ...p, url };
  };
  const killGroup = async (p: { child: ChildProcess; exited: Promise<unknown> }, signal: NodeJS.Signals) => {
    try {
      process.kill(-(p.child.pid as number), signal);
    } catch {
      // already gone
    }
    await p.exited;
  };

  test('a plan proposed just before a kill -9 is delivered, signed, by the next start', async () => {
    const init = await initDataDir(dir, {});
    port = await freePort();
    // The first process never sends in time: its dispatcher looks once at start, then waits a minute.
    writeSettings(60_000);
    const first = await serve('serve');
    const res = await fetch(`${first.url}/v1/plans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${init.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(echoPlan('survive', 'staging')),
    });
    assert.equal(res.status, 201);
    const plan = (await res.json()) as { id: string };
    await killGroup(first, 'SIGKILL');
    const waiting = await rawSql(
      { dir, databaseUrl: undefined },
      'select kind from notification_outbox where subject = ? and expanded_at is null',
      [`plan:${plan.id}`],
    );
    assert.deepEqual(
      waiting.map((r) => r.kind),
      ['plan.pending'],
      'the event committed with the plan and was not sent',
    );

    const receiverFile = join(dir, '..', 'receiver.mjs');
    writeFileSync(receiverFile, documentedReceiver());
    const receiver = spawnProcess([receiverFile], { ...process.env, COUNTERSIGN_WEBHOOK_SECRET: HOOK_SECRET, PORT: String(port) });
    writeSettings(50);
    let second: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      await waitFor(
        'receiver to listen',
        async () => (await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' }).catch(() => null))?.status === 401,
      );
      second = await serve('api'); // the API alone runs the dispatcher
      const line = await waitFor('the delivery', () =>
        receiver
          .output()
          .split('\n')
          .find((l) => l.includes(plan.id)),
      );
      const delivered = JSON.parse(line);
      assert.equal(delivered.kind, 'plan.pending');
      assert.equal(delivered.subject, `plan:${plan.id}`);
      // The documented receiver refuses a forged body and a stale timestamp.
      const ts = String(Math.floor(Date.now() / 1000));
      const forged = await fetch(`http://127.0.0.1:${port}/hook`, {
        method: 'POST',
        headers: { 'x-countersign-timestamp': ts, 'x-countersign-signature': `v1=${'0'.repeat(64)}` },
        body: line,
      });
      assert.equal(forged.status, 401);
      const { signWebhook } = await import('../src/notifications/index.ts');
      const old = String(Math.floor(Date.now() / 1000) - 3600);
      const stale = await fetch(`http://127.0.0.1:${port}/hook`, {
        method: 'POST',
        headers: { 'x-countersign-timestamp': old, 'x-countersign-signature': signWebhook(HOOK_SECRET, old, line) },
        body: line,
      });
      assert.equal(stale.status, 401);
      const sent = await waitFor('the delivery to be recorded sent', async () => {
        const rows = await rawSql(
          { dir, databaseUrl: undefined },
          'select status, attempts from notification_deliveries where subject = ?',
          [`plan:${plan.id}`],
        );
        return rows[0]?.status === 'sent' ? rows : undefined;
      });
      assert.deepEqual(sent, [{ status: 'sent', attempts: 1 }]);
    } finally {
      if (second) await killGroup(second, 'SIGKILL');
      await killGroup(receiver, 'SIGTERM');
    }
  });
});

// The queue's engine-specific queries run on both engines in test/chat-store.test.ts.
for (const engine of ENGINES.slice(0, 1)) {
  describe(`delivery on ${engine.name}: email over SMTP, retries with backoff, a failing channel shown, dedup`, {
    skip: engine.skip,
  }, () => {
    let s: TestServer;
    let smtp: FakeSmtp;
    before(async () => {
      smtp = await new FakeSmtp().start();
      const closed = await freePort();
      s = await startTestServer(engine, {
        env: { ...process.env, CS_HOOK_SECRET: HOOK_SECRET },
        configure: (dir) =>
          writeFileSync(
            join(dir, 'notifications.yaml'),
            `channels:
  mail: { type: email, host: 127.0.0.1, port: ${smtp.port}, requireTls: false, from: countersign@example.test, to: [oncall@example.test] }
  broken: { type: webhook, url: "http://127.0.0.1:${closed}/hook", secret: env:CS_HOOK_SECRET }
routes:
  - { environments: [staging], channels: [mail, broken] }
delivery: { pollMilliseconds: 20, backoffBaseMilliseconds: 30, maxAttempts: 3, timeoutMilliseconds: 2000 }
`,
          ),
      });
      s.ctx.dispatcher?.start();
    });
    after(async () => {
      await s?.close();
      await smtp?.close();
    });

    test('email arrives over SMTP; the unreachable webhook is retried with backoff, then dead and reported failing', async () => {
      const r = await s.request('POST', '/v1/plans', { body: echoPlan('mail', 'staging') });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const mail = await waitFor('the email', () => smtp.messages.find((m) => m.data.includes(r.body.id)));
      assert.deepEqual(mail.to, ['oncall@example.test']);
      assert.match(mail.data, /Subject: \[Countersign\] Plan [\s\S]* needs review/);
      const dead = await waitFor('the broken channel to give up', async () => {
        const rows = await rawSql(s, "select status, attempts, last_error from notification_deliveries where channel = 'broken'");
        return rows[0]?.status === 'dead' ? rows[0] : undefined;
      });
      assert.equal(Number(dead.attempts), 3);
      assert.ok(dead.last_error);
      const channels = await s.request('GET', '/v1/notifications/channels');
      assert.equal(channels.status, 200, JSON.stringify(channels.body));
      const byName = Object.fromEntries(channels.body.channels.map((c: any) => [c.channel, c]));
      assert.equal(byName.broken.ok, false);
      assert.equal(byName.broken.dead, 1);
      assert.equal(byName.mail.ok, true);
      assert.equal(byName.mail.sent, 1);
      const doctor = await checkNotificationChannels(s.ctx.store, s.dir, { ...process.env, CS_HOOK_SECRET: HOOK_SECRET });
      assert.equal(doctor.result, 'FAIL');
      assert.match(doctor.evidence, /broken: 1 dead/);
      // Plans in other environments match no route: nothing is queued for them.
      await s.request('POST', '/v1/plans', { body: echoPlan('quiet', 'dev') });
    });

    test('the same change reported twice is one event', async () => {
      const report = { operation: 'plan.expire', resource: 'plan:pln_dedup', details: {}, actor: 'system', at: new Date() };
      for (let i = 0; i < 2; i++)
        await s.ctx.store.transaction(s.init.tenantId, (tx) => recordNotification(tx, report, (p) => s.ctx.runtime.newId(p)));
      const rows = await rawSql(s, "select kind from notification_outbox where subject = 'plan:pln_dedup'");
      assert.deepEqual(
        rows.map((r) => r.kind),
        ['plan.expired'],
      );
    });
  });
}
