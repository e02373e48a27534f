import { judgeEgress } from '../egress.ts';
import { classifyPath } from '../paths.ts';
import { baseName, DOWNLOADERS } from './commands.ts';
import type { RuleContext } from './context.ts';
import type { FileOrigin } from './files.ts';
import type { ShellCommand, ShellWord } from './model.ts';
import { literalOutput } from './output.ts';
import { devTcpTarget } from './rules-network.ts';

/** What `producer > file` leaves in the file: downloaded bytes, known text, or (null) unknown content. */
function producerOrigin(ctx: RuleContext, producer: ShellCommand | null): FileOrigin | null {
  if (!producer) return null;
  const downloader = (producer.name.values ?? []).map(baseName).find((b) => DOWNLOADERS.has(b));
  if (downloader) return { kind: 'downloaded', by: downloader };
  const text = literalOutput(producer);
  const line = ctx.sink.origin.lineOffset + (producer.stdin.literalLine ?? producer.line);
  return text === null ? null : { kind: 'literal', text, line };
}

/** Operators that open their destination for writing (`>&file` too, unless it names a descriptor). */
const WRITE_OPS = new Set(['>', '>>', '&>', '&>>', '>|', '>&', '<>']);

/**
 * A redirection: writes outside the allowed roots, writes to raw devices, and sockets opened
 * through /dev/tcp. A destination known only at run time is left to the sandbox's read-only
 * binds: flagging every `> "$out"` would bury the findings that matter.
 */
export function checkRedirect(
  ctx: RuleContext,
  op: string,
  dest: ShellWord,
  line: number,
  snippet: string,
  producer: ShellCommand | null,
): void {
  const writes = WRITE_OPS.has(op);
  if (writes && dest.values === null) ctx.files.forgetAll();
  for (const path of dest.values ?? []) {
    if (op.endsWith('&') && /^(\d+|-)$/.test(path)) continue;
    const target = devTcpTarget(path);
    if (target !== undefined) {
      const verdict = judgeEgress(ctx.profile, [target]);
      ctx.sink.add('shell.network', verdict.severity, `a redirection opens a socket through ${path}: ${verdict.reason}`, line, snippet);
      continue;
    }
    if (!writes) continue;
    ctx.files.wrote(path, producerOrigin(ctx, producer), op === '>>' || op === '&>>');
    const cls = classifyPath(path, ctx.profile);
    if (cls === 'device') {
      ctx.sink.add('shell.destructive', 'deny', `output is redirected to the device ${path}, which can destroy a disk`, line, snippet);
    } else if (cls === 'root' || cls === 'system' || cls === 'outside') {
      ctx.sink.add('shell.write-outside-roots', 'high', `output is redirected to ${path}, outside the allowed roots`, line, snippet);
    }
  }
}
