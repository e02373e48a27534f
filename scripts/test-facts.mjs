// A second reporter for Node's test runner, beside its own (spec or TAP): it prints nothing, and
// writes to its destination one JSON object with what scripts/test.mjs adds after the run:
// the runner's own counts, the time each file spent in its top-level tests, and the suites and
// tests skipped for want of PostgreSQL, and the files whose process was killed by a crash signal.

/** Signals a process dies of when the runtime itself fails (V8's fatal errors trap), not a test. */
const CRASH_SIGNALS = new Set(['SIGTRAP', 'SIGILL', 'SIGSEGV', 'SIGBUS', 'SIGABRT']);

/** The skip reason test/support/engines.ts gives when no PostgreSQL URL is set. */
const POSTGRES_SKIP = /COUNTERSIGN_TEST_DATABASE_URL/;

export default async function* testFacts(source) {
  const files = {};
  const counts = {};
  const postgresSkipped = { suites: 0, tests: 0 };
  const crashed = [];
  for await (const event of source) {
    const { type, data } = event;
    if (type === 'test:diagnostic' && data.nesting === 0) {
      // The runner's closing lines: "tests 12", "pass 11", "fail 1", "skipped 0"…
      const m = /^(\w+) (\d+(?:\.\d+)?)$/.exec(data.message);
      if (m) counts[m[1]] = Number(m[2]);
    } else if (type === 'test:pass' || type === 'test:fail') {
      if (typeof data.skip === 'string' && POSTGRES_SKIP.test(data.skip)) {
        if (data.details?.type === 'suite') postgresSkipped.suites++;
        else postgresSkipped.tests++;
      }
      if (data.nesting === 0 && data.file) files[data.file] = (files[data.file] ?? 0) + (data.details?.duration_ms ?? 0);
      // The file's own failure when its process died: the error carries the exit code and signal.
      const error = data.details?.error;
      const signal = error?.signal ?? error?.cause?.signal;
      if (type === 'test:fail' && data.nesting === 0 && data.file && CRASH_SIGNALS.has(signal)) crashed.push({ file: data.file, signal });
    }
  }
  yield `${JSON.stringify({ counts, files, postgresSkipped, crashed })}\n`;
}
