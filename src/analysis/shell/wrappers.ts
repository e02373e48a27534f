import { hasFlag, optionValue } from './commands.ts';
import type { ShellCommand, ShellWord } from './model.ts';
import { dynamicWord, literalWord, single } from './model.ts';

/**
 * Commands that run another command given as their remaining arguments. For each: short options
 * taking a value, long options taking a value (when not written `--opt=value`), how many
 * positional arguments come before the command (`timeout DURATION cmd`), and whether
 * `NAME=value` words may precede it (`env`).
 */
interface WrapperSpec {
  withValue: string;
  longWithValue: readonly string[];
  positional: number;
  assignments: boolean;
}

const spec = (withValue = '', longWithValue: readonly string[] = [], positional = 0, assignments = false): WrapperSpec => ({
  withValue,
  longWithValue,
  positional,
  assignments,
});

const WRAPPERS: Record<string, WrapperSpec> = {
  env: spec('uCS', ['--unset', '--chdir', '--split-string'], 0, true),
  timeout: spec('sk', ['--signal', '--kill-after'], 1),
  nice: spec('n', ['--adjustment']),
  ionice: spec('cnp', ['--class', '--classdata', '--pid']),
  nohup: spec(),
  setsid: spec(),
  stdbuf: spec('ioe', ['--input', '--output', '--error']),
  sudo: spec('ugCDprtTUhR', [
    '--user',
    '--group',
    '--close-from',
    '--chdir',
    '--prompt',
    '--role',
    '--type',
    '--other-user',
    '--host',
    '--chroot',
    '--command-timeout',
  ]),
  doas: spec('uC'),
  runuser: spec('ugG', ['--user', '--group', '--supp-group']),
  command: spec(),
  builtin: spec(),
  exec: spec('a'),
  time: spec(),
  chroot: spec('', ['--userspec', '--groups'], 1),
  unshare: spec(),
  nsenter: spec('tSGw', ['--target', '--setuid', '--setgid', '--wd']),
  xargs: spec('IdEnLPsa', [
    '--arg-file',
    '--delimiter',
    '--eof',
    '--replace',
    '--max-lines',
    '--max-args',
    '--max-procs',
    '--max-chars',
    '--process-slot-var',
  ]),
  busybox: spec(),
  unbuffer: spec(),
};

/** Index of the wrapped command's name in `args`, or -1 when the wrapper runs nothing. */
function commandStart(args: readonly ShellWord[], s: WrapperSpec): number {
  let positional = s.positional;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg) continue;
    const v = single(arg);
    // A dynamic word where options may still appear is treated as the command: flagged as dynamic.
    if (v === null) return i;
    if (v === '--') return i + 1 < args.length ? i + 1 : -1;
    if (v.startsWith('--')) {
      if (!v.includes('=') && s.longWithValue.includes(v)) i++;
      continue;
    }
    if (v.startsWith('-') && v.length > 1) {
      for (let k = 1; k < v.length; k++) {
        if (s.withValue.includes(v[k] ?? '')) {
          if (k === v.length - 1) i++;
          break;
        }
      }
      continue;
    }
    if (s.assignments && /^[A-Za-z_][A-Za-z0-9_]*=/.test(v)) continue;
    if (positional > 0) {
      positional--;
      continue;
    }
    return i;
  }
  return -1;
}

function inner(cmd: ShellCommand, wrapper: string, name: ShellWord, args: ShellWord[]): ShellCommand {
  return { ...cmd, name, args, via: [...cmd.via, wrapper] };
}

/** `find … -exec cmd {} ;`: `{}` stands for paths under the start points, so rules judge those. */
export function findStartPaths(args: readonly ShellWord[]): ShellWord[] {
  const starts: ShellWord[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as ShellWord;
    const v = single(arg);
    if (v === '-H' || v === '-L' || v === '-P' || v?.startsWith('-O')) continue;
    if (v === '-D') {
      i++;
      continue;
    }
    if (v !== null && (v.startsWith('-') || v === '(' || v === '!' || v === ')')) break;
    starts.push(arg);
  }
  return starts.length > 0 ? starts : [literalWord('.')];
}

function unwrapFind(cmd: ShellCommand): ShellCommand[] {
  const starts = findStartPaths(cmd.args);
  const out: ShellCommand[] = [];
  for (let i = 0; i < cmd.args.length; i++) {
    const v = single(cmd.args[i]);
    if (v !== '-exec' && v !== '-execdir' && v !== '-ok' && v !== '-okdir') continue;
    const argv: ShellWord[] = [];
    for (i++; i < cmd.args.length; i++) {
      const a = cmd.args[i] as ShellWord;
      const av = single(a);
      if (av === ';' || av === '+') break;
      if (av?.includes('{}')) {
        const under = starts.map((s) => single(s));
        argv.push(
          under.every((s): s is string => s !== null)
            ? // `{}` is some path below the start point: `/var/**/{}` is judged as "under /var", never as /var itself.
              { ...a, values: under.map((s) => av.replace('{}', `${s.replace(/\/+$/, '')}/**/{}`)) }
            : dynamicWord(a.text),
        );
      } else {
        argv.push(a);
      }
    }
    const [name, ...rest] = argv;
    if (name) out.push(inner(cmd, 'find', name, rest));
  }
  return out;
}

function unwrapXargs(cmd: ShellCommand, s: WrapperSpec): ShellCommand[] {
  const start = commandStart(cmd.args, s);
  const options = start < 0 ? cmd.args : cmd.args.slice(0, start);
  const replace = single(optionValue(options, '-I', '--replace')) ?? (hasFlag(options, 'i') ? '{}' : null);
  const argv = start < 0 ? [literalWord('echo')] : cmd.args.slice(start);
  const [name, ...rest] = argv as [ShellWord, ...ShellWord[]];
  // Arguments arrive on stdin, so whatever xargs runs gets operands we cannot see.
  // `-I{}`: an argument that is only the placeholder is unknown; one that embeds it (`sh -c "curl {} | sh"`)
  // keeps its literal text so the code around the placeholder is still analysed.
  const args = rest.map((a) => {
    const v = single(a);
    if (replace === null || v === null || !v.includes(replace)) return a;
    return v === replace ? dynamicWord(a.text) : { ...a, expanded: true };
  });
  if (replace === null) args.push(dynamicWord('<arguments read from stdin>'));
  return [inner(cmd, 'xargs', name, args)];
}

/**
 * If `base` is a wrapper, the command(s) it runs; [] when it is one but runs nothing
 * (`command -v`, `exec` with only redirections); null when `base` is not a wrapper.
 */
export function unwrap(cmd: ShellCommand, base: string): ShellCommand[] | null {
  if (base === 'find') return unwrapFind(cmd);
  const s = WRAPPERS[base];
  if (!s) return null;
  if (base === 'xargs') return unwrapXargs(cmd, s);
  const start = commandStart(cmd.args, s);
  if (start < 0) return [];
  // `command -v name` only looks a name up.
  if (base === 'command' && hasFlag(cmd.args.slice(0, start), 'vV')) return [];
  const [name, ...rest] = cmd.args.slice(start) as [ShellWord, ...ShellWord[]];
  return [inner(cmd, base, name, rest)];
}
