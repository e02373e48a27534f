// Figure: alert → proposed plan over HTTP without a model (POST /v1/webhooks/{source}: verify,
// alert.receive, playbook, plan.propose, alert.plan), p50 — beside the bare plan proposal of the
// same step (POST /v1/plans) measured alternately in the same run on the same server.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, parse as parseYaml } from 'yaml';
import { signGenericDelivery } from '../src/alerts/index.ts';
import { openServerContext } from '../src/server/context.ts';
import { formatSignatureFile, manifestSigningText, readPublisherPrivateKey, signManifestText } from '../src/tools/index.ts';
import { median, nowMs, percentiles, progress, type Row } from './lib.ts';
import { benchApi } from './support/api.ts';
import { freshDataDir } from './support/datadir.ts';

const RUNS = 300;
const SECRET = 'bench-webhook-secret-0123456789';

const PLAYBOOK = `apiVersion: countersign/v1
kind: Playbook
name: bench-echo
match: { alertname: [BenchAlert] }
extract:
  service: { label: service, pattern: "[a-z0-9-]{1,63}" }
environment: { value: staging }
intent: "Say {{service}}"
templates:
  - id: say
    tool: echo
    action: say
    input: { message: { from: service } }
`;

function prepare(dir: string): void {
  const keys = join(dir, 'keys');
  const keyFile = readdirSync(keys).find((n) => /^publisher-[0-9a-f]{16}\.key$/.test(n));
  if (!keyFile) throw new Error('no publisher key');
  mkdirSync(join(dir, 'playbooks'));
  const file = join(dir, 'playbooks', 'bench.yaml');
  writeFileSync(file, PLAYBOOK);
  const sig = signManifestText(manifestSigningText(parseYaml(PLAYBOOK)), readPublisherPrivateKey(join(keys, keyFile)));
  writeFileSync(`${file}.sig`, formatSignatureFile([sig]));
  const config = join(dir, 'countersign.yaml');
  const doc = parseDocument(readFileSync(config, 'utf8'));
  doc.setIn(['alerts'], { sources: [{ name: 'bench', type: 'hmac', secrets: ['env:CS_BENCH_WEBHOOK'], perMinute: 100000 }] });
  writeFileSync(config, doc.toString());
}

export async function run(): Promise<Row[]> {
  const data = await freshDataDir('cs-bench-alerts-');
  prepare(data.dir);
  const ctx = await openServerContext(data.dir, { env: { ...process.env, CS_BENCH_WEBHOOK: SECRET }, warn: () => {} });
  const app = await benchApi(ctx);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const alert = async (i: number) => {
      const raw = JSON.stringify({
        groupKey: `bench-${i}`,
        status: 'firing',
        alerts: [{ name: 'BenchAlert', fingerprint: `f${i}`, labels: { service: `svc-${i}` }, annotations: {} }],
      });
      const t = nowMs();
      const res = await fetch(`${url}/v1/webhooks/bench`, {
        method: 'POST',
        headers: signGenericDelivery(SECRET, Date.now(), `d${i}`, raw),
        body: raw,
      });
      const body = (await res.json()) as { proposed?: { planId?: string }[] };
      if (res.status !== 202 || !body.proposed?.[0]?.planId) throw new Error(`bench alert ${i}: ${res.status} ${JSON.stringify(body)}`);
      return nowMs() - t;
    };
    const bare = async (i: number) => {
      const raw = JSON.stringify({
        intent: `Say svc-${i}`,
        environment: 'staging',
        steps: [{ tool: 'echo', action: 'say', input: { message: `svc-${i}` } }],
      });
      const t = nowMs();
      const res = await fetch(`${url}/v1/plans`, {
        method: 'POST',
        headers: { authorization: `Bearer ${data.init.adminKey}`, 'content-type': 'application/json' },
        body: raw,
      });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`bench plan ${i}: ${res.status}`);
      return nowMs() - t;
    };
    progress(`alerts: ${RUNS} × alert → proposed plan (no model), alternating with ${RUNS} bare proposals`);
    for (let i = 0; i < 20; i++) {
      await alert(-i - 1);
      await bare(-i - 1);
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(await alert(i));
      b.push(await bare(i));
    }
    const pa = percentiles(Float64Array.from(a));
    const pb = median(b);
    return [
      {
        id: 'alerts.intake.p50',
        figure: 'alert → proposed plan over HTTP, no model, p50 (SQLite)',
        kind: 'latency',
        value: pa.p50,
        floor: { label: 'bare POST /v1/plans of the same step, p50', value: pb },
        notes: [
          'an alert runs verify + alert.receive + plan.propose + alert.plan: three transactions where a proposal runs one',
          `ratio ${(pa.p50 / pb).toFixed(2)}× the bare proposal; p99 ${pa.p99.toFixed(1)} ms`,
        ],
        detail: { runs: RUNS, p99: pa.p99 },
      },
    ];
  } finally {
    await app.close();
    await ctx.close();
    data.remove();
  }
}
