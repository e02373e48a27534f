import { CountersignError } from '../errors/index.ts';
import { judgePython } from './python/rules.ts';
import { PythonWorker } from './python/worker.ts';
import { buildReport, FindingSink } from './report.ts';
import { analyzeShell } from './shell/analyze.ts';
import { bashParser } from './shell/parser.ts';
import type { AnalysisReport, AnalyzeScriptInput, EmbeddedCode, Finding, ScriptLanguage } from './types.ts';

export interface ScriptAnalyzerOptions {
  /** Python interpreter for the `ast` worker (default `python3` on PATH). */
  pythonExecutable?: string;
  /** Per-request limit for the Python worker; on expiry the script is denied (default 5000 ms). */
  pythonTimeoutMs?: number;
  /** Scripts larger than this (UTF-8 bytes) are denied unread (default 512 KiB). */
  maxScriptBytes?: number;
  /**
   * Told about unexpected analyser failures (a bug, not bad input). The script is still denied;
   * this is where the server logs the cause, which never goes into a finding.
   */
  onInternalError?: (err: unknown) => void;
}

/** Pieces of code (the script plus every string run as code inside it) analysed per script at most. */
const MAX_PIECES = 64;
/** `bash -c "python3 -c \"os.system('…')\""`: levels of embedding followed at most. */
const MAX_DEPTH = 8;
const LANGUAGES: readonly ScriptLanguage[] = ['bash', 'sh', 'python'];

/**
 * Static analysis of `script` tool bodies: shell through tree-sitter-bash, Python through
 * python3's own `ast` in a long-lived worker, and code embedded in either handed to the other
 * (`python3 -c` in shell, `os.system('…')` in Python). Never throws for bad scripts: anything it
 * cannot analyse becomes a deny finding (fail closed).
 */
export class ScriptAnalyzer {
  readonly #python: PythonWorker;
  readonly #maxBytes: number;
  readonly #onInternalError: (err: unknown) => void;

  constructor(options: ScriptAnalyzerOptions = {}) {
    this.#python = new PythonWorker({ executable: options.pythonExecutable, timeoutMs: options.pythonTimeoutMs });
    this.#maxBytes = options.maxScriptBytes ?? 512 * 1024;
    this.#onInternalError = options.onInternalError ?? (() => {});
  }

  async analyze(input: AnalyzeScriptInput): Promise<AnalysisReport> {
    if (!LANGUAGES.includes(input.language) || typeof input.script !== 'string') {
      throw new CountersignError('VALIDATION_FAILED', `script language must be one of ${LANGUAGES.join(', ')}`);
    }
    const top = new FindingSink({ lineOffset: 0, context: '', depth: 0 });
    if (Buffer.byteLength(input.script, 'utf8') > this.#maxBytes) {
      top.add('script.too-large', 'deny', `the script is larger than ${this.#maxBytes} bytes, the most the analysis reads`, 1, '');
      return buildReport(top.findings);
    }
    const findings: Finding[] = [];
    const queue: EmbeddedCode[] = [{ language: input.language === 'python' ? 'python' : 'shell', code: input.script, origin: top.origin }];
    for (let pieces = 1; queue.length > 0; pieces++) {
      const piece = queue.shift() as EmbeddedCode;
      if (pieces > MAX_PIECES || piece.origin.depth > MAX_DEPTH) {
        new FindingSink(piece.origin, findings).add(
          'script.too-complex',
          'deny',
          'code embedded in code goes deeper than the analysis follows',
          1,
          piece.code,
        );
        continue;
      }
      queue.push(...(await this.#analyzePiece(piece, input, findings)));
    }
    return buildReport(findings);
  }

  /** Stop the Python worker (server shutdown, end of tests). A later `analyze` starts a new one. */
  close(): Promise<void> {
    return this.#python.close();
  }

  async #analyzePiece(piece: EmbeddedCode, input: AnalyzeScriptInput, findings: Finding[]): Promise<EmbeddedCode[]> {
    const sink = new FindingSink(piece.origin, findings);
    try {
      if (piece.language === 'shell') {
        const parser = await bashParser.get();
        const pass = analyzeShell(parser, piece.code, input.profile, piece.origin);
        findings.push(...pass.findings);
        return pass.embedded;
      }
      const embedded: EmbeddedCode[] = [];
      judgePython(await this.#python.analyze(piece.code), piece.code, input.profile, sink, embedded);
      return embedded;
    } catch (err) {
      this.#onInternalError(err);
      sink.add('script.analysis-failed', 'deny', `the ${piece.language} analysis failed unexpectedly; the script is refused`, 1, '');
      return [];
    }
  }
}

/** The process-wide analyser behind `analyzeScript` and `closeAnalysis`. */
const defaultAnalyzer = new ScriptAnalyzer();

/** Analyse a script body before its plan may be proposed. See ScriptAnalyzer. */
export function analyzeScript(input: AnalyzeScriptInput): Promise<AnalysisReport> {
  return defaultAnalyzer.analyze(input);
}

/** Stop the shared analyser's Python worker so shutdown and test runs do not wait on it. */
export function closeAnalysis(): Promise<void> {
  return defaultAnalyzer.close();
}
