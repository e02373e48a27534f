import { randomBytes, randomFillSync } from 'node:crypto';

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

/**
 * Randomness for ids, drawn from the CSPRNG 4 KiB at a time (one call per ~400 ids instead of
 * one per id, as Node does for randomUUID); every 10-byte slice is handed out once.
 */
const ID_ENTROPY = Buffer.alloc(4096);
let idEntropyOffset = ID_ENTROPY.length;

function idRandom(): Buffer {
  if (idEntropyOffset + 10 > ID_ENTROPY.length) {
    randomFillSync(ID_ENTROPY);
    idEntropyOffset = 0;
  }
  idEntropyOffset += 10;
  return ID_ENTROPY.subarray(idEntropyOffset - 10, idEntropyOffset);
}

export const systemRuntime: Runtime = {
  now: () => new Date(),
  newId: (prefix) => sortableId(prefix, Date.now(), idRandom()),
};
