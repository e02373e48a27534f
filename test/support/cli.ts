import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The CLI the tests start: the bundled dist/bundle/cli.js (what bin/countersign.js runs) when the runner built it for this run
 * (scripts/test.mjs sets COUNTERSIGN_TEST_CLI=dist), else the source through tsx.
 */
const BUILT = process.env.COUNTERSIGN_TEST_CLI === 'dist';
const CLI = fileURLToPath(new URL(BUILT ? '../../dist/bundle/cli.js' : '../../src/cli.ts', import.meta.url));
/**
 * Node arguments that start the CLI: `spawn(process.execPath, [...CLI_ARGS, 'serve', …])`. The
 * servers a test starts live seconds, not days: they compile WebAssembly with V8's baseline
 * compiler only, as one-shot commands always do (`serve` hands the flag to its api and executor
 * children), instead of spending a second or two of CPU optimizing Cedar in the background.
 */
const V8_FLAGS = ['--liftoff-only'];
export const CLI_ARGS: readonly string[] = BUILT ? [...V8_FLAGS, CLI] : [...V8_FLAGS, '--import', 'tsx', CLI];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process (see CLI_ARGS). */
export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export const CLI_PATH = CLI;
