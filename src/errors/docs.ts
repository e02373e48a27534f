import { ERROR_CODES } from './codes.ts';

/** The Markdown of docs/errors.md, generated from the code table (a test keeps them equal). */
export function renderErrorDocs(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.exit} | ${e.summary} |`);
  return [
    '# Error codes',
    '',
    'Every error from the API is `{"error": {"code", "message"}}` with the HTTP status below; the CLI',
    'prints the message and exits with the exit code below. Codes are stable: branch on them, not on',
    'messages. Generated from `src/errors/codes.ts` by `npm run docs:errors`.',
    '',
    '| code | HTTP | CLI exit | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
