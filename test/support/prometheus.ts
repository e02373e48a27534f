import { execFile } from 'node:child_process';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  /** As the parser names it: a counter's family drops its `_total`. */
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

// The Prometheus project's own Python client parser (Debian python3-prometheus-client): a real
// text-format parser nobody here wrote. It raises on malformed exposition text.
const PARSER = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)} for s in f.samples]})
print(json.dumps(out))
`;

/** Parses Prometheus exposition text; rejects with the parser's complaint when it is not valid. */
export function parsePrometheusText(text: string): Promise<Family[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/python3', ['-c', PARSER], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`the Prometheus parser refused the text: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as Family[]);
    });
    child.stdin?.end(text);
  });
}

/** The value of one sample of `family` whose labels include `labels`; undefined when absent. */
export function sampleValue(families: Family[], sampleName: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families)
    for (const s of f.samples) if (s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
  return undefined;
}
