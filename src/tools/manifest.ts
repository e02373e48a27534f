import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';

/** Risk levels, lowest first. Order matters: risk only ever moves up this list. */
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export const RiskSchema = z.enum(RISK_LEVELS);
export type Risk = z.infer<typeof RiskSchema>;

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const FIELD = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;

/**
 * The typed input schema of an action: a closed object of scalar or array-of-scalar fields.
 * Deliberately a small subset of JSON Schema so every value can be checked and rendered as one
 * argv element without a shell (invariant 9).
 */
const StringField = z
  .object({
    type: z.literal('string'),
    description: z.string().max(500).optional(),
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(1).max(65536).default(1024),
    pattern: z.string().max(500).optional(),
    enum: z.array(z.string()).min(1).optional(),
    /** `path`: canonicalized and checked against the profile's allowed roots by the sandbox. */
    format: z.enum(['path', 'hostname']).optional(),
    /** Values starting with `-` are refused unless this is true, so input cannot add flags. */
    allowLeadingDash: z.boolean().default(false),
  })
  .strict();
const IntegerField = z
  .object({
    type: z.literal('integer'),
    description: z.string().max(500).optional(),
    minimum: z.number().int().optional(),
    maximum: z.number().int().optional(),
  })
  .strict();
const NumberField = z
  .object({
    type: z.literal('number'),
    description: z.string().max(500).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
  })
  .strict();
const BooleanField = z.object({ type: z.literal('boolean'), description: z.string().max(500).optional() }).strict();
const ScalarField = z.discriminatedUnion('type', [StringField, IntegerField, NumberField, BooleanField]);
const ArrayField = z
  .object({
    type: z.literal('array'),
    description: z.string().max(500).optional(),
    items: ScalarField,
    minItems: z.number().int().min(0).optional(),
    maxItems: z.number().int().min(1).max(1000).default(100),
  })
  .strict();
export const InputFieldSchema = z.union([ScalarField, ArrayField]);
export type InputField = z.infer<typeof InputFieldSchema>;

export const InputSchemaSchema = z
  .object({
    type: z.literal('object').default('object'),
    properties: z.record(z.string().regex(FIELD), InputFieldSchema).default({}),
    required: z.array(z.string()).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const r of s.required) {
      if (!(r in s.properties)) ctx.addIssue({ code: 'custom', message: `required field "${r}" is not in properties` });
    }
  });
export type InputSchema = z.infer<typeof InputSchemaSchema>;

/** host:port or *.domain:port; `*` alone and bare TLD wildcards are refused. */
const EgressEntry = z
  .string()
  .regex(/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*:\d{1,5}$/i, 'expected host:port or *.domain:port')
  .refine((e) => !/^\*\.[^.]+:\d+$/.test(e), 'a wildcard must name at least a second-level domain (*.example.com:443)');

const SecretRef = z.object({
  /** Environment variable name inside the sandbox. */
  name: z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/),
  /** Where the executor reads the value at step time: `env:NAME` or `file:/abs/path`. Never the value. */
  from: z.string().regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'expected env:NAME or file:/absolute/path'),
});

export const LimitsSchema = z
  .object({
    cpuSeconds: z.number().int().min(1).max(3600).default(30),
    memoryMB: z.number().int().min(16).max(65536).default(512),
    fileSizeMB: z.number().int().min(1).max(65536).default(64),
    processes: z.number().int().min(1).max(4096).default(64),
    openFiles: z.number().int().min(16).max(65536).default(256),
    wallSeconds: z.number().int().min(1).max(86400).default(60),
    outputKB: z.number().int().min(1).max(16384).default(256),
    diskMB: z
      .number()
      .int()
      .min(1)
      .max(16384)
      .default(256)
      .describe(
        'Disk budget of one step in MB: what its work directory and /tmp may hold together while it runs (memory-backed, never the host disk). A write past it fails with ENOSPC and the step fails as over its disk budget.',
      ),
  })
  .strict();
export type Limits = z.infer<typeof LimitsSchema>;

export const SandboxProfileSchema = z
  .object({
    /** Extra read-only host paths the tool needs beyond /usr and its own executable. */
    readOnlyPaths: z.array(z.string().startsWith('/')).default([]),
    /** Writable paths inside the sandbox besides the execution's work directory. */
    writablePaths: z.array(z.string().startsWith('/')).default([]),
    /** Roots that `format: path` inputs must resolve under (defaults to the work directory). */
    pathRoots: z.array(z.string().startsWith('/')).default([]),
    egress: z.array(EgressEntry).default([]),
    env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/), z.string().max(4096)).default({}),
    secrets: z.array(SecretRef).default([]),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
  })
  .strict();
export type SandboxProfile = z.infer<typeof SandboxProfileSchema>;

/**
 * A destructive pattern refused for a tool (e.g. `delete namespace`, `--force`): a contiguous run
 * of argv tokens, each a literal or `/regex/`, matched after `--flag=value` is split in two.
 */
export const DenyArgvSchema = z
  .object({
    sequence: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(16)
      .refine(
        (seq) => seq.every((t) => !(t.startsWith('/') && t.endsWith('/') && t.length > 2) || isValidRegex(t.slice(1, -1))),
        'invalid /regex/ token',
      ),
    reason: z.string().min(1).max(500),
  })
  .strict();
export type DenyArgv = z.infer<typeof DenyArgvSchema>;

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}

export const ActionSchema = z
  .object({
    description: z.string().max(1000).default(''),
    /** argv after the executable; `{{field}}` placeholders, no shell. */
    argv: z.array(z.string().max(4096)).max(256).default([]),
    input: InputSchemaSchema.default(InputSchemaSchema.parse({})),
    risk: RiskSchema,
    /** Safe to run again after a crash mid-step (invariant 10). */
    idempotent: z.boolean().default(false),
    /** Destroys or replaces state; raises risk by one level. */
    destructive: z.boolean().default(false),
    /** Input field whose array length counts targets; many targets raise risk. */
    targets: z.string().regex(FIELD).optional(),
    /** For `script` tools: the language of the `script` input. */
    language: z.enum(['bash', 'sh', 'python']).optional(),
    sandbox: SandboxProfileSchema.optional(),
    denyArgv: z.array(DenyArgvSchema).max(100).default([]),
  })
  .strict();
export type Action = z.infer<typeof ActionSchema>;

export const ToolManifestSchema = z
  .object({
    apiVersion: z.literal('countersign/v1'),
    kind: z.literal('Tool'),
    name: z.string().regex(NAME, 'tool names are lowercase letters, digits, - and _'),
    version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'expected a semantic version'),
    description: z.string().max(2000).default(''),
    type: z.enum(['exec', 'script']).default('exec'),
    executable: z
      .object({
        path: z.string().startsWith('/', 'the executable path must be absolute'),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256'),
      })
      .strict(),
    sandbox: SandboxProfileSchema.default(SandboxProfileSchema.parse({})),
    /** Patterns refused in every action's rendered argv. */
    denyArgv: z.array(DenyArgvSchema).max(100).default([]),
    actions: z.record(z.string().regex(NAME), ActionSchema).refine((a) => Object.keys(a).length > 0, 'a tool needs at least one action'),
  })
  .strict()
  .superRefine((m, ctx) => {
    for (const [name, action] of Object.entries(m.actions)) {
      for (const arg of action.argv) {
        for (const match of arg.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
          const field = match[1] ?? '';
          if (!(field in action.input.properties)) {
            ctx.addIssue({ code: 'custom', path: ['actions', name, 'argv'], message: `placeholder {{${field}}} names no input field` });
          }
        }
      }
      if (action.targets && action.input.properties[action.targets]?.type !== 'array') {
        ctx.addIssue({ code: 'custom', path: ['actions', name, 'targets'], message: 'targets must name an array input field' });
      }
      if (m.type === 'script' && !action.language) {
        ctx.addIssue({ code: 'custom', path: ['actions', name, 'language'], message: 'script actions must declare a language' });
      }
    }
  });
export type ToolManifest = z.infer<typeof ToolManifestSchema>;

/** The effective sandbox profile of an action: the action's own, else the tool's. */
export function profileFor(manifest: ToolManifest, actionName: string): SandboxProfile {
  return manifest.actions[actionName]?.sandbox ?? manifest.sandbox;
}

/** SHA-256 of the manifest's RFC 8785 canonical form: what a plan step pins. */
export function manifestDigest(manifest: ToolManifest): string {
  const text = canonicalize(manifest);
  if (text === undefined) throw new Error('manifest cannot be canonicalized');
  return createHash('sha256').update(text).digest('hex');
}
