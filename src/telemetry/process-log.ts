import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';

/**
 * JSON log lines for the processes that have no Fastify logger (the executor, the supervisor),
 * in the API's pino shape (numeric `level`, epoch-ms `time`, `pid`, `hostname`, `msg`) so one
 * log pipeline reads all three. Fields of the work in progress (an execution's id and plan id)
 * come from the log scope, so a line logged deep inside an execution names it without every
 * call site passing ids.
 */
export type LogFields = Record<string, string | number | boolean | null>;

const LEVELS = { info: 30, warn: 40, error: 50 } as const;
export type LogLevel = keyof typeof LEVELS;

const fieldScopes = new AsyncLocalStorage<LogFields>();
const HOST = hostname();

/** Runs `fn` with `fields` added to every JSON log line written inside it. */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  return fieldScopes.run({ ...fieldScopes.getStore(), ...fields }, fn);
}

/**
 * One line (no newline). Fixed fields come first and the message last, and a field of the scope
 * can never replace `level`, `time` or `msg`. `redact` is applied to the message before it is
 * JSON-escaped (an escaped secret would no longer match) and to the whole line after.
 */
export function jsonLogLine(
  msg: string,
  fields: LogFields = {},
  options: { level?: LogLevel; redact?: (text: string) => string; now?: () => number } = {},
): string {
  const redact = options.redact ?? ((t: string) => t);
  const level = options.level ?? (/^WARNING\b/.test(msg) ? 'warn' : 'info');
  const line = JSON.stringify({
    ...fieldScopes.getStore(),
    ...fields,
    level: LEVELS[level],
    time: (options.now ?? Date.now)(),
    pid: process.pid,
    hostname: HOST,
    msg: redact(msg),
  });
  return redact(line);
}

/**
 * The line a process writes: JSON (above) for log pipelines, or, on a terminal, plain text a
 * person reads (`executor: started …`, the scope's ids after the message). COUNTERSIGN_LOG_FORMAT
 * (`json` or `text`) overrides the choice.
 */
export function processLogLine(
  msg: string,
  fields: LogFields = {},
  options: { level?: LogLevel; redact?: (text: string) => string; now?: () => number } = {},
  env: NodeJS.ProcessEnv = process.env,
  tty: boolean = Boolean(process.stderr.isTTY),
): string {
  const format =
    env.COUNTERSIGN_LOG_FORMAT === 'json' || env.COUNTERSIGN_LOG_FORMAT === 'text' ? env.COUNTERSIGN_LOG_FORMAT : tty ? 'text' : 'json';
  if (format === 'json') return jsonLogLine(msg, fields, options);
  const redact = options.redact ?? ((t: string) => t);
  const { process: who, owner: _owner, ...rest } = { ...fieldScopes.getStore(), ...fields };
  const ids = Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`);
  return redact(`${who ? `${String(who)}: ` : ''}${msg}${ids.length > 0 ? ` (${ids.join(' ')})` : ''}`);
}
