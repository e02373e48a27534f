import { randomBytes } from 'node:crypto';

/**
 * Time and identifiers come from here so tests can make them deterministic.
 * Production uses `systemRuntime`; no module keeps a hidden clock of its own.
 */
export interface Runtime {
  now(): Date;
  newId(prefix: string): string;
}

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** Time-sortable id: 10 chars of milliseconds + 16 chars (80 bits) of randomness, Crockford base32. */
export function sortableId(prefix: string, time: number, random: Buffer = randomBytes(10)): string {
  let t = time;
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = CROCKFORD[t % 32] + head;
    t = Math.floor(t / 32);
  }
  let tail = '';
  let acc = 0;
  let bits = 0;
  for (const byte of random) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      tail += CROCKFORD[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return `${prefix}_${head}${tail}`;
}

export const systemRuntime: Runtime = {
  now: () => new Date(),
  newId: (prefix) => sortableId(prefix, Date.now()),
};
