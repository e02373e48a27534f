// The public surface of this domain: other domains import from here, never from the files behind it.
export { submitCheckpoint, type WitnessEndpoint, witnessName } from './client.ts';
export { CheckpointPublisher, type PublisherOptions, type PublishResult } from './publisher.ts';
export { witnessServer } from './server.ts';
export { initWitness, trustLog, Witness, type WitnessAnswer, type WitnessInit } from './witness.ts';
