import { createRedactor, redactValue } from './redact.ts';

/**
 * Enough for the secrets of the tools an executor runs; older values fall out first. Each value
 * adds ~20 scans to every redaction through this set, so the bound is on cost as well as memory.
 */
const DEFAULT_LIMIT = 64;

/**
 * The secret values this process has resolved, so every way out of it — audit details, events,
 * logs, notifications, LLM prompts — redacts them, and not only the step output they were
 * injected for (invariant 12). Bounded: a rotated value stays known until `limit` newer ones
 * push it out, and the memory held never grows with the number of steps.
 */
export class KnownSecrets {
  readonly #values = new Set<string>();
  #redact: ((text: string) => string) | null = null;

  constructor(private readonly limit: number = DEFAULT_LIMIT) {}

  /** Records values (most recent last); a value already known costs one set lookup. */
  add(values: Iterable<string>): void {
    for (const value of values) {
      if (value.length === 0) continue;
      if (this.#values.has(value)) {
        this.#values.delete(value);
        this.#values.add(value);
        continue;
      }
      this.#values.add(value);
      this.#redact = null;
      if (this.#values.size > this.limit) {
        const oldest = this.#values.values().next().value;
        if (oldest !== undefined) this.#values.delete(oldest);
      }
    }
  }

  /** Known values and known credential shapes removed from text. */
  redact(text: string): string {
    this.#redact ??= createRedactor([...this.#values]);
    return this.#redact(text);
  }

  /** A copy of a JSON-like value (audit details, a notification) with every string redacted. */
  redactValue<T>(value: T): T {
    return redactValue(value, (text) => this.redact(text));
  }
}

const patternsOnly = createRedactor([]);

/** Known credential shapes removed from text, for paths that hold no secret values (notifications). */
export function redactCredentialShapes(text: string): string {
  return patternsOnly(text);
}

/**
 * For a logger's serialized lines (pino's `hooks.streamWrite`): redacted like everything else,
 * and still one line each — a redaction that swallowed the newline would merge two log lines.
 */
export function logLineRedactor(known: KnownSecrets): (line: string) => string {
  return (line) => {
    const out = known.redact(line);
    return line.endsWith('\n') && !out.endsWith('\n') ? `${out}\n` : out;
  };
}

/**
 * What an LLM prompt builder calls on every piece of text it puts in a prompt (alert bodies,
 * plan content, step output, audit excerpts): the known credential shapes are always removed,
 * and the given secret values, or every value a `KnownSecrets` holds, in all their forms.
 * A model provider is a third party: nothing redaction would remove from a log may reach it.
 */
export function redactForPrompt(text: string, secrets: KnownSecrets | readonly string[] = []): string {
  if (secrets instanceof KnownSecrets) return secrets.redact(text);
  return secrets.length === 0 ? patternsOnly(text) : createRedactor(secrets)(text);
}
