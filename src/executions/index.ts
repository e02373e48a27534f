// Executions as the API shows them. Creating and running one is the operations' and the
// executor's job; the lifecycle checks they share live in plans/lifecycle.ts.
export { TERMINAL_EXECUTION_STATUSES } from '../store/index.ts';
export { type EventLogRead, type StreamOptions, streamExecutionEvents } from './event-stream.ts';
export {
  type EventsPage,
  EventsPageSchema,
  type ExecutionEvent,
  type ExecutionList,
  ExecutionListSchema,
  ExecutionStepViewSchema,
  type ExecutionView,
  ExecutionViewSchema,
  type FreezeList,
  FreezeListSchema,
  type FreezeState,
  FreezeStateSchema,
  type IssuedGrant,
  IssuedGrantSchema,
  type RevokedGrant,
  RevokedGrantSchema,
  toExecutionView,
} from './view.ts';
