import { verifyCosignature } from './cosignature.ts';
import { checkpointOf, openNote } from './note.ts';

/** What makes a checkpoint witnessed here: the log's own key, and enough of the trusted witnesses. */
export interface WitnessQuorum {
  /** The audit log's verifier key (`countersign audit verifier-key`). */
  logKey: string;
  /** The witnesses' cosigner keys, from countersign.yaml (never from the database). */
  witnessKeys: readonly string[];
  /** How many distinct witnesses must have cosigned. */
  quorum: number;
}

/**
 * The size of the largest checkpoint among `notes` that the log signed and at least `quorum`
 * trusted witnesses cosigned; 0 when none is. A note that fails any check simply does not
 * count: a row a database writer forged or edited covers nothing.
 */
export function witnessedSize(notes: readonly string[], q: WitnessQuorum): number {
  let best = 0;
  for (const note of notes) {
    try {
      openNote(note, q.logKey);
      const size = checkpointOf(note).size;
      if (size <= best) continue;
      let cosigned = 0;
      for (const key of new Set(q.witnessKeys)) {
        try {
          verifyCosignature(note, key);
          cosigned++;
        } catch {
          // Not cosigned by this witness (or not validly): it does not count toward the quorum.
        }
      }
      if (cosigned >= q.quorum) best = size;
    } catch {
      // Not signed by this log: ignore it.
    }
  }
  return best;
}
