import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { urlPassword, withoutPassword } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';

const run = promisify(execFile);

/**
 * Runs pg_dump / pg_restore / psql against `url`. The password goes in PGPASSWORD, never in the
 * argument list (which any user of the host can read in /proc).
 */
export async function runPgTool(tool: 'pg_dump' | 'pg_restore', args: string[], url: string): Promise<string> {
  const password = urlPassword(url);
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) };
  try {
    const { stdout } = await run(tool, [...args, '--dbname', withoutPassword(url)], { env, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new CountersignError('CONFIG_INVALID', `${tool} is not installed (Debian: apt-get install postgresql-client)`);
    // pg tools name the database and the failing statement; they never print the password.
    throw new CountersignError('STORE_UNAVAILABLE', `${tool} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}
