import { classifyPath, isCatastrophic } from '../paths.ts';
import { DOWNLOADERS, hasFlag, operands, optionValue } from './commands.ts';
import { label, type RuleContext, report } from './context.ts';
import type { ShellCommand, ShellWord } from './model.ts';
import { single } from './model.ts';
import { findStartPaths } from './wrappers.ts';

/** Commands that change a file's metadata but not its content: `chmod +x job.sh` keeps what we know of it. */
const METADATA_ONLY = new Set(['chmod', 'chown', 'chgrp', 'touch', 'mkdir']);

/** How a command touches a path: plain write, delete of one entry, or a recursive sweep. */
type Effect = 'write' | 'delete' | 'recursive';

interface Touch {
  word: ShellWord;
  effect: Effect;
}

/** The last operand when there are at least two (`cp a b` → b), or the `-t DIR` value. */
function destination(args: readonly ShellWord[], withValue: string, long: string[] = []): ShellWord[] {
  const t = optionValue(args, '-t', '--target-directory');
  if (t) return [t];
  const ops = operands(args, withValue, long);
  const last = ops[ops.length - 1];
  return ops.length >= 2 && last ? [last] : [];
}

/** What a command writes or deletes, by its argument conventions. Unknown commands touch nothing we can see. */
function touches(cmd: ShellCommand, base: string): Touch[] {
  const all = (words: ShellWord[], effect: Effect) => words.map((word) => ({ word, effect }));
  const args = cmd.args;
  switch (base) {
    case 'rm': {
      const recursive = hasFlag(args, 'rR', ['--recursive']);
      return all(operands(args), recursive ? 'recursive' : 'delete');
    }
    case 'rmdir':
    case 'unlink':
      return all(operands(args), 'delete');
    case 'shred':
      return all(operands(args, 'ns', ['--iterations', '--size']), 'delete');
    case 'tee':
      return all(operands(args), 'write');
    case 'cp':
    case 'ln':
      return all(destination(args, 'tS'), 'write');
    case 'install':
      return all(destination(args, 'gmotS'), 'write');
    case 'mv': {
      const dest = destination(args, 'tS');
      const sources = operands(args, 'tS').filter((w) => !dest.includes(w));
      return [...all(dest, 'write'), ...all(sources, 'recursive')];
    }
    case 'touch':
    case 'mkdir':
    case 'mkfifo':
    case 'truncate':
      return all(operands(args, base === 'touch' ? 'rtd' : base === 'truncate' ? 'sr' : 'm'), 'write');
    case 'chmod':
    case 'chown':
    case 'chgrp': {
      const ops = operands(args);
      const targets = optionValue(args, '', '--reference') ? ops : ops.slice(1);
      return all(targets, hasFlag(args, 'R', ['--recursive']) ? 'recursive' : 'write');
    }
    case 'sed': {
      if (!hasFlag(args, 'i', ['--in-place']) && !args.some((a) => single(a)?.startsWith('--in-place'))) return [];
      const ops = operands(args, 'efl', ['--expression', '--file', '--line-length']);
      const scripted = optionValue(args, '-e', '--expression') || optionValue(args, '-f', '--file');
      return all(scripted ? ops : ops.slice(1), 'write');
    }
    case 'dd':
      return args.flatMap((a) => {
        const v = single(a);
        return v?.startsWith('of=') ? [{ word: { ...a, values: [v.slice(3)] }, effect: 'write' as const }] : [];
      });
    case 'curl': {
      const o = optionValue(args, '-o', '--output');
      return o ? [{ word: o, effect: 'write' }] : [];
    }
    case 'wget': {
      const o = optionValue(args, '-O', '--output-document') ?? optionValue(args, '-P', '--directory-prefix');
      return o ? [{ word: o, effect: 'write' }] : [];
    }
    case 'find':
      return args.some((a) => single(a) === '-delete') ? all(findStartPaths(args), 'recursive') : [];
    default:
      return [];
  }
}

function verb(effect: Effect): string {
  return effect === 'write' ? 'writes' : effect === 'delete' ? 'deletes' : 'recursively deletes or changes';
}

function judgeLiteral(ctx: RuleContext, cmd: ShellCommand, what: string, path: string, effect: Effect): void {
  if (path === '-' || path === '') return;
  const cls = classifyPath(path, ctx.profile);
  if (cls === 'allowed' || cls === 'discard' || cls === 'network') return;
  if (cls === 'device' && effect !== 'delete') {
    report(ctx, cmd, 'shell.destructive', 'deny', `${what} writes to the device ${path}, which can destroy a disk`);
  } else if (effect === 'recursive' && isCatastrophic(cls)) {
    report(ctx, cmd, 'shell.destructive', 'deny', `${what} recursively deletes or changes ${path}: a root or system path`);
  } else {
    report(ctx, cmd, 'shell.write-outside-roots', 'high', `${what} ${verb(effect)} ${path}, outside the allowed roots`);
  }
}

/** `${DIR:?}` fails when DIR is unset; tell the author how to make the dynamic path safe. */
function guardHint(word: ShellWord): string {
  const m = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/.exec(word.text);
  return m ? `; guard it with \${${m[1]}:?}` : '';
}

export function checkFileEffects(ctx: RuleContext, cmd: ShellCommand, base: string): void {
  const what = label(cmd, base);
  if (base === 'rm' && args(cmd).includes('--no-preserve-root')) {
    report(ctx, cmd, 'shell.destructive', 'deny', `${what} --no-preserve-root disables the guard against deleting /`);
  }
  for (const { word, effect } of touches(cmd, base)) {
    if (word.values) {
      for (const v of word.values) {
        judgeLiteral(ctx, cmd, what, v, effect);
        if (!METADATA_ONLY.has(base))
          ctx.files.wrote(v, effect === 'write' && DOWNLOADERS.has(base) ? { kind: 'downloaded', by: base } : null);
      }
      continue;
    }
    if (!METADATA_ONLY.has(base)) ctx.files.forgetAll();
    if (effect !== 'recursive') continue;
    const ifEmpty = word.ifUnsetEmpty ?? '';
    const cls = classifyPath(ifEmpty === '' ? '.' : ifEmpty, ctx.profile);
    if (isCatastrophic(cls)) {
      report(
        ctx,
        cmd,
        'shell.destructive',
        'deny',
        `${what} ${word.text}: if the variable is unset or empty this ${verb(effect)} ${ifEmpty}${guardHint(word)}`,
      );
    } else {
      report(ctx, cmd, 'shell.unresolved-delete', 'high', `${what} ${verb(effect)} ${word.text}, a path known only at run time`);
    }
  }
}

function args(cmd: ShellCommand): string[] {
  return cmd.args.map((a) => single(a) ?? '');
}
