import { StringDecoder } from 'node:string_decoder';
import { createStreamRedactor, redactionRules, type StreamRedactor } from '../secrets/index.ts';

type StreamName = 'stdout' | 'stderr';

interface StreamState {
  readonly decoder: StringDecoder;
  readonly redactor: StreamRedactor;
  text: string;
}

/**
 * Collects a step's stdout and stderr under one byte budget (`limits.outputKB`), decoding UTF-8
 * across chunk boundaries and redacting before anything leaves the runner (invariant 12): the
 * result and the live `onOutput` chunks never carry a raw secret, whoever the caller is.
 * Output past the budget is still read (so the tool does not block on a full pipe) and dropped.
 */
export class OutputCollector {
  readonly #budget: number;
  #used = 0;
  #truncated = false;
  readonly #streams: Record<StreamName, StreamState>;
  readonly #onOutput: ((stream: StreamName, chunk: string) => void) | undefined;

  constructor(budgetBytes: number, secretValues: readonly string[], onOutput?: (stream: StreamName, chunk: string) => void) {
    this.#budget = budgetBytes;
    this.#onOutput = onOutput;
    // One redactor per stream, sharing the compiled rules. A secret split across the two streams is
    // caught by its fragments (see createStreamRedactor), not by merging them here.
    const rules = redactionRules(secretValues);
    const make = (): StreamState => ({ decoder: new StringDecoder('utf8'), redactor: createStreamRedactor(rules), text: '' });
    this.#streams = { stdout: make(), stderr: make() };
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  push(stream: StreamName, chunk: Buffer): void {
    const room = this.#budget - this.#used;
    if (room <= 0) {
      if (chunk.length > 0) this.#truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.#truncated = true;
    this.#used += kept.length;
    const state = this.#streams[stream];
    this.#emit(stream, state, state.redactor.write(state.decoder.write(kept)));
  }

  /** Ends both streams: flushes held-back text and returns the redacted totals. */
  finish(): { stdout: string; stderr: string; truncated: boolean } {
    for (const name of ['stdout', 'stderr'] as const) {
      const state = this.#streams[name];
      const tail = state.redactor.write(state.decoder.end());
      this.#emit(name, state, tail + state.redactor.flush());
    }
    return { stdout: this.#streams.stdout.text, stderr: this.#streams.stderr.text, truncated: this.#truncated };
  }

  #emit(stream: StreamName, state: StreamState, text: string): void {
    if (text.length === 0) return;
    state.text += text;
    this.#onOutput?.(stream, text);
  }
}
