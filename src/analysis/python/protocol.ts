import { z } from 'zod';

/** A literal argument as the worker reports it: constants, and lists of them; null when not literal. */
export type Literal = string | number | boolean | null | Literal[];
const LiteralSchema: z.ZodType<Literal> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(LiteralSchema)]));

const at = { line: z.number().int().min(0), text: z.string() };

export const PythonEventSchema = z.discriminatedUnion('k', [
  z.object({ k: z.literal('import'), mod: z.string(), star: z.boolean().optional(), ...at }),
  z.object({
    k: z.literal('call'),
    /** Dotted name after resolution (`os.system`), null when the callee is not a resolvable name. */
    name: z.string().nullable(),
    /** Tricks used to reach the name: `getattr`, `__import__`, `__builtins__`, `globals()`… */
    via: z.array(z.string()),
    /** For `Path('/x').write_text(…)`: the literal path the method acts on. */
    recv: z.string().nullable(),
    args: z.array(LiteralSchema),
    nargs: z.number().int(),
    kw: z.record(z.string(), LiteralSchema),
    ...at,
  }),
  z.object({ k: z.literal('ref'), name: z.string(), via: z.array(z.string()), ...at }),
  z.object({ k: z.literal('dynamic'), what: z.string(), ...at }),
  z.object({ k: z.literal('dunder'), attr: z.string(), ...at }),
]);
export type PythonEvent = z.infer<typeof PythonEventSchema>;
export type CallEvent = Extract<PythonEvent, { k: 'call' }>;

export const WorkerResponseSchema = z.union([
  z.object({ id: z.number(), ok: z.literal(true), events: z.array(PythonEventSchema), stars: z.array(z.string()), truncated: z.boolean() }),
  z.object({
    id: z.number().nullable(),
    ok: z.literal(false),
    error: z.enum(['syntax', 'too-complex', 'internal']),
    line: z.number(),
    message: z.string(),
  }),
]);

/** What one analysis request ends with. Never a thrown error: every failure is a value the rules turn into deny. */
export type PythonOutcome =
  | { ok: true; events: PythonEvent[]; stars: string[]; truncated: boolean }
  | { ok: false; error: 'syntax' | 'too-complex' | 'internal' | 'unavailable' | 'timeout'; line: number; message: string };
