export { type ClientOptions, CountersignClient, type ProposePlanInput } from './client/index.ts';
export { CountersignError, ERROR_CODES, type ErrorCode } from './errors/index.ts';
