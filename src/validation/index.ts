import type { z } from 'zod';
import { CountersignError } from '../errors/index.ts';

/**
 * Turns a zod failure into a 400 naming the first bad field (invariant 19: bad input gets a
 * clear 4xx and writes nothing). Every interface and operation validates through this one
 * function so a field is reported the same way from REST, the CLI and MCP.
 */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.map(String).join('.') || what;
  const message = issue?.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
  throw new CountersignError('VALIDATION_FAILED', `${path}: ${message}`, { details: { field: path } });
}
