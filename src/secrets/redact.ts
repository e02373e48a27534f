/**
 * Redaction of secrets from step output, events, logs, audit details, notifications and LLM
 * prompts (invariant 12).
 *
 * Two families are removed: every form of the secret values given (forms.ts: the value in any
 * case, reversed, with separators between its characters, URL-encoded, JSON-escaped, hex,
 * base64/base64url/base32 at every alignment, and fragments of it), and well-known credential
 * shapes that may come from anywhere (patterns.ts). What cannot be caught is in docs/redaction.md.
 */
import { type Form, formMaxLength, formSource, prefixSource, secretForms } from './forms.ts';
import { KNOWN_PATTERNS } from './patterns.ts';

export const REDACTED = '[REDACTED]';

/** One regular expression scan; each runs on its own, so V8 can skip ahead on its first character. */
interface Matcher {
  readonly pattern: RegExp | null;
  readonly scan?: (text: string) => readonly (readonly [number, number])[];
  readonly needle?: RegExp;
  readonly accept?: (match: string) => boolean;
  /** Any beginning of the form that runs to the end of the text (`$`-anchored); null: not held back. */
  readonly partial: RegExp | null;
  /** The longest text the form matches: no beginning of it starts further back than this. */
  readonly window: number;
  /** Which ASCII characters a match can hold (1) — a beginning of the form holds no other. */
  readonly ascii: Uint8Array | null;
}

function asciiAlphabet(form: Form): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < form.alphabet.length; i++) {
    const code = form.alphabet.charCodeAt(i);
    if (code < 128) table[code] = 1;
  }
  if (form.sepNonAlnum) {
    for (let code = 0; code < 128; code++) if (!/[A-Za-z0-9]/.test(String.fromCharCode(code))) table[code] = 1;
  }
  return table;
}

/**
 * Where, at the end of `text`, a beginning of the form could start: the first of the trailing
 * characters it can hold (non-ASCII always counts). A cheap walk that spares the regex most chunks.
 */
function tailStart(text: string, ascii: Uint8Array, window: number): number {
  const floor = Math.max(0, text.length - window);
  let i = text.length;
  while (i > floor) {
    const code = text.charCodeAt(i - 1);
    if (code < 128 && ascii[code] === 0) break;
    i--;
  }
  return i;
}

export interface RedactionRules {
  readonly matchers: readonly Matcher[];
  /** No match is shorter: shorter text (ids, statuses in audit details) skips every scan. */
  readonly shortest: number;
}

/** The shortest text a known pattern matches (a credential URL `a://:x@`, with room to spare). */
const SHORTEST_PATTERN = 7;

/**
 * Every form of every secret and every known pattern, as separate scans. One alternation of all
 * of them would be simpler but costs ~15x more per character (V8 tries every alternative at every
 * position instead of skipping to the next possible first character); see bench/redaction.ts.
 */
export function redactionRules(secretValues: readonly string[]): RedactionRules {
  const matchers: Matcher[] = [];
  const seen = new Set<string>();
  let shortest = SHORTEST_PATTERN;
  for (const value of new Set(secretValues)) {
    for (const form of secretForms(value)) {
      const source = formSource(form);
      if (seen.has(source)) continue;
      seen.add(source);
      shortest = Math.min(shortest, form.units.length);
      matchers.push({
        pattern: new RegExp(source, 'g'),
        partial: form.fragment ? null : new RegExp(`${prefixSource(form)}$`, 'g'),
        window: formMaxLength(form),
        ascii: form.fragment ? null : asciiAlphabet(form),
      });
    }
  }
  for (const known of KNOWN_PATTERNS) {
    matchers.push({
      pattern: known.source === undefined ? null : new RegExp(known.source, 'g'),
      partial: null,
      window: 0,
      ascii: null,
      ...(known.scan ? { scan: known.scan } : {}),
      ...(known.accept ? { accept: known.accept } : {}),
      ...(known.needle ? { needle: known.needle } : {}),
    });
  }
  return { matchers, shortest };
}

/** A redacted stretch of text; `keep`/`tail` characters at its ends stay readable (a URL's host). */
interface Span {
  start: number;
  end: number;
  keep: number;
  tail: number;
}

function spanOf(m: RegExpExecArray): Span {
  const start = m.index;
  const span: Span = { start, end: start + m[0].length, keep: 0, tail: 0 };
  if (m.groups !== undefined) {
    for (const [name, value] of Object.entries(m.groups)) {
      if (value === undefined) continue;
      if (name.startsWith('keep')) span.keep += value.length;
      else if (name.startsWith('tail')) span.tail += value.length;
    }
  }
  return span;
}

/**
 * Every match of every matcher, merged where they overlap. A kept part that another match
 * redacts is redacted (a URL whose user name is itself a secret loses it).
 */
function findSpans(text: string, matchers: readonly Matcher[]): Span[] {
  const found: Span[] = [];
  for (const matcher of matchers) {
    if (matcher.needle && !matcher.needle.test(text)) continue;
    if (matcher.scan) {
      for (const [start, end] of matcher.scan(text)) found.push({ start, end, keep: 0, tail: 0 });
      continue;
    }
    // exec with lastIndex, not matchAll: matchAll clones the RegExp on every call.
    const pattern = matcher.pattern;
    if (pattern === null) continue;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      if (m[0].length === 0) {
        pattern.lastIndex += 1;
        continue;
      }
      if (!matcher.accept || matcher.accept(m[0])) found.push(spanOf(m));
    }
  }
  if (found.length < 2) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Span[] = [];
  for (const s of found) {
    const cur = merged[merged.length - 1];
    if (cur === undefined || s.start >= cur.end) {
      merged.push({ ...s });
      continue;
    }
    // The redacted cores [start + keep, end - tail] join; what either match kept outside them stays.
    const coreStart = Math.min(cur.start + cur.keep, s.start + s.keep);
    const coreEnd = Math.max(cur.end - cur.tail, s.end - s.tail);
    cur.end = Math.max(cur.end, s.end);
    cur.keep = coreStart - cur.start;
    cur.tail = Math.max(0, cur.end - coreEnd);
  }
  return merged;
}

/** The text up to `to` with every span inside it replaced. */
function render(text: string, spans: readonly Span[], to: number): string {
  let out = '';
  let last = 0;
  for (const s of spans) {
    if (s.start >= to) break;
    out += text.slice(last, s.start + s.keep) + REDACTED + text.slice(s.end - s.tail, s.end);
    last = s.end;
  }
  return out + text.slice(last, to);
}

function apply(rules: RedactionRules, text: string): string {
  if (text.length < rules.shortest) return text;
  const spans = findSpans(text, rules.matchers);
  return spans.length === 0 ? text : render(text, spans, text.length);
}

/** A pure function that removes every form of the given secrets and known credential shapes. */
export function createRedactor(secretValues: readonly string[]): (text: string) => string {
  const rules = redactionRules(secretValues);
  return (text) => apply(rules, text);
}

/**
 * A copy of a JSON-like value with every string (keys included) redacted: audit details and
 * notification bodies are redacted as values, so a redaction never breaks their structure.
 */
export function redactValue<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redact)) as T;
  if (value !== null && typeof value === 'object') {
    // Walked the way JSON serialization will see it (toJSON, own enumerable properties), so no
    // object of an unexpected class is passed through unredacted.
    const json = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof json === 'function') return redactValue(json.call(value), redact) as T;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redact(k)] = redactValue(v, redact);
    return out as T;
  }
  return value;
}

export interface StreamRedactor {
  /** Redacted text that is now safe to emit; may be shorter than the input (held back). */
  write(chunk: string): string;
  /** The held-back remainder, redacted. Call once when the stream ends. */
  flush(): string;
}

/** Known tokens are shorter than this: an unterminated line longer than it is emitted but this tail. */
const LINE_HOLDBACK = 512;
/** A token still growing past this is emitted (redacted as far as it matches) to bound memory. */
const MAX_HOLDBACK = 64 * 1024;

/**
 * Redaction across write and chunk boundaries: a secret split over two writes of a tool's stdout
 * must not leak half of itself. Complete lines are emitted at once (live output stays live); what
 * could still become a match is held back until the next chunk or `flush` decides it: the
 * unterminated last line (bounded, for the known patterns), any tail that begins one of the
 * secrets' forms (a sliding window as long as the longest form: a form may span lines, e.g. one
 * character per line), and any match that runs into the held-back part.
 *
 * One redactor serves one stream. A secret split across stdout and stderr is caught by the
 * fragment forms (forms.ts), not by merging the streams: the two pipes are read in whatever
 * order the event loop sees them, so an interleaved stream would not reliably put the halves
 * side by side, while each half, being a substring of the secret, is redacted wherever it lands.
 */
export function createStreamRedactor(secrets: readonly string[] | RedactionRules): StreamRedactor {
  // Rules can be shared by the redactors of one step's streams: each scan resets lastIndex first.
  const rules = 'matchers' in secrets ? secrets : redactionRules(secrets);
  const holding = rules.matchers.filter((m) => m.partial !== null);
  let pending = '';

  return {
    write(chunk: string): string {
      pending += chunk;
      const length = pending.length;
      let cut = pending.lastIndexOf('\n') + 1;
      if (length - cut > LINE_HOLDBACK) cut = length - LINE_HOLDBACK;
      for (const { partial, window, ascii } of holding) {
        if (partial === null || ascii === null) continue;
        const from = tailStart(pending, ascii, window);
        if (from >= Math.min(cut, length)) continue;
        partial.lastIndex = from;
        const m = partial.exec(pending);
        if (m !== null && m.index < cut) cut = m.index;
      }
      // A match that runs across the cut moves it back to the match's start: decided next chunk.
      const spans = findSpans(pending, rules.matchers);
      for (const s of spans) {
        if (s.start >= cut) break;
        if (s.end > cut) {
          cut = s.start;
          break;
        }
      }
      if (length - cut > MAX_HOLDBACK) return flushAll();
      if (cut <= 0) return '';
      const ready = render(pending, spans, cut);
      pending = pending.slice(cut);
      return ready;
    },
    flush(): string {
      return flushAll();
    },
  };

  function flushAll(): string {
    const rest = apply(rules, pending);
    pending = '';
    return rest;
  }
}
