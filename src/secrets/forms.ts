/**
 * The encoded forms of one secret value that redaction removes (invariant 12), each described as
 * a sequence of units with an optional separator between them, so that one description yields
 * both the regular expression that finds the form and the one that recognises the beginning of
 * it at the end of a stream (what a stream redactor must hold back until the next chunk).
 *
 * Every form is built so that it has at most one way to match from a given start: a step's output
 * is chosen by the step, and the step knows its own secret, so a form that could backtrack
 * exponentially would let it stall the executor (ReDoS). A separator excludes the characters the
 * next unit can start with, and a unit's alternatives exclude each other (see `exclusive`).
 */

/** One position of a form: alternatives, each a sequence of single-character regex sources. */
export type Unit = readonly (readonly string[])[];

export interface Form {
  /** A fragment of the secret: matched, but not held back at the end of a stream (see redact.ts). */
  readonly fragment?: boolean;
  readonly units: readonly Unit[];
  /**
   * Regex source between two units ('' for none), or one per gap (before unit i + 1); never
   * matches a character the unit after it starts with.
   */
  readonly sep: string | readonly string[];
  /** Longest text the separator matches. */
  readonly sepMax: number;
  /** Regex source after the last unit (padding), matched but never required. */
  readonly suffix?: string;
  /**
   * Every character a match can hold besides separator characters that are not letters or
   * digits (when `sepNonAlnum`): a cheap test of where, at the end of a chunk, a form could begin.
   */
  readonly alphabet: string;
  readonly sepNonAlnum: boolean;
}

/** The text in its own, lower and upper case: the characters a case-folded unit can be. */
function cased(text: string): string {
  return text + text.toLowerCase() + text.toUpperCase();
}

/** Secrets shorter than this keep only their exact value: derived forms of them would be noise. */
export const MIN_DERIVED_SECRET = 4;
/** Secrets longer than this get their exact value and base64 only (regex size; see docs/redaction.md). */
export const MAX_DERIVED_SECRET = 1024;
/** Encoded fragments (base64/base32 alignments) shorter than this would redact ordinary text. */
const MIN_ENCODED_FRAGMENT = 6;
/** Up to this many separator characters between two characters of a secret ("s-e-c", `['s', ' '`). */
const SEP_MAX = 6;

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** A code unit as a regex source that is safe inside and outside a character class. */
function esc(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code < 0x20 || code > 0x7e) return `\\u${code.toString(16).padStart(4, '0')}`;
  return escapeRegExp(ch);
}

/** One character in either case (only where both cases are single code units). */
function folded(ch: string): string {
  const variants = new Set([ch, ch.toLowerCase(), ch.toUpperCase()].filter((v) => v.length === 1));
  if (variants.size === 1) return esc(ch);
  return `[${[...variants].map(esc).join('')}]`;
}

/** Each code unit of `text` case-folded: "%2F" → `%`, `2`, `[fF]`. */
function foldedSeq(text: string): string[] {
  return [...text].flatMap((cp) => (cp.length === 1 ? [folded(cp)] : cp.split('').map(esc)));
}

function exactSeq(text: string): string[] {
  return text.split('').map(esc);
}

const UNRESERVED = /^[A-Za-z0-9\-_.!~*'()]$/;

/** encodeURIComponent, or null for what it refuses (a lone surrogate). */
function uriEncoded(cp: string): string | null {
  if (UNRESERVED.test(cp)) return null;
  try {
    return encodeURIComponent(cp);
  } catch {
    return null;
  }
}

function jsonEscapes(cp: string): string[] {
  const out: string[] = [];
  const json = JSON.stringify(cp).slice(1, -1);
  if (json !== cp) out.push(json);
  if (cp.length === 1 && cp.charCodeAt(0) > 0x7e) out.push(`\\u${cp.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return out;
}

/**
 * One character of the secret as printed, in any case, URL-encoded (encodeURIComponent, Python
 * quote/quote_plus, any case of hex), or JSON-escaped (JavaScript and Python's ensure_ascii).
 */
function textUnit(cp: string): Unit {
  const alts: string[][] = [cp.length === 1 ? [folded(cp)] : cp.split('').map(esc)];
  const uri = uriEncoded(cp);
  if (uri !== null) alts.push(foldedSeq(uri));
  if (cp === ' ') alts.push(['\\+']);
  for (const escaped of jsonEscapes(cp)) alts.push(foldedSeq(escaped));
  return exclusive(alts);
}

/**
 * Alternatives that can never both match at one place: one that begins another (`%` of a secret's
 * own `%`, and `%25`) is refused where the longer one follows. With the separators below, a form
 * has at most one way to match from a given start, so matching is linear in the text (no ReDoS).
 */
function exclusive(alts: string[][]): Unit {
  const unique = [...new Map(alts.map((a) => [a.join(''), a])).values()];
  return unique.map((a) => {
    const longer = unique.filter((b) => b.length > a.length && a.every((el, i) => b[i] === el));
    if (longer.length === 0) return a;
    const lookahead = `(?!${longer.map((b) => b.slice(a.length).join('')).join('|')})`;
    return [...a.slice(0, -1), `${a[a.length - 1]}${lookahead}`];
  });
}

/** The characters a text unit for `cp` can start with. */
function unitStarts(cp: string): string[] {
  const starts = new Set<string>(cased(cp).split(''));
  if (uriEncoded(cp) !== null) starts.add('%');
  if (cp === ' ') starts.add('+');
  for (const escaped of jsonEscapes(cp)) starts.add(escaped.charAt(0));
  return [...starts];
}

/**
 * Characters between two characters of the secret: anything but letters, digits and the
 * characters the next unit can start with, so the separator and the next unit never compete for
 * a character (no backtracking; see the header). A secret's own `-` still separates others.
 */
function textSeparator(next: string): string {
  const excluded = [
    'A-Za-z0-9',
    ...unitStarts(next)
      .filter((c) => !/[A-Za-z0-9]/.test(c))
      .map(esc),
  ];
  return `[^${excluded.join('')}]{0,${SEP_MAX}}`;
}

function textForm(value: string): Form {
  const cps = [...value];
  let alphabet = cased(value);
  for (const cp of cps) alphabet += cased(`${uriEncoded(cp) ?? ''}${jsonEscapes(cp).join('')}`);
  return {
    units: cps.map(textUnit),
    sep: cps.slice(1).map(textSeparator),
    sepMax: SEP_MAX,
    alphabet: `${alphabet}+`,
    sepNonAlnum: true,
  };
}

/** Hex of the UTF-8 bytes, either case, optionally separated per byte (`73:65`, `\x73\x65`, `%73%65`, `0x73, 0x65`). */
function hexForm(bytes: Buffer): Form {
  const units: Unit[] = [...bytes].map((b) => [foldedSeq(b.toString(16).padStart(2, '0'))]);
  return {
    units,
    sep: `(?:[^0-9A-Za-z]|0[xX]|[xX]){0,${SEP_MAX}}`,
    sepMax: 2 * SEP_MAX,
    alphabet: cased(`${bytes.toString('hex')}x`),
    sepNonAlnum: true,
  };
}

/** base64/base32 wrap lines (coreutils at 76 columns): a line break may fall anywhere in a form. */
const LINE_BREAK = '(?:\\r?\\n)?';

function encodedForm(chars: string, caseFolded: boolean, suffix?: string): Form {
  const units: Unit[] = [...chars].map((c) => [[caseFolded ? folded(c) : esc(c)]]);
  const alphabet = `${caseFolded ? cased(chars) : chars}\r\n=`;
  return { units, sep: LINE_BREAK, sepMax: 2, alphabet, sepNonAlnum: false, ...(suffix === undefined ? {} : { suffix }) };
}

function base64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

function base32(bytes: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

/**
 * The characters of an encoding of (k zero bytes + secret) that depend on the secret's bytes only,
 * for each alignment k of the secret inside a longer encoded blob: three for base64 (3-byte
 * groups), five for base32 (5-byte groups). Alignment 0 is the standalone encoding, kept whole.
 */
function alignedFragments(
  secret: Buffer,
  group: number,
  bitsPerChar: number,
  encode: (b: Buffer) => string,
): { chars: string; standalone: boolean }[] {
  const out: { chars: string; standalone: boolean }[] = [];
  // Standalone: the whole encoding, its last character included (it depends on zero fill bits).
  out.push({ chars: encode(secret), standalone: true });
  for (let k = 0; k < group; k++) {
    const encoded = encode(Buffer.concat([Buffer.alloc(k), secret]));
    const fragment = encoded.slice(Math.ceil((8 * k) / bitsPerChar), Math.floor((8 * (k + secret.length)) / bitsPerChar));
    if (fragment.length >= MIN_ENCODED_FRAGMENT) out.push({ chars: fragment, standalone: false });
  }
  return out;
}

/**
 * Substrings of the secret, any case: a secret printed in two halves (across stdout and stderr,
 * or with other output between) still shows each half. Fragments are `span` characters long,
 * taken every `stride` characters; any piece of the secret of `span + stride - 1` characters or
 * more contains one. Shorter pieces are not caught (docs/redaction.md). The stride grows with the
 * secret so the number of fragments, each one regex scan per chunk, stays small.
 */
export function fragmentSpan(length: number): { span: number; stride: number } | null {
  if (length < 12) return null;
  const span = Math.min(8, Math.max(6, Math.floor(length / 2)));
  const stride = length <= 24 ? 1 : length <= 64 ? 4 : span;
  return { span, stride };
}

function fragmentForms(value: string): Form[] {
  const cps = [...value];
  const f = fragmentSpan(cps.length);
  if (!f) return [];
  const out: Form[] = [];
  const starts = new Set<number>();
  for (let i = 0; i + f.span <= cps.length; i += f.stride) starts.add(i);
  starts.add(cps.length - f.span);
  for (const i of starts) {
    const piece = cps.slice(i, i + f.span);
    out.push({
      units: piece.map((cp) => [foldedSeq(cp)]),
      sep: '',
      sepMax: 0,
      fragment: true,
      alphabet: cased(piece.join('')),
      sepNonAlnum: false,
    });
  }
  return out;
}

/** Every form of one secret value, longest and most specific first. */
export function secretForms(value: string): Form[] {
  if (value.length === 0) return [];
  const bytes = Buffer.from(value, 'utf8');
  if (value.length < MIN_DERIVED_SECRET || value.length > MAX_DERIVED_SECRET) {
    const exact: Form[] = [{ units: exactSeq(value).map((c) => [[c]]), sep: '', sepMax: 0, alphabet: value, sepNonAlnum: false }];
    if (value.length > MAX_DERIVED_SECRET) exact.push(encodedForm(base64(bytes), false, '={0,2}'));
    return exact;
  }
  const reversed = [...value].reverse().join('');
  const forms: Form[] = [textForm(value), textForm(reversed), hexForm(bytes)];
  for (const { chars, standalone } of alignedFragments(bytes, 3, 6, base64)) {
    forms.push(encodedForm(chars, false, standalone ? '={0,2}' : undefined));
    const url = chars.replace(/\+/g, '-').replace(/\//g, '_');
    if (url !== chars) forms.push(encodedForm(url, false, standalone ? '={0,2}' : undefined));
  }
  for (const { chars, standalone } of alignedFragments(bytes, 5, 5, base32)) {
    forms.push(encodedForm(chars, true, standalone ? '={0,6}' : undefined));
  }
  forms.push(...fragmentForms(value));
  return forms;
}

function unitSource(unit: Unit): string {
  if (unit.length === 1) {
    const only = unit[0] ?? [];
    return only.length === 1 ? (only[0] ?? '') : `(?:${only.join('')})`;
  }
  return `(?:${unit.map((a) => a.join('')).join('|')})`;
}

/** The separator source before unit `i` (i ≥ 1). */
function sepBefore(form: Form, i: number): string {
  return typeof form.sep === 'string' ? form.sep : (form.sep[i - 1] ?? '');
}

/** The regex source that finds the whole form. */
export function formSource(form: Form): string {
  return form.units.map((unit, i) => (i === 0 ? '' : sepBefore(form, i)) + unitSource(unit)).join('') + (form.suffix ?? '');
}

/** A unit cut short: a proper prefix of one of its multi-character alternatives (`%2` of `%2F`). */
function partialUnitSource(unit: Unit): string | null {
  const parts = new Set<string>();
  for (const alt of unit) for (let k = 1; k < alt.length; k++) parts.add(alt.slice(0, k).join(''));
  return parts.size === 0 ? null : `(?:${[...parts].join('|')})`;
}

/** Deeper than this, a prefix is held back whole to the end (regex nesting stays shallow). */
const PREFIX_DEPTH = 96;

/**
 * The regex source that matches any beginning of the form that runs to the end of the text (to be
 * anchored with `$` by the caller): the units so far, a separator cut short, a unit cut short.
 */
export function prefixSource(form: Form): string {
  const n = Math.min(form.units.length, PREFIX_DEPTH);
  let inner = '';
  for (let i = n - 1; i >= 0; i--) {
    const unit = form.units[i] as Unit;
    const whole = unitSource(unit);
    const rest = i === PREFIX_DEPTH - 1 ? '[\\s\\S]*' : inner === '' ? '' : `(?:${sepBefore(form, i + 1)}(?:${inner})?)?`;
    const partial = partialUnitSource(unit);
    inner = `${whole}${rest}${partial === null ? '' : `|${partial}`}`;
  }
  return `(?:${inner})`;
}

/** The longest text a form can match (the stream window must hold this much). */
export function formMaxLength(form: Form): number {
  let total = 0;
  for (const unit of form.units) total += Math.max(...unit.map((a) => a.length));
  return total + form.sepMax * Math.max(0, form.units.length - 1) + (form.suffix === undefined ? 0 : 6);
}
