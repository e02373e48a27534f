import { baseName } from './commands.ts';
import type { ShellCommand } from './model.ts';
import { single } from './model.ts';
import { decodeAnsiC } from './words.ts';

/** What a command prints when that is fixed by its literal arguments (`echo`, `printf`, `cat <<EOF`). */
export function literalOutput(cmd: ShellCommand): string | null {
  const name = single(cmd.name);
  if (name === null) return null;
  const args = cmd.args.map(single);
  if (args.some((a) => a === null)) return null;
  const strs = args as string[];
  switch (baseName(name)) {
    case 'echo': {
      let i = 0;
      let escapes = false;
      while (i < strs.length && /^-[neE]+$/.test(strs[i] ?? '')) escapes ||= (strs[i++] ?? '').includes('e');
      const text = strs.slice(i).join(' ');
      return escapes ? decodeAnsiC(text) : text;
    }
    case 'printf': {
      const [format, ...rest] = strs;
      if (format === undefined) return null;
      if (/^%s(\\n)?$/.test(format)) return rest.join('');
      return format.includes('%') ? null : decodeAnsiC(format);
    }
    case 'cat':
      return strs.length === 0 ? cmd.stdin.literal : null;
    default:
      return null;
  }
}
