// Figure: the reviewer console's plan page, server side — the plan-page read the page loads
// (GET /console/api/plans/:id: the reviewer view, tools, admitting decision, eligibility and a
// review token) beside the API's plain JSON read of the same plan (GET /v1/plans/:id), both
// through the real Fastify app with app.inject (no socket), alternating so noise lands on both.

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { openServerContext } from '../src/server/context.ts';
import { median, nowMs, percentiles, progress, type Row } from './lib.ts';
import { benchApi } from './support/api.ts';
import { freshDataDir } from './support/datadir.ts';

const RUNS = 300;
const WARMUP = 30;

export async function run(): Promise<Row[]> {
  const data = await freshDataDir('console');
  appendFileSync(join(data.dir, 'countersign.yaml'), 'console: {"apiKeySignIn": true}\n');
  const ctx = await openServerContext(data.dir);
  const app = await benchApi(ctx);
  try {
    const admin = { authorization: `Bearer ${data.init.adminKey}` };
    const created = await app.inject({
      method: 'POST',
      url: '/v1/principals',
      headers: admin,
      payload: { name: 'bench-reviewer', kind: 'human', groups: ['approvers'] },
    });
    const reviewerKey = created.json().key as string;
    const plan = (
      await app.inject({
        method: 'POST',
        url: '/v1/plans',
        headers: admin,
        payload: {
          intent: 'bench plan page',
          environment: 'staging',
          steps: [1, 2, 3].map((i) => ({ tool: 'echo', action: 'say', input: { message: `step ${i}` } })),
        },
      })
    ).json() as { id: string };
    const signIn = await app.inject({
      method: 'POST',
      url: '/console/auth/key',
      headers: { origin: 'http://localhost:80', host: 'localhost:80' },
      payload: { key: reviewerKey },
    });
    const cookie = String(signIn.headers['set-cookie']).split(';')[0] as string;
    const consoleRead = () =>
      app.inject({ method: 'GET', url: `/console/api/plans/${plan.id}`, headers: { cookie, host: 'localhost:80' } });
    const apiRead = () => app.inject({ method: 'GET', url: `/v1/plans/${plan.id}`, headers: { authorization: `Bearer ${reviewerKey}` } });
    const [pageSample, apiSample] = [await consoleRead(), await apiRead()];
    if (pageSample.statusCode !== 200 || apiSample.statusCode !== 200) {
      throw new Error(`bench reads failed: console ${pageSample.statusCode}, api ${apiSample.statusCode}`);
    }
    progress(`console: ${RUNS} × plan page read vs API plan read, alternating`);
    for (let i = 0; i < WARMUP; i++) await Promise.all([consoleRead(), apiRead()]);
    const page: number[] = [];
    const api: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const [fn, out] of [
        [consoleRead, page],
        [apiRead, api],
      ] as const) {
        const t = nowMs();
        await fn();
        out.push(nowMs() - t);
      }
    }
    const shell = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } });
    const p = percentiles(Float64Array.from(page));
    const a = percentiles(Float64Array.from(api));
    return [
      {
        id: 'console.plan_page.p50',
        figure: 'console plan page read, p50 (server, inject)',
        kind: 'latency',
        value: median(page),
        floor: { label: 'GET /v1/plans/:id', value: median(api) },
        notes: [
          `bytes: plan page ${pageSample.rawPayload.length} B vs API JSON ${apiSample.rawPayload.length} B; page shell ${shell.rawPayload.length} B (assets cached, immutable)`,
          'the page read adds tools, the admitting audit entry, the eligibility check and one review-token write',
        ],
        detail: {
          pageP99Ms: p.p99,
          apiP99Ms: a.p99,
          pageBytes: pageSample.rawPayload.length,
          apiBytes: apiSample.rawPayload.length,
          shellBytes: shell.rawPayload.length,
          runs: RUNS,
        },
      },
    ];
  } finally {
    await app.close();
    await ctx.close();
    data.remove();
  }
}
