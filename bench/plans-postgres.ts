// Figure: plan submission over HTTP on PostgreSQL, on a fresh database dropped afterwards.
// Skipped, with a line saying so, when COUNTERSIGN_TEST_DATABASE_URL is not set.
import { owe, type Row } from './lib.ts';
import { measurePlansPostgres } from './support/plans.ts';
import { freshPostgresDatabase } from './support/postgres.ts';

export async function run(): Promise<Row[]> {
  const server = process.env.COUNTERSIGN_TEST_DATABASE_URL;
  if (!server) {
    return [
      {
        id: 'plans.http.postgres',
        figure: 'plan submission HTTP, postgres',
        kind: 'rate',
        value: null,
        status: 'SKIP',
        notes: [
          'skipped: COUNTERSIGN_TEST_DATABASE_URL is not set (e.g. postgres://countersign:countersign@127.0.0.1:5432/countersign_test)',
        ],
      },
    ];
  }
  const db = await freshPostgresDatabase(server);
  const drop = owe(db.drop);
  try {
    return await measurePlansPostgres(db.databaseUrl);
  } finally {
    await drop();
  }
}
