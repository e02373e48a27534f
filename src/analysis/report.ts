import type { Risk } from '../tools/index.ts';
import type { AnalysisReport, CodeOrigin, Finding, RuleId, Severity } from './types.ts';

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, high: 2, deny: 3 };
const SEVERITY_RISK: Record<Severity, Risk> = { info: 'low', warning: 'medium', high: 'high', deny: 'critical' };

/** Reviewers see snippets in a table: one line, bounded, so a 10 kB heredoc cannot flood the view. */
const SNIPPET_MAX = 160;

export function clipSnippet(text: string): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ⏎ ').trim();
  return oneLine.length > SNIPPET_MAX ? `${oneLine.slice(0, SNIPPET_MAX - 1)}…` : oneLine;
}

export function severityAtLeast(a: Severity, b: Severity): boolean {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b];
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

/** Collects findings for one piece of code, placing them in the submitted script's lines. */
export class FindingSink {
  readonly findings: Finding[];
  readonly #origin: CodeOrigin;

  /** `findings` may be shared with the sink of the enclosing code, so nested analysis reports into one list. */
  constructor(origin: CodeOrigin, findings: Finding[] = []) {
    this.#origin = origin;
    this.findings = findings;
  }

  get origin(): CodeOrigin {
    return this.#origin;
  }

  /**
   * A sink for code nested at `line` (1-based, in this sink's code) reached through `label`
   * (`bash -c`, `eval`): its lines map onto the submitted script and its messages name the path.
   */
  nested(label: string, line: number): FindingSink {
    const parent = this.#origin;
    return new FindingSink(
      {
        lineOffset: parent.lineOffset + line - 1,
        context: parent.context ? `${parent.context} → ${label}` : label,
        depth: parent.depth + 1,
      },
      this.findings,
    );
  }

  /** `line` is 1-based within the current piece of code. */
  add(rule: RuleId, severity: Severity, message: string, line: number, snippet: string): void {
    const context = this.#origin.context;
    this.findings.push({
      rule,
      severity,
      message: context ? `${message} (in ${context})` : message,
      line: Math.max(1, line + this.#origin.lineOffset),
      snippet: clipSnippet(snippet),
    });
  }
}

/** Fold findings into the report: drop exact duplicates, order by line then weight. */
export function buildReport(findings: readonly Finding[]): AnalysisReport {
  const seen = new Set<string>();
  const unique: Finding[] = [];
  for (const f of findings) {
    const key = `${f.rule}\u0000${f.severity}\u0000${f.line}\u0000${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(f);
  }
  unique.sort((a, b) => a.line - b.line || SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.rule.localeCompare(b.rule));
  let top: Severity | undefined;
  for (const f of unique) top = top === undefined ? f.severity : maxSeverity(top, f.severity);
  return { findings: unique, riskFloor: top === undefined ? 'low' : SEVERITY_RISK[top], deny: top === 'deny' };
}
