/**
 * Well-known credential shapes, redacted wherever they appear whether or not the value was
 * injected (a tool may read a key from a file, a proposer may paste one into a reason). Each must
 * be anchored enough not to eat ordinary output.
 *
 * Context that stays readable (a header's scheme, a URL's user and host, an API key's public id)
 * is kept through named groups: `keep…` before the redaction, `tail…` after it. Groups rather than
 * lookbehinds, so the context survives a stream cut between it and the secret.
 */
export interface KnownPattern {
  readonly name: string;
  /** The regular expression; or `scan`, for a shape a regular expression finds slowly. */
  readonly source?: string;
  readonly scan?: (text: string) => readonly (readonly [start: number, end: number])[];
  /** A check on the match a regular expression cannot make cheaply. */
  readonly accept?: (match: string) => boolean;
  /** Must hold for any match to exist: a cheap test that spares the scan on most text. */
  readonly needle?: RegExp;
}

/** Characters of standard base64 without padding: A-Z a-z 0-9 / +. */
const BASE64_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) BASE64_CHAR[c] = /[A-Za-z0-9/+]/.test(String.fromCharCode(c)) ? 1 : 0;

/**
 * AWS secret access keys without a label: runs of exactly 40 base64 characters (not followed by
 * padding) with upper and lower case letters and a digit. Hex (git and SHA-1 digests) has no
 * upper case, so it is left. One pass over the text: a regex tried at every word costs ~20x more.
 */
function unlabelledAwsSecrets(text: string): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 0;
    if (code < 128 && BASE64_CHAR[code] === 1) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0 && i - start === 40 && code !== 0x3d) {
      const run = text.slice(start, i);
      if (/[a-z]/.test(run) && /[A-Z]/.test(run) && /[0-9]/.test(run)) out.push([start, i]);
    }
    start = -1;
  }
  return out;
}

export const KNOWN_PATTERNS: readonly KnownPattern[] = [
  // Any URL with credentials: `scheme://user:password@host` keeps scheme, user and host. The
  // password runs to the last `@` of the authority (an unescaped `@` in a password is common).
  {
    name: 'credential-url',
    source: String.raw`(?<keepUrl>\b[A-Za-z][A-Za-z0-9+.\-]{1,30}:\/\/[^\s:\/?#@"'<>]*:)[^\s\/?#"'<>]+(?<tailUrl>@)`,
  },
  // The same URL percent-encoded, as a query parameter or a form field (`dsn=postgres%3A%2F%2F…`).
  {
    name: 'credential-url-encoded',
    needle: /%3a%2f%2f/i,
    source: String.raw`(?<keepUrlEnc>\b[A-Za-z][A-Za-z0-9+.\-]{1,30}%3[Aa]%2[Ff]%2[Ff][A-Za-z0-9._~\-]*%3[Aa])[^\s&#"'<>]+(?<tailUrlEnc>%40)`,
  },
  // Countersign API keys (src/auth/api-keys.ts): `csk_<26-char id>_<43-char secret>`; the id is
  // public (it names the key in the audit log), the secret is not, even a truncated part of it.
  { name: 'countersign-api-key', source: String.raw`(?<keepCsk>\bcsk_[0-9a-z]{26}_)[A-Za-z0-9_\-]{8,}` },
  { name: 'countersign-api-key-malformed', source: String.raw`\bcsk_(?![0-9a-z]{26}_)[A-Za-z0-9_\-]{20,}` },
  // AWS access key ids: long-term (AKIA), temporary (ASIA), and the bearer-token kinds.
  { name: 'aws-access-key-id', source: String.raw`\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b` },
  // AWS secret access keys when printed next to their name (the name is kept).
  {
    name: 'aws-secret-access-key-labelled',
    source: String.raw`(?<keepAws>(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|SecretAccessKey)["']?\s*[:=]\s*["']?)[A-Za-z0-9\/+=]{40}`,
  },
  { name: 'aws-secret-access-key', scan: unlabelledAwsSecrets },
  // GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained.
  { name: 'github-token', source: String.raw`\bgh[pousr]_[A-Za-z0-9]{36,255}\b` },
  { name: 'github-fine-grained-token', source: String.raw`\bgithub_pat_[A-Za-z0-9_]{22,255}\b` },
  // Slack tokens.
  { name: 'slack-token', source: String.raw`\bxox[abposr]-[A-Za-z0-9\-]{10,}` },
  // PEM private keys; an unterminated block is redacted to the end rather than leaked.
  { name: 'pem-private-key', source: String.raw`-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|$)` },
  // JWTs: base64url header and payload both start with `{"` → `eyJ`.
  { name: 'jwt', source: String.raw`\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*` },
  // Authorization headers: the scheme is kept so the output stays readable.
  { name: 'bearer', source: String.raw`(?<keepBearer>\b[Bb]earer[ \t]+)[A-Za-z0-9._~+\/=\-]{8,}` },
];
