import { checkpointOf, type MerkleTree, verifyCosignature } from '../audit/index.ts';
import { nodeTransport } from '../client/index.ts';

/** A witness of this log: where its C2SP add-checkpoint endpoint is, and its cosigner key. */
export interface WitnessEndpoint {
  /** The submission prefix: `<url>/add-checkpoint` is posted to. */
  url: string;
  /** Its verifier key, `<name>+<key id>+<base64>` (`countersign witness init` prints it). */
  key: string;
}

/** The witness name in its verifier key. */
export function witnessName(w: Pick<WitnessEndpoint, 'key'>): string {
  return w.key.split('+')[0] ?? w.key;
}

/**
 * Hands a checkpoint to a witness (C2SP tlog-witness add-checkpoint) with a consistency proof
 * from the size it last cosigned (learnt from its 409 answer) and returns its cosignature
 * lines, verified against its key. Throws with the witness's own words when it refuses.
 */
export async function submitCheckpoint(tree: MerkleTree, note: string, w: WitnessEndpoint, timeoutMs = 15_000): Promise<string> {
  const size = checkpointOf(note).size;
  let old = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    const proof = old > 0 && old < size ? tree.consistencyProof(old, size).map((h) => `${h.toString('base64')}\n`) : [];
    const res = await nodeTransport(`${w.url.replace(/\/+$/, '')}/add-checkpoint`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `old ${old}\n${proof.join('')}\n${note}`,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status === 409 && attempt === 0) {
      old = Number(text.trim());
      if (!Number.isSafeInteger(old) || old > size)
        throw new Error(`the witness holds ${text.trim()} entries, more than this log's ${size}: it saw another history`);
      continue;
    }
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.trim()}`);
    verifyCosignature(`${note}${text}`, w.key);
    return text;
  }
  throw new Error('the witness kept changing its size');
}
