import type { SandboxProfile } from '../../tools/index.ts';
import { judgeEgress, type NetTarget, targetFromHost, targetFromUrl } from '../egress.ts';
import { classifyPath, isCatastrophic } from '../paths.ts';
import type { FindingSink } from '../report.ts';
import type { EmbeddedCode, RuleId } from '../types.ts';
import { commandLine, type PathTouch, pathTouches } from './effects.ts';
import { KIND_MESSAGE, kindOf, moduleKind, moduleOf, type NameKind } from './names.ts';
import type { CallEvent, Literal, PythonEvent, PythonOutcome } from './protocol.ts';

interface Place {
  line: number;
  text: string;
}

const SEVERITY_OF: Record<Exclude<NameKind, 'network' | 'socket'>, [RuleId, 'high']> = {
  exec: ['python.exec-command', 'high'],
  eval: ['python.eval', 'high'],
  'dynamic-import': ['python.dynamic-import', 'high'],
  native: ['python.native-code', 'high'],
  deserialize: ['python.deserialize', 'high'],
  privilege: ['python.privilege', 'high'],
  indirect: ['python.obfuscated-access', 'high'],
};

function flatten(x: Literal | undefined): Literal[] {
  return Array.isArray(x) ? x.flatMap(flatten) : x === undefined ? [] : [x];
}

/** Destinations named literally in a network call: URLs, `HTTPSConnection(host, port)`, `(host, port)` tuples. */
function callTargets(call: CallEvent): NetTarget[] {
  const out: NetTarget[] = [];
  for (const v of [...call.args.flatMap(flatten), ...Object.values(call.kw).flatMap(flatten)]) {
    const t = typeof v === 'string' ? targetFromUrl(v) : null;
    if (t) out.push(t);
  }
  const conn = /^http\.client\.HTTP(S?)Connection$/.exec(call.name ?? '');
  const host = call.args[0] ?? call.kw.host;
  if (conn && typeof host === 'string') {
    const port = call.args[1] ?? call.kw.port;
    const t = targetFromHost(host, typeof port === 'number' ? port : conn[1] ? 443 : 80);
    if (t) out.push(t);
  }
  for (const a of call.args) {
    if (Array.isArray(a) && a.length === 2 && typeof a[0] === 'string' && typeof a[1] === 'number')
      out.push({ host: a[0].toLowerCase(), port: a[1] });
  }
  return out;
}

/** Turns the worker's events into findings, and literal command strings into code for the shell analysis. */
class PythonJudge {
  readonly #profile: SandboxProfile;
  readonly #sink: FindingSink;
  readonly #embedded: EmbeddedCode[];
  readonly #stars: string[];
  /** Network modules by first use, reported once each. */
  readonly #network = new Map<string, { kind: NameKind; at: Place }>();
  readonly #modules = new Set<string>();

  constructor(profile: SandboxProfile, sink: FindingSink, embedded: EmbeddedCode[], stars: string[]) {
    this.#profile = profile;
    this.#sink = sink;
    this.#embedded = embedded;
    this.#stars = stars;
  }

  event(ev: PythonEvent): void {
    switch (ev.k) {
      case 'import':
        // `from os import system` is judged where `system` is used; a module like ctypes or socket is judged on import.
        if (moduleKind(ev.mod)) this.#name(ev.mod, [], ev);
        break;
      case 'dynamic':
        this.#sink.add(
          'python.unresolved-name',
          'deny',
          `${ev.what}: what it reaches cannot be resolved statically, so the script is refused`,
          ev.line,
          ev.text,
        );
        break;
      case 'dunder':
        this.#sink.add(
          'python.introspection',
          'high',
          `${ev.attr} reaches interpreter internals, a way around name-based checks`,
          ev.line,
          ev.text,
        );
        break;
      case 'ref':
        this.#name(ev.name, ev.via, ev);
        break;
      case 'call':
        this.#call(ev);
        break;
    }
  }

  finish(): void {
    for (const [module, { kind, at }] of this.#network) {
      const verdict = judgeEgress(this.#profile, [null]);
      const severity = kind === 'socket' && verdict.severity !== 'deny' ? 'high' : verdict.severity;
      const reason = kind === 'socket' && severity === 'high' ? 'raw sockets bypass the egress proxy' : verdict.reason;
      this.#sink.add('python.network', severity, `${module} ${KIND_MESSAGE[kind]}: ${reason}`, at.line, at.text);
    }
  }

  /** `from os import *` then `system(…)`: a bare name may come from a star-imported module. */
  #resolveStar(name: string): string {
    if (name.includes('.') || kindOf(name)) return name;
    for (const m of this.#stars) if (kindOf(`${m}.${name}`)) return `${m}.${name}`;
    return name;
  }

  #name(raw: string, via: readonly string[], at: Place): void {
    const name = this.#resolveStar(raw);
    if (name === '__builtins__') {
      this.#sink.add(
        'python.obfuscated-access',
        'high',
        '__builtins__ is accessed directly, a way to reach any builtin by name',
        at.line,
        at.text,
      );
      return;
    }
    const kind = kindOf(name);
    if (!kind) return;
    if (via.length > 0) {
      this.#sink.add('python.obfuscated-access', 'high', `${name} is reached through ${[...new Set(via)].join(', ')}`, at.line, at.text);
    }
    if (kind === 'network' || kind === 'socket') {
      const module = moduleOf(name);
      if (!this.#network.has(module)) this.#network.set(module, { kind, at });
      return;
    }
    // A module-wide kind (ctypes, marshal) is reported once, at its first use, not at every call.
    const shown = moduleKind(name) ? moduleOf(name) : name;
    if (moduleKind(name)) {
      if (this.#modules.has(shown)) return;
      this.#modules.add(shown);
    }
    const [rule, severity] = SEVERITY_OF[kind];
    this.#sink.add(rule, severity, `${shown} ${KIND_MESSAGE[kind]}`, at.line, at.text);
  }

  #call(call: CallEvent): void {
    if (call.name === null) return;
    const name = this.#resolveStar(call.name);
    this.#name(name, call.via, call);
    const kind = kindOf(name);
    const first = call.args[0];
    if (kind === 'exec') {
      const line = commandLine({ ...call, name });
      if (line !== null) this.#embed('shell', line, name, call.line);
    } else if (kind === 'eval' && typeof first === 'string' && name !== 'runpy.run_path' && name !== 'runpy.run_module') {
      this.#embed('python', first, name, call.line);
    } else if (kind === 'dynamic-import' && typeof first === 'string') {
      this.#name(first, ['__import__'], call);
    } else if ((kind === 'network' || kind === 'socket') && this.#profile.egress.length > 0) {
      const targets = callTargets(call);
      if (targets.length > 0) {
        const verdict = judgeEgress(this.#profile, targets);
        this.#sink.add('python.network', verdict.severity, `${name} reaches the network: ${verdict.reason}`, call.line, call.text);
      }
    }
    for (const touch of pathTouches({ ...call, name })) this.#path(name, touch, call);
  }

  #embed(language: 'shell' | 'python', code: string, label: string, line: number): void {
    this.#embedded.push({ language, code, origin: this.#sink.nested(label, line).origin });
  }

  #path(name: string, { path, effect }: PathTouch, at: Place): void {
    if (path === null) {
      if (effect === 'tree')
        this.#sink.add('python.destructive', 'high', `${name} deletes a directory tree known only at run time`, at.line, at.text);
      return;
    }
    const cls = classifyPath(path, this.#profile);
    if (effect === 'tree' && isCatastrophic(cls)) {
      this.#sink.add('python.destructive', 'deny', `${name} deletes ${path}: a root or system path`, at.line, at.text);
    } else if (cls === 'device' && effect === 'write') {
      this.#sink.add('python.destructive', 'deny', `${name} writes to the device ${path}, which can destroy a disk`, at.line, at.text);
    } else if (cls === 'root' || cls === 'system' || cls === 'outside' || cls === 'device') {
      this.#sink.add(
        'python.write-outside-roots',
        'high',
        `${name} ${effect === 'write' ? 'writes' : 'deletes'} ${path}, outside the allowed roots`,
        at.line,
        at.text,
      );
    } else if (effect === 'tree' && cls === 'allowed') {
      this.#sink.add('python.destructive', 'warning', `${name} deletes the directory tree ${path}`, at.line, at.text);
    }
  }
}

/** Findings for one Python analysis outcome; failures of any kind become deny (fail closed). */
export function judgePython(
  outcome: PythonOutcome,
  code: string,
  profile: SandboxProfile,
  sink: FindingSink,
  embedded: EmbeddedCode[],
): void {
  if (!outcome.ok) {
    if (outcome.error === 'syntax') {
      const text = code.split(/\r\n|\r|\n/)[outcome.line - 1] ?? '';
      sink.add(
        'python.syntax-error',
        'deny',
        `the script does not parse as Python (${outcome.message}); it cannot be analysed`,
        outcome.line,
        text,
      );
    } else if (outcome.error === 'too-complex') {
      sink.add('script.too-complex', 'deny', 'the Python code nests deeper than the analysis follows', outcome.line, '');
    } else {
      sink.add(
        'script.analysis-failed',
        'deny',
        `the Python analysis failed (${outcome.error}: ${outcome.message}); the script is refused`,
        1,
        '',
      );
    }
    return;
  }
  if (outcome.truncated) sink.add('script.too-complex', 'deny', 'the Python script has more calls than the analysis records', 1, '');
  const judge = new PythonJudge(profile, sink, embedded, outcome.stars);
  for (const ev of outcome.events) judge.event(ev);
  judge.finish();
}
