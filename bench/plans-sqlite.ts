// Figure: plan submission over HTTP on the embedded SQLite store (DESIGN.md target ≥ 1,500 plans/s).
import type { Row } from './lib.ts';
import { measurePlansSqlite } from './support/plans.ts';

export async function run(): Promise<Row[]> {
  return measurePlansSqlite();
}
