import type { Risk, SandboxProfile } from '../tools/index.ts';

/** Languages a `script` action may declare (see ActionSchema.language). */
export type ScriptLanguage = 'bash' | 'sh' | 'python';

/**
 * How much a finding weighs. `deny` blocks the plan from being proposed at all: it is used for
 * what a reviewer cannot meaningfully approve (code fetched at run time, code we cannot parse,
 * names we cannot resolve) and for the plainly catastrophic (`rm -rf /`, `mkfs`).
 */
export type Severity = 'info' | 'warning' | 'high' | 'deny';

export interface Finding {
  /** Stable id, e.g. `shell.download-exec`; callers and policies branch on it, never on the message. */
  rule: RuleId;
  severity: Severity;
  /** Reviewer-readable; names the command or call and why it matters. */
  message: string;
  /** 1-based line in the submitted script (for nested code: the line of the outer construct). */
  line: number;
  /** The source text that raised the finding, on one line, clipped. */
  snippet: string;
}

export interface AnalysisReport {
  findings: Finding[];
  /** The minimum risk the findings imply: info → low, warning → medium, high → high, deny → critical. */
  riskFloor: Risk;
  /** True when at least one finding has severity `deny`: the plan must not be proposed. */
  deny: boolean;
}

export interface AnalyzeScriptInput {
  language: ScriptLanguage;
  script: string;
  profile: SandboxProfile;
}

/**
 * Every rule id with a one-line summary, so docs and the console can explain a finding and a
 * test can keep this list equal to what the analysers emit.
 */
export const RULES = {
  'script.too-large': 'The script exceeds the analysable size, so it is refused.',
  'script.too-complex': 'Nesting or embedded code goes deeper than the analysis follows, so it is refused.',
  'script.analysis-failed': 'The analyser failed; the script is refused rather than passed unexamined.',
  'shell.parse-error': 'The shell script does not parse, so nothing about it can be trusted.',
  'shell.dynamic-command': 'A command name comes from an expansion, so what runs is decided at run time.',
  'shell.obfuscated-name': 'A command name is built from quotes, escapes, braces or globs.',
  'shell.eval': 'eval runs a string as shell code.',
  'shell.dynamic-code': 'A string run as code (bash -c, eval, python -c, source) is not a literal.',
  'shell.download-exec': 'Code downloaded at run time is executed without review.',
  'shell.decode-exec': 'Decoded (base64, hex, compressed) data is executed, hiding what runs.',
  'shell.pipe-to-interpreter': 'Output of another command is run as code.',
  'shell.inline-interpreter': 'Inline code for an interpreter the analysis does not parse (perl, ruby, node, awk).',
  'shell.opaque-script': 'Runs a script file whose content the analysis cannot see.',
  'shell.destructive': 'A destructive command: recursive delete of a root or system path, mkfs, dd to a device, shutdown, fork bomb.',
  'shell.unresolved-delete': 'A recursive delete of a path that cannot be resolved statically.',
  'shell.write-outside-roots': "A write or delete outside the profile's writable paths and path roots.",
  'shell.network': 'A network tool or /dev/tcp; severity depends on the profile egress allowlist.',
  'shell.privilege': 'A privilege tool (sudo, su, setcap, chmod +s, mount, nsenter).',
  'shell.detach': 'A process detached from the step (nohup, setsid, disown).',
  'python.syntax-error': 'The Python script does not parse, so nothing about it can be trusted.',
  'python.exec-command': 'Runs an operating-system command (os.system, subprocess, os.exec*, os.spawn*).',
  'python.eval': 'eval, exec or compile run a string as Python code.',
  'python.dynamic-import': '__import__ or importlib.import_module loads a module by name.',
  'python.unresolved-name': 'getattr, __import__ or a namespace lookup with a name that cannot be resolved statically.',
  'python.obfuscated-access': 'A dangerous name reached through getattr, string building or __builtins__.',
  'python.introspection': 'Interpreter internals (__subclasses__, __globals__, frames) used to escape name resolution.',
  'python.network': 'A network module; severity depends on the profile egress allowlist.',
  'python.native-code': 'ctypes or cffi: arbitrary native calls the analysis cannot follow.',
  'python.deserialize': 'pickle/marshal/shelve deserialization, which can run arbitrary code.',
  'python.destructive': 'shutil.rmtree or a delete of a root, system or unresolved path.',
  'python.write-outside-roots': "A write or delete outside the profile's writable paths and path roots.",
  'python.privilege': 'Changes process identity or root (setuid, chroot).',
} as const;

export type RuleId = keyof typeof RULES;

/** Where nested code came from, so a finding inside `bash -c '…'` says so. */
export interface CodeOrigin {
  /** Added to the nested code's own line numbers to get a line in the submitted script. */
  lineOffset: number;
  /** Human description of the path into this code, e.g. `python -c at line 3`; empty at top level. */
  context: string;
  /** How many levels of embedding led here (0 for the submitted script). */
  depth: number;
}

/** Code found inside other code (a `python -c` string, an `os.system` literal) to analyse in turn. */
export interface EmbeddedCode {
  language: 'shell' | 'python';
  code: string;
  origin: CodeOrigin;
}

/** What one analyser pass returns: its findings, and code it found to hand to the other analyser. */
export interface PassResult {
  findings: Finding[];
  embedded: EmbeddedCode[];
}
