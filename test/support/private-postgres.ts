// A PostgreSQL server of a test's own, for tests that stop, restart, kill or partition it. The
// shared server on 5432 serves every other test (and other engineers' runs): it is never touched.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

/** Why a private server cannot run here (not root, no PostgreSQL 15 binaries), or false. */
export const privatePostgresSkip: string | false =
  process.getuid?.() !== 0
    ? 'a private PostgreSQL needs root (to run it as the postgres user)'
    : !existsSync(join(BIN, 'initdb'))
      ? `no PostgreSQL 15 binaries in ${BIN}`
      : false;

export interface PrivatePostgres {
  /** postgres://… of its `countersign` database (trust auth, loopback only). */
  url: string;
  port: number;
  /** `pg_ctl stop -m fast`: every session ends with `terminating connection due to administrator command`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The server's log so far (for failure messages). */
  log(): Promise<string>;
  /** Stops it (immediately) and removes its files. */
  remove(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function asPostgres(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args], { timeout: 60_000 });
  return stdout;
}

/** initdb into a fresh temporary directory owned by `postgres`, start on a free loopback port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  if (privatePostgresSkip) throw new Error(privatePostgresSkip);
  const root = mkdtempSync(join(tmpdir(), 'cs-pg-'));
  const data = join(root, 'data');
  const logFile = join(root, 'server.log');
  const { uid, gid } = idsOf('postgres');
  chownSync(root, uid, gid);
  await asPostgres('initdb', ['-D', data, '-U', 'countersign', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  // fsync off: a test server's durability is the test's lifetime. The socket stays in its own dir.
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=100`;
  const start = async () => {
    await asPostgres('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  await start();
  const admin = new pg.Client({ connectionString: `postgres://countersign@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('create database countersign');
  await admin.end();
  return {
    url: `postgres://countersign@127.0.0.1:${port}/countersign`,
    port,
    stop: () => stop('fast'),
    start,
    log: async () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async remove() {
      await stop('immediate').catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The uid and gid of a host user, from /etc/passwd. */
function idsOf(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  const [uid, gid] = (line?.split(':') ?? []).slice(2, 4).map(Number);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no user ${name} on this host`);
  return { uid: uid as number, gid: gid as number };
}
