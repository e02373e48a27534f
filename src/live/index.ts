// Live signals for event streams: PostgreSQL LISTEN/NOTIFY across replicas, in-process otherwise.
export { AUTH_CHANGING_OPERATIONS, LiveHub } from './hub.ts';
export { PostgresListener } from './postgres.ts';
