import type { Node } from 'web-tree-sitter';
import type { ShellWord } from './model.ts';

/**
 * Literal values of shell variables as far as the script shows them (`a=rm`, `for c in rm ls`).
 * A missing key means unknown. Flat on purpose: one scope is a sound over-approximation for
 * "what might this name be", and scripts proposed by agents are short.
 */
export type Env = Map<string, string[]>;

/** More candidates than this and we stop enumerating: the word counts as dynamic. */
export const MAX_CANDIDATES = 8;
/** Longer values count as dynamic: `a=$a$a` repeated would otherwise double without bound. */
const MAX_VALUE = 512 * 1024;

interface Parts {
  values: string[] | null;
  empty: string;
  dynamic: boolean;
  quoted: boolean;
  braced: boolean;
  subs: Node[];
  /** Variables the word expands, so the walker can tell what produced their values. */
  vars: string[];
}

function cross(a: string[] | null, b: string[] | null): string[] | null {
  if (a === null || b === null) return null;
  const out: string[] = [];
  for (const x of a) for (const y of b) out.push(x + y);
  return out.length > MAX_CANDIDATES || out.some((v) => v.length > MAX_VALUE) ? null : out;
}

/** Unquoted word: a backslash quotes the next character; backslash-newline disappears. */
function unescapeBare(text: string): string {
  return text.replace(/\\\n/g, '').replace(/\\(.)/gs, '$1');
}

/** Inside double quotes only `\$ \` \" \\` and backslash-newline are escapes. */
function unescapeDouble(text: string): string {
  return text.replace(/\\\n/g, '').replace(/\\([$`"\\])/g, '$1');
}

const C_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** `$'…'` strings: the ANSI-C escapes bash decodes, which is how `$'\x72\x6d'` spells `rm`. */
export function decodeAnsiC(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)/gs, (_m, esc: string) => {
    const head = esc[0] ?? '';
    if (head === 'x' || head === 'u' || head === 'U') return String.fromCodePoint(Number.parseInt(esc.slice(1), 16) % 0x110000);
    if (/[0-7]/.test(head)) return String.fromCharCode(Number.parseInt(esc, 8) & 0xff);
    if (head === 'c') return String.fromCharCode((esc.charCodeAt(1) ?? 0) & 0x1f);
    return C_ESCAPES[head] ?? esc;
  });
}

/** One level of unquoted brace expansion (`{a,b}`, `{1..3}`), enough to see through `{r,}m`. */
export function expandBraces(text: string): string[] | null {
  const m = /^(.*?)\{([^{}]*)\}(.*)$/s.exec(text);
  if (!m) return null;
  const [, pre = '', body = '', post = ''] = m;
  let items: string[];
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body) ?? /^([a-zA-Z])\.\.([a-zA-Z])$/.exec(body);
  if (range) {
    const numeric = /\d/.test(range[1] ?? '');
    const a = numeric ? Number(range[1]) : (range[1] ?? 'a').charCodeAt(0);
    const b = numeric ? Number(range[2]) : (range[2] ?? 'a').charCodeAt(0);
    if (Math.abs(b - a) >= MAX_CANDIDATES) return null;
    items = [];
    for (let i = a; a <= b ? i <= b : i >= b; i += a <= b ? 1 : -1) items.push(numeric ? String(i) : String.fromCharCode(i));
  } else if (body.includes(',')) {
    items = body.split(',');
  } else {
    return null;
  }
  const out = items.map((i) => pre + i + post);
  return out.length > MAX_CANDIDATES ? null : out;
}

function lookup(name: string, env: Env): string[] | null {
  return env.get(name) ?? null;
}

/** Command and process substitutions directly inside a node, not inside another substitution. */
function substitutions(node: Node, out: Node[]): void {
  for (const child of node.namedChildren) {
    if (child.type === 'command_substitution' || child.type === 'process_substitution') out.push(child);
    else substitutions(child, out);
  }
}

function dynamicParts(node: Node): Parts {
  const subs: Node[] = [];
  if (node.type === 'command_substitution' || node.type === 'process_substitution') subs.push(node);
  else substitutions(node, subs);
  return { values: null, empty: '', dynamic: true, quoted: false, braced: false, subs, vars: [] };
}

function expansionParts(node: Node, env: Env): Parts {
  // `${name}` only; `${name:-x}`, `${#name}`, `${name/a/b}` depend on run-time state.
  const kids = node.namedChildren;
  const only = kids.length === 1 ? kids[0] : undefined;
  const plain = only?.type === 'variable_name' && node.text === `\${${only.text}}`;
  const parts = dynamicParts(node);
  if (plain) parts.values = lookup(only.text, env);
  const name = kids.find((k) => k.type === 'variable_name');
  if (name) parts.vars.push(name.text);
  // `${X:?}` aborts the script when X is unset or empty, so "empty" is not a value it can take.
  if (/^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?/.test(node.text)) parts.empty = node.text;
  // `${X:-default}` with a plain literal default is what the word is when X is unset.
  const dflt = /^\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^$`"'\\{}]*)\}$/.exec(node.text);
  if (dflt) parts.empty = dflt[1] ?? '';
  return parts;
}

function stringParts(node: Node, env: Env, source: string): Parts {
  // Rebuild from source offsets: tree-sitter drops newlines between string_content children.
  const inner = source.slice(node.startIndex + 1, node.endIndex - 1);
  const base = node.startIndex + 1;
  let acc: Parts = { values: [''], empty: '', dynamic: false, quoted: true, braced: false, subs: [], vars: [] };
  let cursor = 0;
  for (const child of node.namedChildren) {
    if (child.type === 'string_content') continue;
    const lit = unescapeDouble(inner.slice(cursor, child.startIndex - base));
    const part = partsOf(child, env, source);
    acc = joinParts(joinParts(acc, literalParts(lit, true)), part);
    cursor = child.endIndex - base;
  }
  return joinParts(acc, literalParts(unescapeDouble(inner.slice(cursor)), true));
}

function literalParts(value: string, quoted: boolean): Parts {
  return { values: [value], empty: value, dynamic: false, quoted, braced: false, subs: [], vars: [] };
}

function joinParts(a: Parts, b: Parts): Parts {
  return {
    values: cross(a.values, b.values),
    empty: a.empty + b.empty,
    dynamic: a.dynamic || b.dynamic,
    quoted: a.quoted || b.quoted,
    braced: a.braced || b.braced,
    subs: [...a.subs, ...b.subs],
    vars: [...a.vars, ...b.vars],
  };
}

function partsOf(node: Node, env: Env, source: string): Parts {
  switch (node.type) {
    case 'word':
    case 'number':
    case 'command_name': {
      if (node.type === 'command_name' || node.namedChildCount > 0) {
        return node.namedChildren.reduce((acc, c) => joinParts(acc, partsOf(c, env, source)), literalParts('', false));
      }
      const text = node.text;
      const value = unescapeBare(text);
      const braces = node.type === 'word' && !text.includes('\\') ? expandBraces(value) : null;
      const p = literalParts(value, value !== text);
      if (braces) return { ...p, values: braces, braced: true };
      return p;
    }
    case 'raw_string':
      return literalParts(node.text.slice(1, -1), true);
    case 'ansi_c_string':
      return literalParts(decodeAnsiC(node.text.slice(2, -1)), true);
    case 'string':
      return stringParts(node, env, source);
    case 'translated_string': {
      const str = node.namedChildren[0];
      return str ? { ...partsOf(str, env, source), quoted: true } : literalParts('', true);
    }
    case 'concatenation':
      return node.namedChildren.reduce((acc, c) => joinParts(acc, partsOf(c, env, source)), literalParts('', false));
    case 'simple_expansion': {
      const parts = dynamicParts(node);
      const name = node.namedChildren[0];
      if (name?.type === 'variable_name') {
        parts.values = lookup(name.text, env);
        parts.vars.push(name.text);
      }
      return parts;
    }
    case 'expansion':
      return expansionParts(node, env);
    default:
      return dynamicParts(node);
  }
}

/**
 * Resolve a word node to what it can be. `source` is the text the tree was parsed from, which
 * double-quoted strings need to recover characters the tree does not keep as nodes.
 */
export function resolveWord(node: Node, env: Env, source: string): { word: ShellWord; subs: Node[]; vars: string[] } {
  const p = partsOf(node, env, source);
  return {
    word: {
      text: node.text,
      values: p.values,
      ifUnsetEmpty: p.dynamic ? p.empty : null,
      quoted: p.quoted,
      braced: p.braced,
      expanded: p.dynamic,
      processSubstitution: p.subs.some((s) => s.type === 'process_substitution'),
      inner: [],
    },
    subs: p.subs,
    vars: p.vars,
  };
}
