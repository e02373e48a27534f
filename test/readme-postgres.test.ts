// The README's first hour on PostgreSQL, run as written (test/support/readme-walkthrough.ts says
// how). Its own file so it runs beside the SQLite path (test/readme.test.ts), not after it.
import { describe } from 'node:test';
import { README_TIMEOUT, walkThrough } from './support/readme-walkthrough.ts';

describe('the README first hour, run as written (postgres)', { timeout: README_TIMEOUT }, () => walkThrough('postgres'));
