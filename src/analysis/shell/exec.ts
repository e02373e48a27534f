import { AWKS, isPython, OTHER_INTERPRETERS, operands, optionValue, SHELLS } from './commands.ts';
import type { ShellCommand, ShellWord } from './model.ts';
import { single } from './model.ts';

/** `awk` is listed apart: most awk programs are harmless text processing, so only some are flagged. */
export type CodeLanguage = 'shell' | 'python' | 'awk' | 'other';

/**
 * Where a command takes code from: an inline string (`bash -c`, `eval`, `python -c`, `trap`),
 * a file (a script path, or `<(curl …)`), or its standard input (`curl … | sh`).
 */
export type CodeSource =
  | { kind: 'inline'; language: CodeLanguage; word: ShellWord; label: string; sameShell: boolean }
  | { kind: 'file'; language: CodeLanguage; word: ShellWord; label: string }
  | { kind: 'stdin'; language: CodeLanguage; label: string };

/** Several words run as one string (`eval a b`, `ssh host cmd args`), joined with spaces as the shell does. */
export function joinWords(words: readonly ShellWord[]): ShellWord {
  const all = words.map(single);
  return {
    text: words.map((w) => w.text).join(' '),
    values: all.every((v): v is string => v !== null) ? [all.join(' ')] : null,
    ifUnsetEmpty: null,
    quoted: words.some((w) => w.quoted),
    braced: false,
    expanded: words.some((w) => w.expanded),
    processSubstitution: words.some((w) => w.processSubstitution),
    inner: words.flatMap((w) => w.inner),
  };
}

function shellSources(cmd: ShellCommand, name: string): CodeSource[] {
  let inlineFlag = false;
  let stdinFlag = false;
  const ops: ShellWord[] = [];
  for (let i = 0; i < cmd.args.length; i++) {
    const a = cmd.args[i] as ShellWord;
    const v = single(a);
    if (ops.length === 0 && v !== null && /^[-+][a-zA-Z]+$/.test(v)) {
      if (v.startsWith('-') && v.includes('c')) inlineFlag = true;
      if (v.startsWith('-') && v.includes('s')) stdinFlag = true;
      if (v.endsWith('o')) i++;
      continue;
    }
    if (ops.length === 0 && (v === '--rcfile' || v === '--init-file')) {
      i++;
      continue;
    }
    if (ops.length === 0 && v?.startsWith('--')) continue;
    ops.push(a);
  }
  const first = ops[0];
  if (inlineFlag && first) return [{ kind: 'inline', language: 'shell', word: first, label: `${name} -c`, sameShell: false }];
  if (!stdinFlag && first) return [{ kind: 'file', language: 'shell', word: first, label: name }];
  return [{ kind: 'stdin', language: 'shell', label: name }];
}

function pythonSources(cmd: ShellCommand, name: string): CodeSource[] {
  for (let i = 0; i < cmd.args.length; i++) {
    const a = cmd.args[i] as ShellWord;
    const v = single(a);
    if (v === null || !v.startsWith('-') || v === '-') {
      if (v === '-') break;
      return [{ kind: 'file', language: 'python', word: a, label: name }];
    }
    if (/^-[a-zA-Z]*c$/.test(v)) {
      const code = cmd.args[i + 1];
      return code ? [{ kind: 'inline', language: 'python', word: code, label: `${name} -c`, sameShell: false }] : [];
    }
    // `-m module` runs an installed module: not code in the plan, and not ours to judge here.
    if (/^-[a-zA-Z]*m$/.test(v)) return [];
    if (/^-[a-zA-Z]*[WXQ]$/.test(v)) i++;
  }
  return [{ kind: 'stdin', language: 'python', label: name }];
}

function otherSources(cmd: ShellCommand, name: string, inlineFlags: readonly string[]): CodeSource[] {
  for (let i = 0; i < cmd.args.length; i++) {
    const a = cmd.args[i] as ShellWord;
    const v = single(a);
    const clusterEnds = (f: string) => f.length === 2 && v !== null && new RegExp(`^-[a-zA-Z]*${f[1]}$`).test(v);
    if (v !== null && inlineFlags.some((f) => f === v || clusterEnds(f))) {
      const code = cmd.args[i + 1];
      return code ? [{ kind: 'inline', language: 'other', word: code, label: `${name} ${v}`, sameShell: false }] : [];
    }
    if (v === null || !v.startsWith('-')) return [{ kind: 'file', language: 'other', word: a, label: name }];
  }
  return [{ kind: 'stdin', language: 'other', label: name }];
}

function awkSources(cmd: ShellCommand, name: string): CodeSource[] {
  const file = optionValue(cmd.args, '-f', '--file');
  if (file) return [{ kind: 'file', language: 'awk', word: file, label: name }];
  const program = operands(cmd.args, 'Fv', ['--field-separator', '--assign'])[0];
  return program ? [{ kind: 'inline', language: 'awk', word: program, label: name, sameShell: false }] : [];
}

/** Every piece of code `cmd` (already unwrapped, named `base`) would run. */
export function codeSources(cmd: ShellCommand, base: string): CodeSource[] {
  if (SHELLS.has(base)) return shellSources(cmd, base);
  if (isPython(base)) return pythonSources(cmd, base);
  if (AWKS.has(base)) return awkSources(cmd, base);
  const other = OTHER_INTERPRETERS[base];
  if (other) return otherSources(cmd, base, other);
  const inline = (word: ShellWord | undefined, label: string, sameShell: boolean): CodeSource[] =>
    word ? [{ kind: 'inline', language: 'shell', word, label, sameShell }] : [];
  switch (base) {
    case 'eval':
      return cmd.args.length > 0 ? inline(joinWords(cmd.args), 'eval', true) : [];
    case 'source':
    case '.': {
      const file = cmd.args[0];
      return file ? [{ kind: 'file', language: 'shell', word: file, label: base }] : [];
    }
    case 'trap': {
      const first = single(cmd.args[0]);
      return first === '-l' || first === '-p' || first === '-' ? [] : inline(cmd.args[0], 'trap', true);
    }
    case 'alias':
      return cmd.args.flatMap((a) => {
        const v = single(a);
        const eq = v?.indexOf('=') ?? -1;
        return v !== null && eq > 0 ? inline({ ...a, values: [v.slice(eq + 1)] }, 'alias', true) : [];
      });
    case 'su':
    case 'runuser':
      return inline(optionValue(cmd.args, '-c', '--command'), `${base} -c`, false);
    case 'env':
      return inline(optionValue(cmd.args, '-S', '--split-string'), 'env -S', false);
    case 'watch': {
      const rest = operands(cmd.args, 'nq', ['--interval', '--chgexit']);
      return rest.length > 0 ? inline(joinWords(rest), 'watch', false) : [];
    }
    case 'ssh': {
      const [, ...remote] = operands(cmd.args, 'BbcDEeFIiJLlmOopQRSWw');
      return remote.length > 0 ? inline(joinWords(remote), 'ssh (remote command)', false) : [];
    }
    default:
      return [];
  }
}
