import { baseName, DOWNLOADERS, isDecoder } from './commands.ts';
import { label, type RuleContext, report } from './context.ts';
import { type CodeSource, codeSources } from './exec.ts';
import type { ShellCommand, ShellWord } from './model.ts';
import { checkFileEffects } from './rules-files.ts';
import { checkNetwork } from './rules-network.ts';
import { checkSystem } from './rules-system.ts';
import { RUN_ARGS } from './syntax.ts';
import { unwrap } from './wrappers.ts';

/** What command processing needs from the walker that found the command. */
export interface CommandHost {
  readonly ctx: RuleContext;
  isFunction(name: string): boolean;
  /**
   * Commands in a script function that use its arguments (`run() { "$@"; }`, `myrm() { rm -i "$@"; }`):
   * each call replays them with the call's arguments, so a wrapper function hides nothing.
   */
  forwardsOf(name: string): ShellCommand[];
  /** True while walking a function body, where `"$@"` means the function's arguments, judged at each call. */
  inFunctionBody(): boolean;
  /** Record a command for the pipeline or substitution being collected. */
  emit(cmd: ShellCommand): void;
  /** Parse and walk shell code found in a string; `sameShell` for `eval`/`source` (they share variables). */
  runShell(code: string, label: string, line: number, sameShell: boolean): void;
  /** Queue Python code for the Python analyser. */
  embedPython(code: string, label: string, line: number): void;
}

/** `bash /dev/stdin`, `. /dev/fd/0`: a script file that is the command's standard input. */
const STDIN_PATHS = new Set(['-', '/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/** Wrappers inside wrappers beyond this depth are refused rather than followed forever. */
const MAX_WRAPPERS = 16;

function bases(cmd: ShellCommand): string[] {
  return (cmd.name.values ?? []).map(baseName);
}

function findProducer(cmds: readonly ShellCommand[], test: (c: ShellCommand, base: string) => boolean): string | undefined {
  for (const c of cmds) for (const b of bases(c)) if (test(c, b)) return b;
  return undefined;
}

/**
 * Judge code that comes out of other commands (a pipe, `<(…)`, `$(…)`): downloaded or decoded
 * code is refused outright; a literal producer (`echo '…' | sh`) is analysed as code; anything
 * else is code decided at run time.
 */
function judgeProduced(
  host: CommandHost,
  cmd: ShellCommand,
  src: CodeSource,
  upstream: readonly ShellCommand[],
  literal: string | null,
  line: number,
): void {
  const downloader = findProducer(upstream, (_c, b) => DOWNLOADERS.has(b));
  if (downloader) {
    report(host.ctx, cmd, 'shell.download-exec', 'deny', `${src.label} runs code downloaded at run time by ${downloader}`);
    return;
  }
  const decoder = findProducer(upstream, (c, b) => isDecoder(c, b));
  if (decoder) {
    report(host.ctx, cmd, 'shell.decode-exec', 'deny', `${src.label} runs code decoded by ${decoder}, hiding what runs`);
    return;
  }
  if (literal !== null) {
    runLiteral(host, cmd, src, literal, line);
    return;
  }
  if (upstream.length > 0) {
    const names = [...new Set(upstream.flatMap(bases))].join(', ') || 'a dynamic command';
    report(host.ctx, cmd, 'shell.pipe-to-interpreter', 'high', `${src.label} runs the output of ${names} as code`);
  }
}

const AWK_ESCAPES = /\bsystem\s*\(|\|\s*getline|\|&|print[^;}]*\|\s*"/;

function runLiteral(host: CommandHost, cmd: ShellCommand, src: CodeSource, code: string, line: number): void {
  if (src.language === 'shell') host.runShell(code, src.label, line, src.kind === 'inline' && src.sameShell);
  else if (src.language === 'python') host.embedPython(code, src.label, line);
  else if (src.language === 'awk') {
    if (AWK_ESCAPES.test(code))
      report(host.ctx, cmd, 'shell.inline-interpreter', 'high', `${src.label} program runs commands (system, pipes)`);
  } else {
    report(host.ctx, cmd, 'shell.inline-interpreter', 'high', `${src.label} runs inline code the analysis does not parse`);
  }
}

/** A script file: judged by what the script itself put there, when it did (see files.ts). */
function runFile(host: CommandHost, cmd: ShellCommand, src: CodeSource, path: string): void {
  const origin = host.ctx.files.get(path);
  // `./job.sh` runs itself: name it once in messages, not as "./job.sh runs ./job.sh".
  const self = src.label.startsWith(path);
  if (origin?.kind === 'downloaded') {
    const what = self ? `${src.label} runs a file` : `${src.label} runs ${path}, a file`;
    report(host.ctx, cmd, 'shell.download-exec', 'deny', `${what} that ${origin.by} downloaded at run time`);
  } else if (origin?.kind === 'literal') {
    runLiteral(
      host,
      cmd,
      { ...src, label: self ? src.label : `${src.label} ${path}` },
      origin.text,
      origin.line - host.ctx.sink.origin.lineOffset,
    );
  } else {
    const what = self ? `${src.label} runs a local file` : `${src.label} runs the file ${path}`;
    report(host.ctx, cmd, 'shell.opaque-script', 'warning', `${what} whose content the analysis cannot see`);
  }
}

function runCode(host: CommandHost, cmd: ShellCommand, src: CodeSource): void {
  if (src.kind === 'stdin') {
    const piped = cmd.stdin.snippet ? { ...cmd, snippet: cmd.stdin.snippet } : cmd;
    judgeProduced(host, piped, src, cmd.stdin.upstream, cmd.stdin.literal, cmd.stdin.literalLine ?? cmd.line);
    return;
  }
  const w: ShellWord = src.word;
  const line = w.line ?? cmd.line;
  if (src.kind === 'file') {
    if (w.processSubstitution) judgeProduced(host, cmd, src, w.inner, null, line);
    else if (w.values === null)
      report(host.ctx, cmd, 'shell.dynamic-code', 'high', `${src.label} runs a script whose path is known only at run time: ${w.text}`);
    else if (w.values.some((p) => STDIN_PATHS.has(p))) runCode(host, cmd, { kind: 'stdin', language: src.language, label: src.label });
    else for (const path of w.values) runFile(host, cmd, src, path);
    return;
  }
  if (w.values === null) {
    judgeProduced(host, cmd, src, w.inner, null, line);
    if (w.inner.length === 0)
      report(host.ctx, cmd, 'shell.dynamic-code', 'high', `${src.label} runs code known only at run time: ${w.text}`);
    return;
  }
  for (const code of w.values) runLiteral(host, cmd, src, code, line);
}

function reportName(host: CommandHost, cmd: ShellCommand): void {
  const name = cmd.name;
  const shown = name.values?.join(' | ');
  if (name.expanded) {
    report(
      host.ctx,
      cmd,
      'shell.dynamic-command',
      'high',
      `the command name ${name.text} is an expansion; from the script's assignments it is ${shown}`,
    );
  } else if (name.quoted) {
    report(
      host.ctx,
      cmd,
      'shell.obfuscated-name',
      'high',
      `the command name ${name.text} is built from quotes or escapes; it runs ${shown}`,
    );
  }
  if (name.braced) report(host.ctx, cmd, 'shell.obfuscated-name', 'high', `the command name ${name.text} uses brace expansion`);
}

/** A forwarding command from a function body, with `"$@"` replaced by the arguments of the call. */
function replay(template: ShellCommand, call: ShellCommand, fn: string): ShellCommand {
  const argv = [template.name, ...template.args].flatMap((w) => (RUN_ARGS.test(w.text) ? call.args : [w]));
  const [name, ...args] = argv;
  return { ...call, name: name ?? call.name, args, via: [...call.via, fn] };
}

/** Judge one command: its name, the rules for what it is, what it wraps and what code it runs. */
export function processCommand(host: CommandHost, cmd: ShellCommand, wrapDepth = 0): void {
  host.emit(cmd);
  if (wrapDepth > MAX_WRAPPERS) {
    report(host.ctx, cmd, 'script.too-complex', 'deny', 'wrappers nest deeper than the analysis follows');
    return;
  }
  const name = cmd.name;
  if (name.values === null && host.inFunctionBody() && RUN_ARGS.test(name.text)) return;
  if (name.values === null) {
    const fake: CodeSource = { kind: 'stdin', language: 'shell', label: `the command name ${name.text}` };
    const before = host.ctx.sink.findings.length;
    judgeProduced(host, cmd, fake, name.inner, null, cmd.line);
    if (host.ctx.sink.findings.length === before) {
      report(host.ctx, cmd, 'shell.dynamic-command', 'high', `the command name ${name.text} is decided at run time`);
    }
    return;
  }
  reportName(host, cmd);
  for (const value of new Set(name.values)) {
    if (value === '') continue;
    // Only a direct call finds a shell function: `command rm`, `sudo rm`, `xargs rm` run the program.
    const direct = cmd.via.length === 0 || host.isFunction(cmd.via[cmd.via.length - 1] ?? '');
    if (direct && host.isFunction(value)) {
      for (const template of host.forwardsOf(value)) processCommand(host, replay(template, cmd, value), wrapDepth + 1);
      continue;
    }
    if (/[*?[]/.test(value)) {
      report(
        host.ctx,
        cmd,
        'shell.obfuscated-name',
        'high',
        `the command name ${value} is a glob, resolved from the filesystem at run time`,
      );
      continue;
    }
    const base = baseName(value);
    const named: ShellCommand = { ...cmd, name: { ...name, values: [value] } };
    // `./job.sh` or `/tmp/job`: a file run directly. The kernel picks the interpreter from the shebang
    // (shell unless it names python). An absolute path the script did not write is an installed program.
    const origin = value.includes('/') ? host.ctx.files.get(value) : undefined;
    if (origin || (value.includes('/') && !value.startsWith('/'))) {
      const python = origin?.kind === 'literal' && /^#!.*python/.test(origin.text);
      runFile(host, cmd, { kind: 'stdin', language: python ? 'python' : 'shell', label: label(cmd, value) }, value);
    }
    if (base === 'eval') report(host.ctx, cmd, 'shell.eval', 'high', `${label(cmd, 'eval')} runs a string as shell code`);
    checkSystem(host.ctx, named, base);
    checkNetwork(host.ctx, named, base);
    checkFileEffects(host.ctx, named, base);
    for (const wrapped of unwrap(named, base) ?? []) processCommand(host, wrapped, wrapDepth + 1);
    for (const src of codeSources(named, base)) runCode(host, named, src);
  }
}
