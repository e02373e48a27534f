// The public surface of this domain: other domains import from here, never from the files behind it.
export { witnessServer } from './server.ts';
export { initWitness, trustLog, Witness, type WitnessAnswer, type WitnessInit } from './witness.ts';
