// Figure: redaction throughput on the output-streaming hot path (invariant 12), beside two floors
// measured in the same run: a bare copy of the text into a Buffer and a bare indexOf over it.
//
// Rows: the stateless redactor (what the store applies to each event and step text), and the
// per-stream redactor the runner puts on stdout/stderr, fed 64 KiB chunks (a fast writer: pipe
// reads coalesce) and single lines (a slow writer: one read per line, where the fixed cost per
// chunk shows). Each with no secret (known patterns only), one secret and three secrets.
import { createRedactor, createStreamRedactor, redactionRules } from '../src/secrets/index.ts';
import { nowMs, progress, type Row } from './lib.ts';

const LINE = '2026-12-06T22:00:00.000Z info deployment.apps/api rolled out replicas=3/3 ready path=/var/lib/app gen=42\n';
const BIG = LINE.repeat(Math.ceil((64 * 1024) / LINE.length)).slice(0, 64 * 1024);
const SECRETS = ['hunter2-Sup3r/S3cret+value', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'db-Pa55word-2026-prod'];
const BUDGET_MS = 400;

/** MB/s of `fn` over `bytes` per call: the median of five rounds of at least BUDGET_MS / 5 each. */
function throughput(bytes: number, fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = nowMs();
    let n = 0;
    while (nowMs() - start < BUDGET_MS / 5) {
      fn();
      n++;
    }
    rounds.push((bytes * n) / ((nowMs() - start) * 1000));
  }
  rounds.sort((a, b) => a - b);
  return rounds[2] ?? 0;
}

export async function run(): Promise<Row[]> {
  progress('redaction: stateless and stream redactors vs bare copy and indexOf');
  let sink = 0;
  // A real copy: string concatenation and slice make ropes and views, not copies.
  const copyFloor = throughput(BIG.length, () => {
    sink += Buffer.from(BIG, 'latin1').length;
  });
  const indexOfFloor = throughput(BIG.length, () => {
    sink += BIG.indexOf('\u0000never');
  });
  const rows: Row[] = [];
  for (const count of [0, 1, 3]) {
    const secrets = SECRETS.slice(0, count);
    const started = nowMs();
    const rules = redactionRules(secrets);
    const buildMs = nowMs() - started;
    const redact = createRedactor(secrets);
    const stateless = throughput(BIG.length, () => {
      sink += redact(BIG).length;
    });
    const stream = createStreamRedactor(rules);
    const chunked = throughput(BIG.length, () => {
      sink += stream.write(BIG).length;
    });
    const perLine = createStreamRedactor(rules);
    const lines = throughput(LINE.length, () => {
      sink += perLine.write(LINE).length;
    });
    const label = count === 0 ? 'patterns only' : `${count} secret${count > 1 ? 's' : ''}`;
    const detail = { scans: rules.matchers.length, buildMs: Number(buildMs.toFixed(1)) };
    rows.push(
      {
        id: `redaction.stateless.${count}`,
        figure: `redact 64 KiB, ${label} (MB/s)`,
        kind: 'rate',
        value: stateless,
        floor: { label: 'bare Buffer copy', value: copyFloor },
        detail,
      },
      {
        id: `redaction.stream_64k.${count}`,
        figure: `stream redactor, 64 KiB chunks, ${label} (MB/s)`,
        kind: 'rate',
        value: chunked,
        floor: { label: 'bare indexOf', value: indexOfFloor },
        detail,
      },
      {
        id: `redaction.stream_line.${count}`,
        figure: `stream redactor, one line per chunk, ${label} (MB/s)`,
        kind: 'rate',
        value: lines,
        floor: { label: 'bare Buffer copy', value: copyFloor },
        detail: { ...detail, chunksPerSecond: Math.round((lines * 1e6) / LINE.length) },
      },
    );
  }
  if (sink === 0.5) progress('unreachable');
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await run()) {
    const floor = row.floor ? `  floor ${row.floor.label}: ${row.floor.value.toFixed(0)} MB/s` : '';
    process.stdout.write(`${row.figure.padEnd(62)} ${(row.value ?? 0).toFixed(1).padStart(9)}${floor}  ${JSON.stringify(row.detail)}\n`);
  }
}
