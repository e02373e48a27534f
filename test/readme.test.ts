// The README's first hour on SQLite, run as written, and the parser that reads its commands
// (test/support/readme-walkthrough.ts says how; test/readme-postgres.test.ts is the PostgreSQL path).
import { describe, test } from 'node:test';
import { parserFindsTheCommands, README_TIMEOUT, walkThrough } from './support/readme-walkthrough.ts';

test('the parser finds the Quickstart commands, and leaves marked PostgreSQL blocks to their own path', parserFindsTheCommands);

describe('the README first hour, run as written (sqlite)', { timeout: README_TIMEOUT }, () => walkThrough('sqlite'));
