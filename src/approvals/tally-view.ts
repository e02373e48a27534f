import { z } from 'zod';

/** How a plan's approvals stand (invariant 5): what is required, what is there, what is missing. */
export const TallySchema = z.object({
  satisfied: z.boolean(),
  rejectedBy: z.string().nullable(),
  requirements: z.array(z.object({ group: z.string(), count: z.number().int(), have: z.number().int() })),
  /** Human summary of what is missing, e.g. "needs 1 more approval from group sre". */
  missing: z.array(z.string()),
});
export type Tally = z.infer<typeof TallySchema>;
