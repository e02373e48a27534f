// Figure: notification fan-out. 1,000 pending plans, each one outbox event, delivered to a local
// fake of Slack's Web API by the product's dispatcher (expand → claim → render the plan as it is
// now → chat.postMessage → record the message → mark sent), beside the floor: the bare Slack
// HTTP client posting the same number of messages to the same fake at the same concurrency.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { systemRuntime } from '../src/runtime.ts';
import { openServerContext } from '../src/server/context.ts';
import { FakeSlack } from '../test/support/chat-fakes.ts';
import { progress, type Row } from './lib.ts';
import { freshDataDir } from './support/datadir.ts';

const PLANS = 1_000;
const CONCURRENCY = 8;

export async function run(): Promise<Row[]> {
  const slack = await new FakeSlack().start();
  const data = await freshDataDir('notifications');
  const env = { ...process.env, CS_BENCH_SLACK_TOKEN: 'xoxb-bench', CS_BENCH_SLACK_SECRET: 'bench-secret' };
  writeFileSync(
    join(data.dir, 'notifications.yaml'),
    `slack: { baseUrl: "${slack.url}", botToken: env:CS_BENCH_SLACK_TOKEN, signingSecret: env:CS_BENCH_SLACK_SECRET }
channels:
  approvers: { type: slack, channel: C0BENCH, decide: true }
routes:
  - { channels: [approvers] }
delivery: { concurrency: ${CONCURRENCY} }
`,
  );
  const ctx = await openServerContext(data.dir, { env, runtime: systemRuntime, warn: () => {} });
  try {
    const admin = {
      tenantId: data.init.tenantId,
      id: data.init.adminPrincipalId,
      name: 'admin',
      kind: 'human' as const,
      groups: ['admin'],
      authMethod: 'api_key' as const,
    };
    progress(`notifications: proposing ${PLANS} pending plans (setup, not timed)`);
    for (let i = 0; i < PLANS; i++)
      await ctx.pipeline.run(
        'plan.propose',
        admin,
        { intent: `bench ${i}`, environment: 'staging', steps: [{ tool: 'echo', action: 'say', input: { message: `m${i}` } }] },
        'api',
      );
    const dispatcher = ctx.dispatcher;
    if (!dispatcher) throw new Error('no dispatcher: notifications.yaml was not loaded');

    progress(`notifications: dispatching ${PLANS} events through the outbox`);
    const before = slack.of('chat.postMessage').length;
    let start = performance.now();
    while (slack.of('chat.postMessage').length - before < PLANS) if ((await dispatcher.runOnce()) === 0) break;
    const productMs = performance.now() - start;
    const delivered = slack.of('chat.postMessage').length - before;

    progress(`notifications: ${PLANS} bare chat.postMessage calls, ${CONCURRENCY} at a time`);
    const client = new WebClient('xoxb-bench', { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
    let next = 0;
    start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < PLANS; i = next++) await client.chat.postMessage({ channel: 'C0BENCH', text: `Plan ${i}: needs review` });
      }),
    );
    const bareMs = performance.now() - start;
    return [
      {
        id: 'notifications.fanout',
        figure: `notification fan-out, ${PLANS} pending plans → Slack fake`,
        kind: 'rate',
        value: delivered === PLANS ? (PLANS * 1000) / productMs : null,
        ...(delivered === PLANS ? {} : { status: 'ERROR' as const }),
        floor: { label: 'bare @slack/web-api postMessage', value: (PLANS * 1000) / bareMs },
        detail: { plans: PLANS, delivered, concurrency: CONCURRENCY, productMs: Math.round(productMs), bareMs: Math.round(bareMs) },
        notes: ['per send: claim with a lease, render the plan (tally, names), mint buttons, post, record the message id, mark sent'],
      },
    ];
  } finally {
    await ctx.close();
    await slack.close();
    data.remove();
  }
}
