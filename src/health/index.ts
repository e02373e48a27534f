import { z } from 'zod';

// What a liveness probe answers. Its own small module: the API serves it and the typed client
// reads it, and the client must not depend on the API server's code.
export const HealthSchema = z.object({ status: z.literal('ok'), version: z.string() });
export type Health = z.infer<typeof HealthSchema>;
