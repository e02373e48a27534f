// Figure (issue 17): proposal → pending_approval of a plan with one previewed step (the executor
// claims the preview job, runs the preview in the sandbox, the API attaches and seals it), p50 —
// beside a bare sandboxed no-op step (the same executable and profile through the same runner),
// measured in the same run.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startExecutor } from '../src/executor/executor.ts';
import type { PlanView } from '../src/plans/index.ts';
import type { Principal } from '../src/policy/types.ts';
import { BubblewrapRunner } from '../src/sandbox/index.ts';
import { openServerContext } from '../src/server/context.ts';
import {
  formatSignatureFile,
  manifestSigningText,
  readPublisherPrivateKey,
  SandboxProfileSchema,
  SIGNATURE_SUFFIX,
  signManifestText,
} from '../src/tools/index.ts';
import { median, nowMs, progress, type Row, tempDir } from './lib.ts';
import { freshDataDir } from './support/datadir.ts';

const RUNS = 20;
const ECHO = '/usr/bin/echo';

function peekManifest(sha: string): string {
  return `apiVersion: countersign/v1
kind: Tool
name: peek
version: 1.0.0
executable: { path: ${ECHO}, sha256: ${sha} }
actions:
  show:
    argv: ["would set", "{{value}}"]
    input: { properties: { value: { type: string } }, required: [value] }
    risk: low
  set:
    argv: ["set", "{{value}}"]
    input: { properties: { value: { type: string } }, required: [value] }
    risk: low
    preview: { action: show }
`;
}

export async function run(): Promise<Row[]> {
  const data = await freshDataDir('cs-bench-previews-');
  const sha = createHash('sha256').update(readFileSync(ECHO)).digest('hex');
  const file = join(data.dir, 'tools', 'peek.yaml');
  writeFileSync(file, peekManifest(sha));
  const keyName = readdirSync(join(data.dir, 'keys')).find((n) => /^publisher-[0-9a-f]{16}\.key$/.test(n));
  if (!keyName) throw new Error('no init publisher key');
  const signature = signManifestText(
    manifestSigningText(parseYaml(readFileSync(file, 'utf8'))),
    readPublisherPrivateKey(join(data.dir, 'keys', keyName)),
  );
  writeFileSync(`${file}${SIGNATURE_SUFFIX}`, formatSignatureFile([signature]));
  const config = join(data.dir, 'countersign.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace(/pollMilliseconds: \d+/, 'pollMilliseconds: 10'));
  const ctx = await openServerContext(data.dir);
  const executor = await startExecutor(data.dir, { log: () => {}, store: ctx.store });
  const tmp = tempDir('cs-bench-previews-work-');
  chmodSync(tmp.path, 0o711);
  const runner = await BubblewrapRunner.create();
  try {
    const admin: Principal = {
      tenantId: data.init.tenantId,
      id: data.init.adminPrincipalId,
      name: 'admin',
      kind: 'human',
      groups: ['admin'],
      authMethod: 'api_key',
    };
    const scope = ctx.store.scope(data.init.tenantId);
    const once = async (i: number) => {
      const t = nowMs();
      const plan = await ctx.pipeline.run<PlanView>(
        'plan.propose',
        admin,
        { intent: `bench ${i}`, environment: 'staging', steps: [{ tool: 'peek', action: 'set', input: { value: `v${i}` } }] },
        'api',
      );
      for (;;) {
        const p = await scope.plans.get(plan.id);
        if (p?.status === 'pending_approval') return nowMs() - t;
        if (p && p.status !== 'previewing') throw new Error(`bench plan ${plan.id} became ${p.status}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const profile = SandboxProfileSchema.parse({});
    const bare = async (i: number) => {
      const workDir = join(tmp.path, `w${i}`);
      mkdirSync(workDir, { mode: 0o700 });
      const t = nowMs();
      const r = await runner.run({ executable: ECHO, expectedSha256: sha, argv: ['would set', `v${i}`], profile, workDir, secrets: {} });
      if (r.exitCode !== 0) throw new Error(`sandboxed echo exited ${r.exitCode}`);
      return nowMs() - t;
    };
    progress(`previews: ${RUNS} × propose → previewed → pending, alternating with a bare sandboxed step`);
    for (let i = 0; i < 3; i++) {
      await once(-i - 1);
      await bare(1000 + i);
    }
    const pending: number[] = [];
    const step: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      pending.push(await once(i));
      step.push(await bare(i));
    }
    return [
      {
        id: 'previews.propose_to_pending.p50',
        figure: 'propose → pending_approval with one previewed step, p50',
        kind: 'latency',
        value: median(pending),
        floor: { label: 'bare sandboxed no-op step (same executable, runner)', value: median(step) },
        notes: ['includes the executor poll (10 ms), the preview in the sandbox and the API attach poll (100 ms: about 50 ms on average)'],
      },
    ];
  } finally {
    await runner.dispose?.();
    await executor.stop();
    await ctx.close();
    tmp.remove();
    data.remove();
  }
}
