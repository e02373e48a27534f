// The public surface of this domain: other domains import from here, never from the files behind it.
export { baselineWasmForOneShotCommands, main } from './main.ts';
export { exitQuietlyWhenReaderCloses } from './output.ts';
