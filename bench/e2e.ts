// Figure: propose → approve → execute of a no-op step, server side (services in process, the
// real executor and sandbox), p50 — beside the sum of its parts measured alone in the same run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionView } from '../src/executions/index.ts';
import { startExecutor } from '../src/executor/executor.ts';
import type { ExecuteResult } from '../src/operations/index.ts';
import type { PlanView } from '../src/plans/index.ts';
import type { Principal } from '../src/policy/types.ts';
import type { PrincipalView } from '../src/principals/index.ts';
import { openServerContext } from '../src/server/context.ts';
import { median, nowMs, progress, type Row, type Target } from './lib.ts';
import { BARE_BWRAP, timedSpawn } from './support/bwrap.ts';
import { freshDataDir } from './support/datadir.ts';

const RUNS = 40;
const body = (i: number) => ({
  intent: `bench ${i}`,
  environment: 'staging',
  steps: [{ tool: 'echo', action: 'say', input: { message: 'ok' } }],
});

export async function run(): Promise<Row[]> {
  const data = await freshDataDir('cs-bench-e2e-');
  const config = join(data.dir, 'countersign.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace(/pollMilliseconds: \d+/, 'pollMilliseconds: 10'));
  const ctx = await openServerContext(data.dir);
  const executor = await startExecutor(data.dir, { log: () => {}, store: ctx.store });
  try {
    const admin: Principal = {
      tenantId: data.init.tenantId,
      id: data.init.adminPrincipalId,
      name: 'admin',
      kind: 'human',
      groups: ['admin'],
      authMethod: 'api_key',
    };
    const created = await ctx.pipeline.run<PrincipalView>(
      'principal.create',
      admin,
      { name: 'bench-approver', kind: 'human', groups: ['approvers'] },
      'api',
    );
    const approver: Principal = {
      tenantId: data.init.tenantId,
      id: created.id,
      name: created.name,
      kind: 'human',
      groups: ['approvers'],
      authMethod: 'api_key',
    };
    const waitDone = async (id: string) => {
      for (;;) {
        const e = await ctx.pipeline.run<ExecutionView>('execution.get', admin, { executionId: id }, 'api');
        if (!['queued', 'running'].includes(e.status)) {
          if (e.status !== 'succeeded') throw new Error(`bench execution ${id} ended ${e.status}: ${e.reason}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const once = async (i: number) => {
      const parts = { propose: 0, approve: 0, execute: 0, run: 0 };
      let t = nowMs();
      const plan = await ctx.pipeline.run<PlanView>('plan.propose', admin, body(i), 'api');
      parts.propose = nowMs() - t;
      t = nowMs();
      await ctx.pipeline.run('plan.approve', approver, { planId: plan.id, decision: 'approve', planHash: plan.hash }, 'api');
      parts.approve = nowMs() - t;
      t = nowMs();
      const { execution } = await ctx.pipeline.run<ExecuteResult>('plan.execute', admin, { planId: plan.id }, 'api');
      parts.execute = nowMs() - t;
      t = nowMs();
      await waitDone(execution.id);
      parts.run = nowMs() - t;
      return parts;
    };
    progress(`e2e: ${RUNS} × propose → approve → execute echo (staging, 1 approver)`);
    for (let i = 0; i < 5; i++) await once(-i - 1);
    const totals: number[] = [];
    const each = { propose: [] as number[], approve: [] as number[], execute: [] as number[], run: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      const p = await once(i);
      totals.push(p.propose + p.approve + p.execute + p.run);
      for (const k of Object.keys(each) as (keyof typeof each)[]) each[k].push(p[k]);
    }
    const sum = median(each.propose) + median(each.approve) + median(each.execute) + median(each.run);
    // DESIGN.md: p50 ≤ 2× (bare bubblewrap + 10 ms), bare bubblewrap measured now, on this machine.
    const bwrap: number[] = [];
    for (let i = 0; i < 5; i++) await timedSpawn('bwrap', BARE_BWRAP);
    for (let i = 0; i < 30; i++) bwrap.push(await timedSpawn('bwrap', BARE_BWRAP));
    const bareBwrap = median(bwrap);
    const target: Target = {
      op: '<=',
      value: 2 * (bareBwrap + 10),
      text: `p50 ≤ 2× (bwrap ${bareBwrap.toFixed(1)} + 10 ms)`,
    };
    return [
      {
        id: 'e2e.propose_approve_execute.p50',
        figure: 'propose → approve → execute, p50',
        kind: 'latency',
        value: median(totals),
        floor: { label: 'sum of the parts (medians)', value: sum },
        target,
        notes: [
          `parts p50: propose ${median(each.propose).toFixed(1)} ms, approve ${median(each.approve).toFixed(1)} ms, execute request ${median(each.execute).toFixed(1)} ms, claim + sandboxed step + finish ${median(each.run).toFixed(1)} ms (executor poll 10 ms)`,
        ],
      },
    ];
  } finally {
    await executor.stop();
    await ctx.close();
    data.remove();
  }
}
