import type { Parser } from 'web-tree-sitter';
import type { SandboxProfile } from '../../tools/index.ts';
import type { FindingSink } from '../report.ts';
import type { EmbeddedCode, RuleId, Severity } from '../types.ts';
import type { ScriptFiles } from './files.ts';
import type { ShellCommand } from './model.ts';

/** What a command rule needs: where to report, and the profile it is judged against. */
export interface RuleContext {
  sink: FindingSink;
  profile: SandboxProfile;
  /** Files the script wrote, to judge running them later. */
  files: ScriptFiles;
}

/** `rm` or `rm (via sudo → xargs)`: reviewers need to see that a wrapper was peeled off. */
export function label(cmd: ShellCommand, base: string): string {
  return cmd.via.length > 0 ? `${base} (via ${cmd.via.join(' → ')})` : base;
}

export function report(ctx: RuleContext, cmd: ShellCommand, rule: RuleId, severity: Severity, message: string): void {
  ctx.sink.add(rule, severity, message, cmd.line, cmd.snippet);
}

/** State shared by the walk of one submitted script and every piece of shell nested in it. */
export interface ShellShared {
  parser: Parser;
  profile: SandboxProfile;
  /** Python code found along the way, analysed afterwards by the Python worker. */
  embedded: EmbeddedCode[];
  /** Nested parses so far: a script that unfolds into hundreds of `bash -c` layers is refused. */
  parses: { count: number };
  files: ScriptFiles;
}

/** Limits that make hostile input cost bounded work; exceeding one yields a deny finding. */
export const LIMITS = { nestedParses: 64, nestingDepth: 8, syntaxDepth: 400 } as const;
