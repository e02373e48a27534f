import { z } from 'zod';

/**
 * Where the server's keys are read (issue 16): the grant signing keys, the audit signing key and
 * the override keys. Replicas on several hosts share one set, typically a read-only secret mount
 * (a Kubernetes Secret volume, a Vault agent's output directory) rather than a copy per host.
 */
export const KeysConfigSchema = z
  .object({
    dir: z
      .string()
      .max(4096)
      .refine((v) => v === '' || v.startsWith('/'), 'must be an absolute path (or empty for <dir>/keys)')
      .default('')
      .describe(
        'Directory holding grant-*.key/.pub, grant-current, audit.key/.pub and override.key/.pub; empty: `<dir>/keys`. May be read-only. Private keys (`*.key`) that other users may read or write, or a directory others may write, stop the start, as ssh refuses such keys.',
      ),
  })
  .strict();

export const KEYS_CONFIG_DEFAULT = { dir: '' };
