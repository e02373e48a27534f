// Executions as the API shows them. Creating and running one is the operations' and the
// executor's job; the lifecycle checks they share live in plans/lifecycle.ts.
export { TERMINAL_EXECUTION_STATUSES } from '../store/index.ts';
export { type ExecutionView, toExecutionView } from './view.ts';
