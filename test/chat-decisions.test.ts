// Issue 14 end to end: a pending prod plan is announced in Slack and Telegram (local fakes of
// their HTTP APIs), two linked reviewers approve it from chat through the same operation as the
// API, the messages are edited in place, and the plan runs. Every weaker path is refused and
// audited: forged signature, stale timestamp, replayed callback, reused button, unlinked account,
// and an approval from chat of a plan that needs step-up.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BASELINE_SCHEMA, baselinePolicySet, CedarAuthorizer } from '../src/policy/index.ts';
import { FakeSlack, FakeTelegram, type RecordedCall } from './support/chat-fakes.ts';
import { ENGINES } from './support/engines.ts';
import { spawnExecutor, stopChild, waitForExecution } from './support/execution.ts';
import { addPrincipal } from './support/principals.ts';
import { rawSql } from './support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer } from './support/server.ts';

const SLACK_SECRET = 'slack-signing-secret-for-tests';
const TELEGRAM_SECRET = 'telegram-webhook-secret';
const TELEGRAM_TOKEN = '123456:test-bot-token';
const CHANNEL = 'C0APPROVERS';
const TG_CHAT = '-1001';

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(30);
  }
}

/** The value of the Slack button labelled `label` in the last message call about `planId`. */
function slackButton(calls: RecordedCall[], planId: string, label: string): string | undefined {
  const last = calls.filter((c) => ['chat.postMessage', 'chat.update'].includes(c.method) && String(c.args.text).includes(planId)).at(-1);
  const actions = (last?.args.blocks as any[] | undefined)?.find((b) => b.type === 'actions');
  return actions?.elements.find((e: any) => e.text.text === label)?.value;
}

function telegramButton(calls: RecordedCall[], planId: string, label: string): string | undefined {
  const last = calls.filter((c) => ['sendMessage', 'editMessageText'].includes(c.method) && String(c.args.text).includes(planId)).at(-1);
  return (last?.args.reply_markup?.inline_keyboard as any[][] | undefined)?.flat().find((b) => b.text === label)?.callback_data;
}

const engine = ENGINES[0]!;
describe('deciding from Slack and Telegram', () => {
  let s: TestServer;
  let slack: FakeSlack;
  let telegram: FakeTelegram;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let agent: { id: string; key: string };
  let updateId = 1;

  const slackPost = (path: string, raw: string, headers: Record<string, string>) => s.request('POST', path, { key: null, raw, headers });
  const click = (user: string, value: string, o: { comment?: string; timestamp?: number; secret?: string } = {}) => {
    const { raw, headers } = FakeSlack.interaction(o.secret ?? SLACK_SECRET, { user, value, channel: CHANNEL, ...o });
    return slackPost('/v1/chat/slack/interactions', raw, headers);
  };
  const press = (fromId: number, data: string, messageId = 1) =>
    s.request('POST', '/v1/chat/telegram', {
      key: null,
      headers: FakeTelegram.headers(TELEGRAM_SECRET),
      body: {
        update_id: updateId++,
        callback_query: {
          id: `q${updateId}`,
          from: { id: fromId },
          data,
          message: { message_id: messageId, chat: { id: Number(TG_CHAT) } },
        },
      },
    });
  const propose = async (environment: string) => {
    const r = await s.request('POST', '/v1/plans', { key: agent.key, body: echoPlan('chat', environment) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { id: string; hash: string; status: string };
  };
  const denials = async (code: string) =>
    (await rawSql(s, "select details from audit_log where action = 'chat.callback' and outcome = 'denied'")).filter(
      (r) => JSON.parse(r.details).code === code,
    );

  before(async () => {
    slack = await new FakeSlack().start();
    telegram = await new FakeTelegram(TELEGRAM_TOKEN).start();
    s = await startTestServer(engine, {
      env: {
        ...process.env,
        CS_SLACK_TOKEN: 'xoxb-test',
        CS_SLACK_SECRET: SLACK_SECRET,
        CS_TG_TOKEN: TELEGRAM_TOKEN,
        CS_TG_SECRET: TELEGRAM_SECRET,
      },
      configure: (dir) => {
        writeFileSync(
          join(dir, 'notifications.yaml'),
          `tenant: default
consoleUrl: https://countersign.example.com
slack: { baseUrl: "${slack.url}", botToken: "env:CS_SLACK_TOKEN", signingSecret: "env:CS_SLACK_SECRET" }
telegram: { apiRoot: "${telegram.url}", botToken: "env:CS_TG_TOKEN", webhookSecret: "env:CS_TG_SECRET" }
channels:
  approvers-slack: { type: slack, channel: ${CHANNEL}, decide: true }
  approvers-telegram: { type: telegram, chatId: "${TG_CHAT}", decide: true }
routes:
  - { groups: [approvers], channels: [approvers-slack, approvers-telegram] }
delivery: { pollMilliseconds: 20, backoffBaseMilliseconds: 20 }
chat: { stepUpEnvironments: [staging] }
`,
        );
        // This installation allows chat reviews in prod below high risk (the baseline forbids them all).
        writeFileSync(
          join(dir, 'policies', 'chat.cedar'),
          `@id("chat-link-self")
permit (principal, action == Countersign::Action::"chat.link", resource)
when { principal has kind && principal.kind == "human" && resource == principal };

@id("chat-reviews-prod-below-high")
@reason("High and critical plans in prod are not reviewed from chat.")
forbid (principal, action in [Countersign::Action::"plan.approve", Countersign::Action::"plan.reject"], resource)
when { context.channel == "chat" }
unless { resource has environment && resource.environment != "prod" }
unless { resource has riskLevel && resource.riskLevel < 2 };
`,
        );
      },
    });
    alice = await addPrincipal(s, 'alice', 'human', ['approvers']);
    bob = await addPrincipal(s, 'bob', 'human', ['approvers']);
    agent = await addPrincipal(s, 'deploy-bot', 'agent', ['agent']);
    s.ctx.dispatcher?.start();
  });
  after(async () => {
    await s?.close();
    await slack?.close();
    await telegram?.close();
  });

  test('reviewers link their chat accounts with a one-time code they started', async () => {
    const a = await s.request('POST', '/v1/chat/links', { key: alice.key, body: {} });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    const cmd = `command=%2Fcountersign&text=link+${a.body.code}&user_id=UALICE&user_name=alice`;
    const linked = await slackPost('/v1/chat/slack/commands', cmd, FakeSlack.sign(SLACK_SECRET, Math.floor(Date.now() / 1000), cmd));
    assert.equal(linked.status, 200, JSON.stringify(linked.body));
    assert.match(linked.body.text, /linked to alice/);
    // The same code again (a new request, validly signed) is refused: one use.
    const again = `${cmd}&x=1`;
    const reused = await slackPost('/v1/chat/slack/commands', again, FakeSlack.sign(SLACK_SECRET, Math.floor(Date.now() / 1000), again));
    assert.match(reused.body.text, /Refused/);

    const b = await s.request('POST', '/v1/chat/links', { key: bob.key, body: {} });
    const tg = await s.request('POST', '/v1/chat/telegram', {
      key: null,
      headers: FakeTelegram.headers(TELEGRAM_SECRET),
      body: {
        update_id: updateId++,
        message: { message_id: 9, from: { id: 222, username: 'bob' }, chat: { id: 222 }, text: `/link ${b.body.code}` },
      },
    });
    assert.equal(tg.status, 200, JSON.stringify(tg.body));
    await waitFor('telegram link reply', () => telegram.of('sendMessage').find((c) => /linked to bob/.test(c.args.text)));
    const links = await s.request('GET', '/v1/chat/links', { key: bob.key });
    assert.deepEqual(
      links.body.links.map((l: any) => [l.platform, l.chatUserId]),
      [['telegram', '222']],
    );
  });

  test('a pending prod plan is announced in Slack and Telegram, approved from both, the messages follow, and it runs', async () => {
    const plan = await propose('prod');
    assert.equal(plan.status, 'pending_approval');
    const aliceApprove = await waitFor('slack post with buttons', () => slackButton(slack.calls, plan.id, 'Approve as alice'));
    assert.equal(slackButton(slack.calls, plan.id, 'Approve as bob'), undefined, 'bob is not linked in Slack');
    const post = slack.of('chat.postMessage').find((c) => String(c.args.text).includes(plan.id));
    assert.equal(post?.args.channel, CHANNEL);
    assert.match(post?.args.text, /needs review/);
    await waitFor('telegram message with buttons', () => telegramButton(telegram.calls, plan.id, 'Approve as bob'));

    const first = await click('UALICE', aliceApprove, { comment: 'checked the diff' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await waitFor('slack ephemeral reply', () => slack.of('chat.postEphemeral').find((c) => /Approved plan/.test(c.args.text)));
    const seat = await waitFor('slack message edited to show the seat', () =>
      slack.of('chat.update').find((c) => String(c.args.text).includes(plan.id) && /approvers 1\/2/.test(c.args.text)),
    );
    assert.match(seat.args.text, /Approved by alice \(chat\): checked the diff/);
    await waitFor('telegram message edited to show the seat', () =>
      telegram.of('editMessageText').find((c) => String(c.args.text).includes(plan.id) && /approvers 1\/2/.test(c.args.text)),
    );
    const bobApprove = await waitFor('fresh telegram button for bob', () => telegramButton(telegram.calls, plan.id, 'Approve as bob'));
    // Telegram buttons carry no text: a reply to the plan's message is the reviewer's comment.
    const [tgMessage] = await rawSql(s, "select message_id from chat_messages where plan_id = ? and channel = 'approvers-telegram'", [
      plan.id,
    ]);
    const reply = await s.request('POST', '/v1/chat/telegram', {
      key: null,
      headers: FakeTelegram.headers(TELEGRAM_SECRET),
      body: {
        update_id: updateId++,
        message: {
          message_id: 4242,
          from: { id: 222 },
          chat: { id: Number(TG_CHAT) },
          text: 'rollback plan is ready',
          reply_to_message: { message_id: Number(tgMessage.message_id) },
        },
      },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const pressed = await press(222, bobApprove, Number(tgMessage.message_id));
    assert.equal(pressed.status, 200, JSON.stringify(pressed.body));
    const answered = await waitFor('telegram answer', () => telegram.of('answerCallbackQuery').at(-1));
    assert.match(answered.args.text, /Approved plan/);
    const shown = await s.request('GET', `/v1/plans/${plan.id}`);
    assert.equal(shown.body.status, 'approved');
    assert.deepEqual(
      shown.body.approvals.map((a: any) => a.channel),
      ['chat', 'chat'],
    );
    assert.deepEqual(
      shown.body.approvals.map((a: any) => a.comment),
      ['checked the diff', 'rollback plan is ready'],
    );
    await waitFor('slack shows approved', () =>
      slack.of('chat.update').find((c) => String(c.args.text).includes(plan.id) && /Status: approved/.test(c.args.text)),
    );

    const exec = await s.request('POST', `/v1/plans/${plan.id}/executions`, { body: {} });
    assert.equal(exec.status, 201, JSON.stringify(exec.body));
    const executor = spawnExecutor(s.dir, s.databaseUrl);
    try {
      const done = await waitForExecution(s, exec.body.id, 30_000);
      assert.equal(done.status, 'succeeded');
    } finally {
      await stopChild(executor);
    }
    await waitFor('slack shows the outcome', () =>
      slack.of('chat.update').find((c) => String(c.args.text).includes(plan.id) && /executed successfully/.test(c.args.text)),
    );
    await waitFor('telegram shows the outcome', () =>
      telegram.of('editMessageText').find((c) => String(c.args.text).includes(plan.id) && /executed successfully/.test(c.args.text)),
    );
  });

  test('forged signature, stale timestamp, replayed callback, reused button and an unlinked account are refused and audited', async () => {
    const plan = await propose('prod');
    const value = await waitFor('button', () => slackButton(slack.calls, plan.id, 'Reject as alice'));

    const forged = await click('UALICE', value, { secret: 'not-the-secret' });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.error.code, 'CHAT_SIGNATURE_INVALID');
    assert.equal((await denials('CHAT_SIGNATURE_INVALID')).length, 1);

    const stale = await click('UALICE', value, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    assert.equal(stale.status, 401);
    assert.match(stale.body.error.message, /5-minute window/);
    assert.equal((await denials('CHAT_SIGNATURE_INVALID')).length, 2);

    const unlinked = await click('UMALLORY', value);
    assert.equal(unlinked.status, 200);
    assert.equal((await denials('CHAT_NOT_LINKED')).length, 1);
    const telegramStranger = await press(
      999,
      (await waitFor('tg button', () => telegramButton(telegram.calls, plan.id, 'Reject as bob')))!,
    );
    assert.equal(telegramStranger.status, 200);
    assert.equal((await denials('CHAT_NOT_LINKED')).length, 2);

    // A valid press, then the very same request again: the replay is refused before anything runs.
    const { raw, headers } = FakeSlack.interaction(SLACK_SECRET, { user: 'UALICE', value, channel: CHANNEL, comment: 'no' });
    assert.equal((await slackPost('/v1/chat/slack/interactions', raw, headers)).status, 200);
    assert.equal((await s.request('GET', `/v1/plans/${plan.id}`)).body.status, 'rejected');
    const replay = await slackPost('/v1/chat/slack/interactions', raw, headers);
    assert.equal(replay.status, 409);
    assert.equal(replay.body.error.code, 'CHAT_REPLAYED');
    assert.equal((await denials('CHAT_REPLAYED')).length, 1);
    // The same button in a new, validly signed request: single use.
    await click('UALICE', value, { comment: 'again' });
    assert.equal((await denials('CHAT_CODE_INVALID')).length, 1);
    const telegramReplay = { update_id: 77_777, message: { message_id: 1, from: { id: 222 }, chat: { id: 222 }, text: 'hi' } };
    const h = FakeTelegram.headers(TELEGRAM_SECRET);
    assert.equal((await s.request('POST', '/v1/chat/telegram', { key: null, headers: h, body: telegramReplay })).status, 200);
    assert.equal((await s.request('POST', '/v1/chat/telegram', { key: null, headers: h, body: telegramReplay })).status, 409);
    const wrongToken = await s.request('POST', '/v1/chat/telegram', {
      key: null,
      headers: FakeTelegram.headers('guess'),
      body: { update_id: 5 },
    });
    assert.equal(wrongToken.status, 401);
  });

  test('a plan that needs step-up offers no approve button, says so, and a chat approval of it is refused and audited', async () => {
    const plan = await propose('staging');
    await waitFor('slack post', () => slackButton(slack.calls, plan.id, 'Reject as alice'));
    assert.equal(slackButton(slack.calls, plan.id, 'Approve as alice'), undefined);
    const post = slack.of('chat.postMessage').find((c) => String(c.args.text).includes(plan.id));
    assert.match(post?.args.text, /needs step-up: approve it in the console at https:\/\/countersign.example.com\/plans\//);
    const principal = {
      tenantId: s.init.tenantId,
      id: alice.id,
      name: 'alice',
      kind: 'human' as const,
      groups: ['approvers'],
      authMethod: 'chat_link' as const,
    };
    await assert.rejects(
      s.ctx.pipeline.run('plan.approve', principal, { planId: plan.id, planHash: plan.hash, decision: 'approve' }, 'chat'),
      (err: { code?: string }) => err.code === 'STEP_UP_REQUIRED',
    );
    const audited = await rawSql(s, "select details from audit_log where action = 'plan.approve' and outcome = 'denied' and resource = ?", [
      `plan:${plan.id}`,
    ]);
    assert.equal(JSON.parse(audited[0].details).code, 'STEP_UP_REQUIRED');
    // No weaker path elsewhere either (issue 13): an API key cannot step up, so the API refuses it too.
    const api = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
      key: alice.key,
      body: { decision: 'approve', planHash: plan.hash },
    });
    assert.equal(api.status, 403, JSON.stringify(api.body));
    assert.equal(api.body.error.code, 'STEP_UP_REQUIRED');
    assert.match(api.body.error.message, /approve it in the console/);
  });

  test('the baseline policy denies chat reviews in prod and allows the same review from the API', () => {
    const authz = new CedarAuthorizer(baselinePolicySet(), BASELINE_SCHEMA);
    const request = (channel: string, environment: string) => ({
      principal: {
        tenantId: 't',
        id: 'p-alice',
        name: 'alice',
        kind: 'human' as const,
        groups: ['approvers'],
        authMethod: 'chat_link' as const,
      },
      action: 'plan.approve' as const,
      resource: {
        type: 'Plan' as const,
        id: 'plan1',
        tenantId: 't',
        environment,
        risk: 'low' as const,
        source: 'api',
        proposerId: 'p-bot',
      },
      context: { channel },
    });
    const chatProd = authz.authorize(request('chat', 'prod'));
    assert.equal(chatProd.allow, false);
    assert.deepEqual(!chatProd.allow && chatProd.policies, ['chat-reviews-not-in-prod']);
    assert.equal(authz.authorize(request('api', 'prod')).allow, true);
    assert.equal(authz.authorize(request('chat', 'staging')).allow, true);
  });
});
