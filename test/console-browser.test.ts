// Issue 13, end to end in Debian's Chromium (playwright-core): a real OIDC provider, the real API
// server on SQLite, a real executor. One browser for the whole file; one context per person.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureConsoleBuilt, freePort, launchChromium, seriousViolations } from './support/browser.ts';
import { writeConsoleConfig } from './support/console.ts';
import { ENGINES } from './support/engines.ts';
import { configureExecutor, type ExecutorChild, removeWorkRoot, signTestTools, spawnExecutor, stopChild } from './support/execution.ts';
import { oidcSectionFor, startTestIdp, type TestIdp, writeOidcConfig } from './support/oidc.ts';
import { addPrincipal } from './support/principals.ts';
import { rawSql } from './support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';
import { writeTestTools } from './support/tools.ts';

const SCREENSHOTS = join(import.meta.dirname, '..', 'docs', 'screenshots');

// ---- previews (issue 17) ----
const PRINTF = '/usr/bin/printf';
const PEEK_MANIFEST = `apiVersion: countersign/v1
kind: Tool
name: peek
version: 1.0.0
executable: { path: ${PRINTF}, sha256: ${createHash('sha256').update(readFileSync(PRINTF)).digest('hex')} }
actions:
  diff:
    argv: ["--", "--- live/replicas\\n+++ desired/replicas\\n@@ -1 +1 @@\\n-replicas: 2\\n+replicas: {{replicas}}\\n"]
    input: { properties: { replicas: { type: integer, minimum: 0, maximum: 50 } }, required: [replicas] }
    risk: low
  set:
    argv: ["--", "set %s\\n", "{{replicas}}"]
    input: { properties: { replicas: { type: integer, minimum: 0, maximum: 50 } }, required: [replicas] }
    risk: low
    preview: { action: diff }
`;

describe('reviewer console in Chromium', () => {
  let idp: TestIdp;
  let s: TestServer;
  let browser: Browser;
  let executor: ExecutorChild | undefined;
  let console_ = '';
  const people: Record<string, { id: string; key: string }> = {};
  const contexts: BrowserContext[] = [];
  /** CSP violations the browser reported on any console page (there must be none). */
  const cspErrors: string[] = [];

  before(async () => {
    ensureConsoleBuilt();
    const port = await freePort();
    // `localhost`, not 127.0.0.1: a WebAuthn relying party id must be a domain name.
    console_ = `http://localhost:${port}`;
    idp = await startTestIdp([], { webClients: [{ id: 'console', redirectUri: `${console_}/console/auth/oidc/callback` }] });
    s = await startTestServer(ENGINES[0]!, {
      port,
      configure: (dir) => {
        writeTestTools(dir);
        // previews (issue 17): a tool whose `set` is previewed by a `diff` that prints a unified diff.
        writeFileSync(join(dir, 'tools', 'peek.yaml'), PEEK_MANIFEST);
        signTestTools(dir);
        configureExecutor(dir, { pollMilliseconds: 50 });
        writeOidcConfig(dir, oidcSectionFor(idp));
        writeConsoleConfig(dir, {
          apiKeySignIn: true,
          oidc: { clientId: 'console', redirectUri: `${console_}/console/auth/oidc/callback`, scope: 'openid countersign' },
          // Step-up per environment: in prod every approval above low asks for the security key.
          stepUp: { risks: ['high', 'critical'], environments: { prod: ['medium', 'high', 'critical'] } },
        });
      },
    });
    people.rita = await addPrincipal(s, 'rita', 'human', ['approvers', 'operator']);
    people.sam = await addPrincipal(s, 'sam', 'human', ['approvers']);
    people.pat = await addPrincipal(s, 'pat', 'human', ['operator']);
    people.bot = await addPrincipal(s, 'deploy-bot', 'agent', ['agent', 'approvers']);
    browser = await launchChromium();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    if (executor) await stopChild(executor);
    if (s) removeWorkRoot(s.dir);
    await s?.close();
    await idp?.close();
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    return page;
  }

  async function keySignIn(page: Page, key: string): Promise<void> {
    await page.goto(`${console_}/#/sign-in`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in with key' }).click();
  }

  async function propose(key: string, plan: unknown): Promise<{ id: string; hash: string }> {
    const r = await s.request('POST', '/v1/plans', { key, body: plan });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  }

  /** Waits for the page's status message, failing with the page's alert when it shows one instead. */
  async function expectStatus(page: Page, text: string): Promise<void> {
    const outcome = page.getByRole('status').filter({ hasText: text }).or(page.getByRole('alert'));
    await outcome.first().waitFor();
    const alert = page.getByRole('alert');
    if ((await alert.count()) > 0) assert.fail(`expected "${text}", the page says: ${await alert.first().innerText()}`);
  }

  async function assertAccessible(page: Page, name: string): Promise<void> {
    const violations = await seriousViolations(page);
    assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
  }

  const plans: Record<string, { id: string; hash: string }> = {};
  let rita: Page;
  let sam: Page;

  test('a reviewer signs in through the OIDC provider (code + PKCE) and sees the plan in the inbox', async () => {
    plans.run = await propose(people.pat!.key, {
      intent: 'Restart the web tier',
      environment: 'staging',
      steps: [
        { tool: 'echo', action: 'say', input: { message: 'draining web-1' } },
        { tool: 'sleep', action: 'wait', input: { seconds: 1 } },
        { tool: 'echo', action: 'say', input: { message: 'web-1 restarted' } },
      ],
    });
    rita = await newPage();
    await rita.goto(`${console_}/`);
    await rita.getByRole('link', { name: 'Sign in with your identity provider' }).click();
    // oidc-provider's development login and consent pages.
    await rita.locator('input[name=login]').fill('rita');
    await rita.locator('input[name=password]').fill('any');
    await rita.locator('button[type=submit]').click();
    await rita.locator('button[type=submit]', { hasText: 'Continue' }).click();
    await rita.getByRole('heading', { level: 1, name: /Inbox/ }).waitFor();
    await rita.getByRole('link', { name: 'Restart the web tier' }).waitFor();
    assert.match(await rita.title(), /^\(1\) Inbox/);
    assert.match(await rita.locator('header').innerText(), /Signed in as rita/);
    const row = await rita.getByRole('row', { name: /Restart the web tier/ }).innerText();
    assert.match(row, /staging/);
    assert.match(row, /1 more from approvers \(0 of 1\)/);
    await rita.screenshot({ path: join(SCREENSHOTS, 'inbox.png') });
    await assertAccessible(rita, 'inbox');
    const entry = await rawSql(s, "select details from audit_log where action = 'console.sign-in' and outcome = 'allowed' and actor = ?", [
      people.rita!.id,
    ]);
    assert.equal(JSON.parse(entry[0].details).method, 'oidc');
  });

  test('a second reviewer has the same plan in their inbox', async () => {
    sam = await newPage();
    await keySignIn(sam, people.sam!.key);
    await sam.getByRole('link', { name: 'Restart the web tier' }).waitFor();
  });

  test('the plan page shows exact argv, tools, risk, seats, hash and the admitting decision; the reviewer approves', async () => {
    await rita.getByRole('link', { name: 'Restart the web tier' }).click();
    await rita.getByRole('heading', { level: 1, name: 'Restart the web tier' }).waitFor();
    const text = await rita.locator('main').innerText();
    assert.match(text, /echo 'draining web-1'|\/echo 'draining web-1'/);
    assert.match(text, /proposed by pat via api/);
    assert.ok(text.includes(plans.run!.hash), 'the full plan hash is shown');
    assert.match(text, /0 of 1 from approvers/);
    assert.match(text, /Admitted by\s+policies \S+/);
    assert.match(text, /step 1: echo\.say base/);
    const tools = await rita.getByRole('table').first().innerText();
    assert.match(tools, /echo/);
    assert.match(tools, /publisher-|[0-9a-f]{16}/, 'signers are named');
    await rita.screenshot({ path: join(SCREENSHOTS, 'plan.png'), fullPage: true });
    await assertAccessible(rita, 'plan page');
    await rita.getByRole('button', { name: 'Approve' }).click();
    await expectStatus(rita, 'Your approval was recorded.');
    const plan = await s.request('GET', `/v1/plans/${plans.run!.id}`);
    assert.equal(plan.body.status, 'approved');
    assert.equal(plan.body.approvals[0].channel, 'web');
    assert.equal(plan.body.approvals[0].planHash, plans.run!.hash);
  });

  test('the reviewer starts the approved plan and watches its steps finish live', async () => {
    await rita.getByRole('button', { name: 'Execute plan' }).click();
    await rita
      .getByRole('heading', { level: 1, name: /^Execution / })
      .or(rita.getByRole('alert'))
      .first()
      .waitFor();
    assert.equal(await rita.getByRole('alert').count(), 0, await rita.locator('main').innerText());
    executor = spawnExecutor(s.dir, s.databaseUrl);
    await rita
      .getByRole('list', { name: 'Execution events' })
      .getByText(/step\.started/)
      .first()
      .waitFor({ timeout: 30_000 });
    await rita.screenshot({ path: join(SCREENSHOTS, 'execution.png'), fullPage: true });
    await rita
      .getByRole('list', { name: 'Execution events' })
      .getByText(/execution\.finished/)
      .waitFor({ timeout: 30_000 });
    await rita.locator('#execution-status').getByText('succeeded').waitFor();
    const log = await rita.getByRole('list', { name: 'Execution events' }).innerText();
    assert.ok(log.indexOf('execution.started') < log.indexOf('execution.finished'));
    assert.match(await rita.locator('main').innerText(), /web-1 restarted/);
    await assertAccessible(rita, 'execution page');
  });

  test('the decided plan has left the second reviewer’s inbox', async () => {
    await sam.reload();
    await sam.getByText('Nothing waits for your review.').waitFor();
    assert.match(await sam.title(), /^\(0\) Inbox/);
  });

  test('the proposer sees no review form, and why', async () => {
    plans.own = await propose(people.pat!.key, echoPlan('own plan', 'staging'));
    const pat = await newPage();
    await keySignIn(pat, people.pat!.key);
    await pat.getByRole('heading', { level: 1, name: /Inbox/ }).waitFor();
    await pat.goto(`${console_}/#/plans/${plans.own.id}`);
    await pat.getByRole('heading', { name: 'You cannot approve this plan' }).waitFor();
    const why = await pat.locator('.cannot').innerText();
    assert.match(why, /separation of duties: the proposer cannot review their own plan/);
    assert.equal(await pat.getByRole('button', { name: 'Approve' }).count(), 0);
    await assertAccessible(pat, 'plan page without form');
  });

  // ---- previews (issue 17) ----
  test('the plan page shows each step’s preview, a unified diff with its +/- lines marked', async () => {
    const previewed = await propose(people.pat!.key, {
      intent: 'Scale the web tier',
      environment: 'staging',
      steps: [{ tool: 'peek', action: 'set', input: { replicas: 5 } }],
    });
    for (let i = 0; i < 300; i++) {
      if ((await s.request('GET', `/v1/plans/${previewed.id}`)).body.status === 'pending_approval') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await sam.goto(`${console_}/#/plans/${previewed.id}`);
    await sam.getByRole('heading', { name: /Previews/ }).waitFor();
    assert.match(await sam.locator('.diff .diff-add').innerText(), /^\+replicas: 5\s*$/);
    assert.match(await sam.locator('.diff .diff-del').innerText(), /^-replicas: 2\s*$/);
    await assertAccessible(sam, 'plan page with a preview');
  });

  test('an agent key cannot sign in to approve', async () => {
    const bot = await newPage();
    await keySignIn(bot, people.bot!.key);
    await bot
      .getByRole('alert')
      .filter({ hasText: /only people sign in/ })
      .waitFor();
    assert.equal((await bot.context().cookies()).length, 0);
    await assertAccessible(bot, 'sign-in page');
  });

  test('a forged cross-site POST carries no session and changes nothing', async () => {
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form method="post" action="${console_}/console/api/plans/${plans.own!.id}/review">
        <input name="decision" value="approve"><input name="planHash" value="${plans.own!.hash}"></form>
        <script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    try {
      // sam may review this plan, and is signed in: the forged request rides in sam's browser.
      await sam.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      await sam.waitForURL(/\/console\/api\/plans\//);
      assert.match(await sam.locator('body').innerText(), /UNAUTHENTICATED|CSRF_REFUSED/);
      // And a cross-site fetch that tries to send the cookie is refused the same way.
      await sam.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    } finally {
      evil.close();
    }
    const votes = await rawSql(s, 'select count(*) as n from approvals where plan_id = ?', [plans.own!.id]);
    assert.equal(Number(votes[0].n), 0);
  });

  test('a replayed approval is refused', async () => {
    const replay = await propose(people.pat!.key, echoPlan('replay me', 'staging'));
    await sam.goto(`${console_}/#/plans/${replay.id}`);
    const captured = sam.waitForRequest((r) => r.url().endsWith('/review') && r.method() === 'POST');
    await sam.getByRole('button', { name: 'Reject' }).click();
    const request = await captured;
    await expectStatus(sam, 'Your rejection was recorded.');
    const headers = await request.allHeaders();
    const again = await fetch(request.url(), { method: 'POST', headers, body: request.postData() ?? '' });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as any).error.code, 'REVIEW_REPLAYED');
  });

  test('a plan changed after the page showed it is refused with a clear message', async () => {
    const changed = await propose(people.pat!.key, echoPlan('change me', 'staging'));
    await sam.goto(`${console_}/#/plans/${changed.id}`);
    await sam.getByRole('button', { name: 'Approve' }).waitFor();
    const doc = (await rawSql(s, 'select document from plans where id = ?', [changed.id]))[0].document as string;
    const edited = doc.replace('change me', 'changed!!');
    await rawSql(s, 'update plans set document = ?, hash = ? where id = ?', [
      edited,
      createHash('sha256').update(edited).digest('hex'),
      changed.id,
    ]);
    await sam.getByRole('button', { name: 'Approve' }).click();
    await sam.getByRole('alert').first().waitFor();
    assert.match(await sam.getByRole('alert').first().innerText(), /This plan changed after you opened it/);
    assert.equal((await s.request('GET', `/v1/plans/${changed.id}`)).body.status, 'pending_approval');
  });

  test('a high-risk approval is refused without the WebAuthn step-up and accepted with it', async () => {
    const risky = await propose(people.pat!.key, echoPlan('prod change', 'prod'));
    await sam.goto(`${console_}/#/plans/${risky.id}`);
    await sam.getByText('Approving it asks for your security key').waitFor();
    // Without a registered key the step-up cannot be answered: refused, nothing recorded.
    await sam.getByRole('button', { name: 'Approve' }).click();
    await sam
      .getByRole('alert')
      .filter({ hasText: /register a security key/ })
      .waitFor();
    // A request that skips the step-up altogether is refused by the server too.
    const skipped = await sam.evaluate(async ({ id, hash }) => {
      const session = (await (await fetch('/console/api/session')).json()) as any;
      const page = (await (await fetch(`/console/api/plans/${id}`)).json()) as any;
      const res = await fetch(`/console/api/plans/${id}/review`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: JSON.stringify({ decision: 'approve', planHash: hash, reviewToken: page.reviewToken }),
      });
      return { status: res.status, body: (await res.json()) as any };
    }, risky);
    assert.equal(skipped.status, 403);
    assert.equal(skipped.body.error.code, 'STEP_UP_REQUIRED');
    assert.equal(Number((await rawSql(s, 'select count(*) as n from approvals where plan_id = ?', [risky.id]))[0].n), 0);

    // Chromium's virtual authenticator (CDP WebAuthn domain) plays the security key.
    const cdp = await sam.context().newCDPSession(sam);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    await sam.goto(`${console_}/#/profile`);
    await sam.getByLabel('Key name').fill('virtual key');
    await sam.getByRole('button', { name: 'Register a security key' }).click();
    await expectStatus(sam, 'Security key registered.');
    await assertAccessible(sam, 'profile page');

    await sam.goto(`${console_}/#/plans/${risky.id}`);
    await sam.getByRole('button', { name: 'Approve' }).click();
    await expectStatus(sam, 'Your approval was recorded.');
    const votes = await rawSql(s, 'select reviewer_id, plan_hash from approvals where plan_id = ?', [risky.id]);
    assert.deepEqual(
      votes.map((v) => [v.reviewer_id, v.plan_hash]),
      [[people.sam!.id, risky.hash]],
    );
    const stepUp = await rawSql(s, "select details from audit_log where action = 'webauthn.step-up' and resource = ?", [
      `plan:${risky.id}`,
    ]);
    assert.equal(JSON.parse(stepUp[0].details).planHash, risky.hash);
  });

  test('every other page has no serious or critical accessibility violation, at desktop and phone width', async () => {
    // An admin who is also an auditor may read the audit log and the admin pages (decided by policy).
    const ada = await addPrincipal(s, 'ada', 'human', ['admin', 'auditor']);
    const admin = await newPage();
    await keySignIn(admin, ada.key);
    await admin.getByRole('heading', { level: 1, name: /Inbox/ }).waitFor();
    for (const [path, heading] of [
      ['#/plans', 'Plans'],
      ['#/executions', 'Executions'],
      ['#/audit', 'Audit log'],
      ['#/admin', 'Administration (read-only)'],
    ] as const) {
      await admin.goto(`${console_}/${path}`);
      await admin.getByRole('heading', { level: 1, name: heading }).waitFor();
      await admin.waitForLoadState('networkidle');
      if (path === '#/audit') await admin.getByText(/Verified: \d+ entries/).waitFor();
      assert.equal(await admin.getByRole('alert').count(), 0, `${path}: ${await admin.locator('main').innerText()}`);
      await assertAccessible(admin, path);
    }
    await rita.setViewportSize({ width: 390, height: 844 });
    await rita.goto(`${console_}/#/`);
    await rita.getByRole('heading', { level: 1, name: /Inbox/ }).waitFor();
    await assertAccessible(rita, 'inbox at phone width');
    const overflow = await rita.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(Number(overflow) <= 0, `no horizontal scroll at phone width (${overflow}px)`);
    assert.deepEqual(cspErrors, []);
  });
});
