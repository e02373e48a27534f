/**
 * Redaction of secrets from step output, logs and audit details (invariant 12).
 *
 * Two families are removed: the exact values of the secrets injected into a step together with
 * the encodings a tool is likely to print them in (base64 and base64url — also when the secret
 * sits inside a longer encoded blob —, URL encoding, hex, JSON string escaping), and well-known
 * credential shapes that may come from anywhere (cloud keys read from a file by the tool itself).
 */

export const REDACTED = '[REDACTED]';

/** Secrets this short still get their exact value removed, but no derived encodings (noise). */
const MIN_ENCODED_SECRET = 4;
/** Encoded fragments shorter than this would redact ordinary text. */
const MIN_FRAGMENT = 6;

/** Well-known credential shapes. Each must be anchored enough not to eat ordinary output. */
const KNOWN_PATTERNS: readonly string[] = [
  // AWS access key ids (long-term AKIA, temporary ASIA).
  String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
  // AWS secret access keys when printed next to their name (the name is kept).
  String.raw`(?<keepAws>(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}`,
  // GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained.
  String.raw`\bgh[pousr]_[A-Za-z0-9]{36,255}\b`,
  String.raw`\bgithub_pat_[A-Za-z0-9_]{22,255}\b`,
  // Slack tokens.
  String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,}`,
  // PEM private keys; an unterminated block is redacted to the end rather than leaked.
  String.raw`-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|$)`,
  // JWTs: base64url header and payload both start with `{"` → `eyJ`.
  String.raw`\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`,
  // Authorization headers: the scheme is kept so the output stays readable.
  String.raw`(?<keepBearer>\b[Bb]earer[ \t]+)[A-Za-z0-9._~+/=-]{8,}`,
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The fragments of base64(prefix + secret) that depend only on the secret's bytes, for each of
 * the three possible alignments of the secret in a longer encoded blob.
 */
function base64Fragments(secret: Buffer): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), secret]).toString('base64');
    const start = Math.ceil((8 * k) / 6);
    const end = Math.floor((8 * (k + secret.length)) / 6);
    const fragment = encoded.slice(start, end);
    if (fragment.length >= MIN_FRAGMENT) out.push(fragment);
  }
  // The whole standalone encoding, padding included, is the common case.
  out.push(secret.toString('base64'));
  return out;
}

/** Every literal form of one secret value that is redacted. */
export function secretForms(value: string): string[] {
  if (value.length === 0) return [];
  const forms = new Set<string>([value]);
  if (value.length >= MIN_ENCODED_SECRET) {
    const bytes = Buffer.from(value, 'utf8');
    for (const b64 of base64Fragments(bytes)) {
      forms.add(b64);
      forms.add(b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
    }
    forms.add(encodeURIComponent(value));
    forms.add(encodeURIComponent(value).replace(/%20/g, '+'));
    const hex = bytes.toString('hex');
    forms.add(hex);
    forms.add(hex.toUpperCase());
    forms.add(JSON.stringify(value).slice(1, -1));
  }
  return [...forms].filter((f) => f.length > 0);
}

export interface RedactionRules {
  readonly pattern: RegExp;
  /** Every literal form, longest first; a streaming redactor holds back their beginnings. */
  readonly literals: readonly string[];
}

export function redactionRules(secretValues: readonly string[]): RedactionRules {
  const literals = new Set<string>();
  for (const value of secretValues) for (const form of secretForms(value)) literals.add(form);
  // Longest first so a secret's longer encoding wins over a shorter form inside it.
  const sorted = [...literals].sort((a, b) => b.length - a.length);
  const alternatives = [...sorted.map(escapeRegExp), ...KNOWN_PATTERNS];
  return {
    pattern: new RegExp(alternatives.join('|'), 'g'),
    literals: sorted,
  };
}

/**
 * Patterns keep their context in named groups rather than lookbehinds: a lookbehind would lose
 * its context when a stream is cut between the context and the token.
 */
function replacement(_match: string, ...rest: unknown[]): string {
  const groups = rest[rest.length - 1] as Record<string, string | undefined> | undefined;
  const keep = groups?.keepAws ?? groups?.keepBearer;
  return keep === undefined ? REDACTED : `${keep}${REDACTED}`;
}

function apply(pattern: RegExp, text: string): string {
  return text.replace(pattern, replacement);
}

/** A pure function that removes every form of the given secrets and known credential shapes. */
export function createRedactor(secretValues: readonly string[]): (text: string) => string {
  const { pattern } = redactionRules(secretValues);
  return (text) => apply(pattern, text);
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

/** Length of the longest suffix of `text` that is a proper prefix of one of `literals`. */
function partialLiteralAtEnd(text: string, literals: readonly string[]): number {
  let best = 0;
  for (const literal of literals) {
    for (let k = Math.min(literal.length - 1, text.length); k > best; k--) {
      if (text.endsWith(literal.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

/**
 * Redaction across chunk boundaries: a secret split over two writes of a tool's stdout must not
 * leak half of itself. Complete lines are emitted at once (live output stays live); what could
 * still become a match is held back until the next chunk or `flush` decides it: the unterminated
 * last line (bounded), any suffix that begins a secret's literal form (secrets may hold
 * newlines), and any match that runs into the held-back part.
 */
export function createStreamRedactor(secretValues: readonly string[]): StreamRedactor {
  const { pattern, literals } = redactionRules(secretValues);
  let pending = '';

  return {
    write(chunk: string): string {
      pending += chunk;
      let cut = pending.lastIndexOf('\n') + 1;
      if (pending.length - cut > LINE_HOLDBACK) cut = pending.length - LINE_HOLDBACK;
      cut = Math.min(cut, pending.length - partialLiteralAtEnd(pending, literals));
      for (const match of pending.matchAll(pattern)) {
        const start = match.index;
        if (start >= cut) break;
        if (start + match[0].length > cut) {
          cut = start;
          break;
        }
      }
      if (pending.length - cut > MAX_HOLDBACK) cut = pending.length;
      if (cut <= 0) return '';
      const ready = pending.slice(0, cut);
      pending = pending.slice(cut);
      return apply(pattern, ready);
    },
    flush(): string {
      const rest = apply(pattern, pending);
      pending = '';
      return rest;
    },
  };
}
