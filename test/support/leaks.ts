/**
 * An oracle for invariant 12 written apart from the redactor: which recoverable forms of a secret
 * a text still holds. It normalises the text (case, separators, line breaks, escapes) and looks
 * for plain substrings, so it shares no regular expression with src/secrets.
 */

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32(bytes: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

/** The characters of encode(k zero bytes + secret) that come from the secret alone, per alignment k. */
function aligned(secret: Buffer, group: number, bitsPerChar: number, encode: (b: Buffer) => string): string[] {
  const out: string[] = [];
  for (let k = 0; k < group; k++) {
    const full = encode(Buffer.concat([Buffer.alloc(k), secret])).replace(/=+$/, '');
    out.push(full.slice(Math.ceil((8 * k) / bitsPerChar), Math.floor((8 * (k + secret.length)) / bitsPerChar)));
  }
  return out;
}

const alnumOnly = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * The names of the secret's forms found in `text`. `minPiece`: pieces of the secret this long or
 * longer count as a leak (a secret split in two is still recoverable from its halves).
 */
export function findLeaks(text: string, secret: string, minPiece = 11): string[] {
  const found: string[] = [];
  const lower = text.toLowerCase();
  const s = secret.toLowerCase();
  const bytes = Buffer.from(secret, 'utf8');
  const unbroken = text.replace(/\r?\n/g, '');
  const check = (name: string, hit: boolean) => {
    if (hit) found.push(name);
  };
  check('plain (any case)', lower.includes(s));
  check('reversed (any case)', lower.includes([...s].reverse().join('')));
  const skeleton = alnumOnly(secret);
  if (skeleton.length >= 8) {
    const textSkeleton = alnumOnly(text);
    check('with separators', textSkeleton.includes(skeleton));
    check('reversed with separators', textSkeleton.includes([...skeleton].reverse().join('')));
  }
  const hex = bytes.toString('hex');
  check('hex', lower.includes(hex));
  check('hex with separators', lower.replace(/\\x|0x|[^0-9a-f]/g, '').includes(hex));
  check('url-encoded', lower.includes(encodeURIComponent(secret).toLowerCase()));
  check('json-escaped', text.includes(JSON.stringify(secret).slice(1, -1)));
  for (const [k, frag] of aligned(bytes, 3, 6, (b) => b.toString('base64')).entries()) {
    check(`base64 at alignment ${k}`, unbroken.includes(frag));
    check(`base64url at alignment ${k}`, unbroken.includes(frag.replace(/\+/g, '-').replace(/\//g, '_')));
  }
  for (const [k, frag] of aligned(bytes, 5, 5, base32).entries()) {
    check(`base32 at alignment ${k}`, unbroken.toUpperCase().includes(frag));
  }
  for (let i = 0; i + minPiece <= s.length; i++) {
    if (lower.includes(s.slice(i, i + minPiece))) {
      found.push(`piece of ${minPiece} at ${i}`);
      break;
    }
  }
  return found;
}
