#!/usr/bin/env node
import { baselineWasmForOneShotCommands, exitQuietlyWhenReaderCloses, main } from './cli/index.ts';

exitQuietlyWhenReaderCloses();
baselineWasmForOneShotCommands(process.argv.slice(2));

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 10;
  },
);
