import type { Parser } from 'web-tree-sitter';
import type { SandboxProfile } from '../../tools/index.ts';
import { FindingSink } from '../report.ts';
import type { CodeOrigin, EmbeddedCode, PassResult } from '../types.ts';
import { ScriptFiles } from './files.ts';
import { ShellWalker } from './walker.ts';

/**
 * One shell pass: findings for `code` and every shell string nested in it (`bash -c`, `eval`),
 * plus the Python code it hands on (`python3 -c`, `python3 <<EOF`). Synchronous: the parser is
 * loaded by the caller.
 */
export function analyzeShell(parser: Parser, code: string, profile: SandboxProfile, origin: CodeOrigin): PassResult {
  const sink = new FindingSink(origin);
  const embedded: EmbeddedCode[] = [];
  new ShellWalker({ parser, profile, embedded, parses: { count: 0 }, files: new ScriptFiles() }, sink, new Map()).walk(code);
  return { findings: sink.findings, embedded };
}
