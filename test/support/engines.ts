import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server for tests; each test gets its own fresh database on it. */
export const PG_URL = process.env.COUNTERSIGN_TEST_DATABASE_URL;

export interface Engine {
  name: 'sqlite' | 'postgres';
  /** Skip reason when the engine is unavailable (only outside CI: the runner enforces that). */
  skip: string | false;
  /** A fresh, empty database: undefined URL means the embedded SQLite file of the data dir. */
  fresh(): Promise<{ databaseUrl: string | undefined; drop(): Promise<void> }>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function freshPostgresDatabase(): Promise<{ databaseUrl: string; drop(): Promise<void> }> {
  if (!PG_URL) throw new Error('COUNTERSIGN_TEST_DATABASE_URL is not set');
  const name = `cs_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

export const ENGINES: Engine[] = [
  { name: 'sqlite', skip: false, fresh: async () => ({ databaseUrl: undefined, drop: async () => {} }) },
  {
    name: 'postgres',
    skip: PG_URL ? false : 'COUNTERSIGN_TEST_DATABASE_URL not set',
    fresh: freshPostgresDatabase,
  },
];
