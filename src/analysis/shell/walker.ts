import type { Node } from 'web-tree-sitter';
import type { FindingSink } from '../report.ts';
import { mktempPath } from './commands.ts';
import { LIMITS, type RuleContext, type ShellShared } from './context.ts';
import { type CommandHost, processCommand } from './dispatch.ts';
import type { ShellCommand, ShellWord, StdinSource } from './model.ts';
import { literalWord, NO_STDIN, single } from './model.ts';
import { literalOutput } from './output.ts';
import { checkRedirect } from './redirects.ts';
import { errorLine, heredocStdin, isForkBomb, RUN_ARGS } from './syntax.ts';
import { type Env, MAX_CANDIDATES, resolveWord } from './words.ts';

class TooComplex extends Error {}

/** Walks one tree-sitter bash tree and hands every command to the rules (see dispatch.ts). */
export class ShellWalker implements CommandHost {
  readonly ctx: RuleContext;
  readonly #shared: ShellShared;
  readonly #env: Env;
  /** Commands whose output a variable holds (`x=$(curl …)`), so `eval "$x"` is judged by its producer. */
  readonly #origins = new Map<string, ShellCommand[]>();
  readonly #functions = new Set<string>();
  /** Commands in a function body that take the function's arguments (`"$@"`), replayed at each call. */
  readonly #forwards = new Map<string, ShellCommand[]>();
  #inFunction: string | null = null;
  readonly #collectors: ShellCommand[][] = [];
  #source = '';
  #stdin: StdinSource = NO_STDIN;
  #lastTop: ShellCommand | null = null;
  #depth = 0;

  constructor(shared: ShellShared, sink: FindingSink, env: Env) {
    this.#shared = shared;
    this.#env = env;
    this.ctx = { sink, profile: shared.profile, files: shared.files };
  }

  /** Parse and walk `code`; never throws: failures become deny findings (fail closed). */
  walk(code: string): void {
    const sink = this.ctx.sink;
    const tree = this.#shared.parser.parse(code);
    if (!tree) {
      sink.add('script.analysis-failed', 'deny', 'the shell parser returned no tree', 1, code.slice(0, 80));
      return;
    }
    try {
      this.#source = code;
      const root = tree.rootNode;
      if (root.hasError) {
        const line = errorLine(root);
        sink.add(
          'shell.parse-error',
          'deny',
          'the script does not parse as shell; it cannot be analysed',
          line,
          code.split('\n')[line - 1] ?? '',
        );
      }
      this.#visit(root);
    } catch (err) {
      if (!(err instanceof TooComplex || err instanceof RangeError)) throw err;
      sink.add('script.too-complex', 'deny', 'the script nests deeper than the analysis follows', 1, code.slice(0, 80));
    } finally {
      tree.delete();
    }
  }

  isFunction(name: string): boolean {
    return this.#functions.has(name);
  }

  forwardsOf(name: string): ShellCommand[] {
    return this.#forwards.get(name) ?? [];
  }

  inFunctionBody(): boolean {
    return this.#inFunction !== null;
  }

  emit(cmd: ShellCommand): void {
    for (const c of this.#collectors) c.push(cmd);
  }

  runShell(code: string, label: string, line: number, sameShell: boolean): void {
    const sink = this.ctx.sink;
    if (++this.#shared.parses.count > LIMITS.nestedParses || sink.origin.depth >= LIMITS.nestingDepth) {
      sink.add('script.too-complex', 'deny', `code nested through ${label} goes deeper than the analysis follows`, line, code);
      return;
    }
    const env = sameShell ? this.#env : new Map(this.#env);
    new ShellWalker(this.#shared, sink.nested(label, line), env).walk(code);
  }

  embedPython(code: string, label: string, line: number): void {
    this.#shared.embedded.push({ language: 'python', code, origin: this.ctx.sink.nested(label, line).origin });
  }

  #collect(fn: () => void): ShellCommand[] {
    const list: ShellCommand[] = [];
    this.#collectors.push(list);
    try {
      fn();
    } finally {
      this.#collectors.pop();
    }
    return list;
  }

  #withStdin(stdin: StdinSource, fn: () => void): void {
    const saved = this.#stdin;
    this.#stdin = stdin;
    try {
      fn();
    } finally {
      this.#stdin = saved;
    }
  }

  /** Resolve a word and walk its substitutions, which run before the command that contains them. */
  #word(node: Node): ShellWord {
    const { word, subs, vars } = resolveWord(node, this.#env, this.#source);
    word.line = node.startPosition.row + 1;
    if (subs.length > 0) {
      this.#lastTop = null;
      word.inner = this.#collect(() => this.#withStdin(NO_STDIN, () => this.#visitAll(subs)));
      // `$(echo rm)`: a substitution of a command with fixed output is that output.
      const only = subs.length === 1 && subs[0]?.type === 'command_substitution' && subs[0].namedChildCount === 1;
      const out =
        only && this.#lastTop && /^"?(\$\(|`)[\s\S]*(\)|`)"?$/.test(node.text)
          ? literalOutput(this.#lastTop)?.replace(/\n+$/, '')
          : undefined;
      if (word.values === null && out !== undefined && /^\S+$/.test(out)) word.values = [out];
    }
    for (const v of vars) word.inner.push(...(this.#origins.get(v) ?? []));
    return word;
  }

  #visit(node: Node): void {
    if (++this.#depth > LIMITS.syntaxDepth) throw new TooComplex();
    try {
      this.#dispatch(node);
    } finally {
      this.#depth--;
    }
  }

  #dispatch(node: Node): void {
    switch (node.type) {
      case 'command':
        this.#command(node);
        break;
      case 'variable_assignment':
        this.#assign(node);
        break;
      case 'declaration_command':
        for (const c of node.namedChildren) {
          if (c.type === 'variable_assignment') this.#assign(c);
          else this.#word(c);
        }
        break;
      case 'unset_command':
        for (const c of node.namedChildren) this.#env.delete(c.text);
        break;
      case 'for_statement':
        this.#for(node);
        break;
      case 'function_definition':
        this.#function(node);
        break;
      case 'pipeline':
        this.#stages(node.namedChildren, NO_STDIN);
        break;
      case 'redirected_statement':
        this.#redirected(node);
        break;
      case 'file_redirect':
      case 'heredoc_redirect':
        this.#redirect(node, null);
        break;
      case 'command_substitution':
      case 'process_substitution':
        this.#withStdin(NO_STDIN, () => this.#visitAll(node.namedChildren));
        break;
      default:
        this.#visitAll(node.namedChildren);
    }
  }

  #visitAll(nodes: readonly Node[]): void {
    for (const n of nodes) this.#visit(n);
  }

  #command(node: Node): void {
    const nameNode = node.childForFieldName('name');
    for (const c of node.namedChildren) if (c.type === 'variable_assignment') this.#word(c.childForFieldName('value') ?? c);
    if (!nameNode) {
      this.#visitAll(node.namedChildren.filter((c) => c.type !== 'variable_assignment'));
      return;
    }
    const name = this.#word(nameNode);
    const args = node.childrenForFieldName('argument').map((a) => this.#word(a));
    let stdin = this.#stdin;
    for (const r of node.childrenForFieldName('redirect')) {
      if (r.type === 'herestring_redirect') stdin = this.#herestring(r);
      else if (r.type === 'heredoc_redirect') stdin = heredocStdin(r);
    }
    const cmd: ShellCommand = { name, args, line: node.startPosition.row + 1, snippet: node.text, via: [], stdin };
    const fn = this.#inFunction;
    if (fn !== null && [name, ...args].some((w) => RUN_ARGS.test(w.text)) && single(name) !== fn) {
      this.#forwards.set(fn, [...this.forwardsOf(fn), cmd]);
    }
    processCommand(this, cmd);
    this.#lastTop = cmd;
    for (const r of node.childrenForFieldName('redirect')) if (r.type !== 'herestring_redirect') this.#redirect(r, cmd);
  }

  #herestring(r: Node): StdinSource {
    const target = r.namedChildren.find((c) => c.type !== 'file_descriptor');
    if (!target) return NO_STDIN;
    const w = this.#word(target);
    const literal = single(w);
    return { literal: literal === null ? null : `${literal}\n`, literalLine: w.line ?? null, upstream: w.inner };
  }

  #assign(node: Node): void {
    const nameNode = node.childForFieldName('name');
    const valueNode = node.childForFieldName('value');
    const word = valueNode ? this.#word(valueNode) : literalWord('');
    if (nameNode?.type !== 'variable_name') return;
    const name = nameNode.text;
    const append = this.#source.slice(nameNode.endIndex, nameNode.endIndex + 2) === '+=';
    const old = this.#env.get(name);
    const made = word.inner.length === 1 && /^"?\$\([^()]*\)"?$/.test(word.text) && word.inner[0] ? mktempPath(word.inner[0]) : null;
    let values = valueNode?.type === 'array' ? null : (word.values ?? (made === null ? null : [made]));
    if (append && values) values = old ? old.flatMap((o) => (values ?? []).map((v) => o + v)) : null;
    if (values && values.length <= MAX_CANDIDATES) this.#env.set(name, values);
    else this.#env.delete(name);
    if (!values && word.inner.length > 0)
      this.#origins.set(name, append ? [...(this.#origins.get(name) ?? []), ...word.inner] : word.inner);
    else if (!append) this.#origins.delete(name);
  }

  #for(node: Node): void {
    const variable = node.childForFieldName('variable');
    const words = node.childrenForFieldName('value').map((v) => this.#word(v));
    const values = words.flatMap((w) => w.values ?? [null]);
    if (variable) {
      if (words.length > 0 && values.length <= MAX_CANDIDATES && values.every((v) => v !== null))
        this.#env.set(variable.text, values as string[]);
      else this.#env.delete(variable.text);
    }
    const body = node.childForFieldName('body');
    if (body) this.#visit(body);
  }

  #function(node: Node): void {
    const name = node.childForFieldName('name')?.text ?? '';
    const body = node.childForFieldName('body');
    if (name) this.#functions.add(name);
    if (!body) return;
    if (isForkBomb(body, name)) {
      const msg = `function ${name} calls itself in a pipe or in the background: a fork bomb`;
      this.ctx.sink.add('shell.destructive', 'deny', msg, node.startPosition.row + 1, node.text);
    }
    this.#forwards.delete(name);
    const saved = this.#inFunction;
    this.#inFunction = name;
    try {
      this.#visit(body);
    } finally {
      this.#inFunction = saved;
    }
  }

  /** Pipeline stages in order; each stage reads what the earlier ones produce. */
  #stages(stages: readonly Node[], first: StdinSource): void {
    const upstream = [...first.upstream];
    let stdin = first;
    for (const stage of stages) {
      this.#lastTop = null;
      const seen = this.#collect(() => this.#withStdin(stdin, () => this.#visit(stage)));
      const producer = this.#lastTop as ShellCommand | null;
      upstream.push(...seen);
      const literal = producer && (stage.type === 'command' || stage.type === 'redirected_statement') ? literalOutput(producer) : null;
      const snippet = stage.parent?.text ?? stage.text;
      stdin = { literal, literalLine: literal === null ? null : (producer?.line ?? null), upstream: [...upstream], snippet };
    }
  }

  /** Input redirections feed the body; output redirections are judged after it, knowing what it printed. */
  #redirected(node: Node): void {
    const body = node.childForFieldName('body');
    let stdin = this.#stdin;
    let piped: Node[] = [];
    const outputs: Node[] = [];
    for (const r of node.childrenForFieldName('redirect')) {
      if (r.type === 'heredoc_redirect') {
        stdin = heredocStdin(r);
        piped = r.namedChildren.filter((c) => c.type === 'pipeline').flatMap((p) => p.namedChildren);
        for (const c of r.namedChildren) {
          // An unquoted here-doc's substitutions run in this shell before the command.
          if (c.type === 'heredoc_body') this.#visitAll(c.namedChildren);
          else if (c.type === 'file_redirect') outputs.push(c);
        }
      } else if (r.type === 'herestring_redirect') {
        stdin = this.#herestring(r);
      } else if (
        r.type === 'file_redirect' &&
        r.childForFieldName('destination')?.type === 'process_substitution' &&
        r.text.trimStart().startsWith('<')
      ) {
        stdin = { literal: null, literalLine: null, upstream: this.#word(r.childForFieldName('destination') as Node).inner };
      } else {
        outputs.push(r);
      }
    }
    if (stdin !== this.#stdin) stdin = { ...stdin, snippet: node.text };
    let producer: ShellCommand | null = null;
    if (body) {
      // `cat <<EOF | sh`: tree-sitter hangs the rest of the pipeline off the here-doc.
      this.#stages([body, ...piped], stdin);
      if (body.type === 'command' && piped.length === 0) producer = this.#lastTop;
    }
    for (const r of outputs) this.#redirect(r, producer);
  }

  #redirect(r: Node, producer: ShellCommand | null): void {
    if (r.type === 'heredoc_redirect') {
      for (const c of r.namedChildren) {
        if (c.type === 'heredoc_body') this.#visitAll(c.namedChildren);
        else if (c.type === 'file_redirect') this.#redirect(c, producer);
      }
      return;
    }
    if (r.type !== 'file_redirect') return;
    const dest = r.childForFieldName('destination');
    if (!dest) return;
    const op = r.children.find((c) => !c.isNamed)?.type ?? '';
    checkRedirect(this.ctx, op, this.#word(dest), r.startPosition.row + 1, r.parent?.text ?? r.text, producer);
  }
}
