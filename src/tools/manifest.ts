import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';

/** More targets than this in one step raise its risk one level (see policy/risk.ts). */
export const MANY_TARGETS = 5;

/** Risk levels, lowest first. Order matters: risk only ever moves up this list. */
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export const RiskSchema = z
  .enum(RISK_LEVELS)
  .describe('Base risk of the action before it is raised by destructive, targets and environment: low, medium, high or critical.');
export type Risk = z.infer<typeof RiskSchema>;

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const FIELD = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;

/**
 * alerts: a field naming what a step acts on (a target, a namespace, a path). A value that came
 * from untrusted text (alert annotations, a model's free answer) never fills it (invariant 21).
 */
const SENSITIVE = z
  .boolean()
  .optional()
  .describe(
    'What the step acts on (a target, a namespace, a path): a planner may never fill it from untrusted text (alert annotations or its own free answer); only typed labels and trusted config may.',
  );

/**
 * The typed input schema of an action: a closed object of scalar or array-of-scalar fields.
 * Deliberately a small subset of JSON Schema so every value can be checked and rendered as one
 * argv element without a shell (invariant 9).
 */
const StringField = z
  .object({
    type: z.literal('string').describe('A text value, rendered as one argv element.'),
    description: z.string().max(500).optional().describe('Shown to proposers and reviewers: what the value means.'),
    sensitive: SENSITIVE,
    minLength: z.number().int().min(0).optional().describe('Shortest value accepted, in characters.'),
    maxLength: z.number().int().min(1).max(65536).default(1024).describe('Longest value accepted, in characters.'),
    pattern: z
      .string()
      .max(500)
      .optional()
      .describe('A JavaScript regular expression (u flag) the value must match; it matches anywhere unless anchored with ^…$.'),
    enum: z.array(z.string()).min(1).optional().describe('The only values accepted.'),
    /** `path`: canonicalized and checked against the profile's allowed roots by the sandbox. */
    format: z
      .enum(['path', 'hostname'])
      .optional()
      .describe(
        "`path`: canonicalized and refused unless it resolves under the profile's pathRoots (or the work directory). `hostname` is a label only and is not checked: add a pattern.",
      ),
    /** Values starting with `-` are refused unless this is true, so input cannot add flags. */
    allowLeadingDash: z
      .boolean()
      .default(false)
      .describe('Accept values that start with `-`. Off by default so an input value can never become a flag of the tool.'),
  })
  .strict();
const IntegerField = z
  .object({
    type: z.literal('integer').describe('A whole number, rendered in decimal.'),
    description: z.string().max(500).optional().describe('Shown to proposers and reviewers: what the value means.'),
    sensitive: SENSITIVE,
    minimum: z.number().int().optional().describe('Smallest value accepted.'),
    maximum: z.number().int().optional().describe('Largest value accepted.'),
  })
  .strict();
const NumberField = z
  .object({
    type: z.literal('number').describe('A number, rendered in decimal.'),
    description: z.string().max(500).optional().describe('Shown to proposers and reviewers: what the value means.'),
    sensitive: SENSITIVE,
    minimum: z.number().optional().describe('Smallest value accepted.'),
    maximum: z.number().optional().describe('Largest value accepted.'),
  })
  .strict();
const BooleanField = z
  .object({
    type: z.literal('boolean').describe('true or false, rendered as the word.'),
    description: z.string().max(500).optional().describe('Shown to proposers and reviewers: what the value means.'),
    sensitive: SENSITIVE,
  })
  .strict();
const ScalarField = z.discriminatedUnion('type', [StringField, IntegerField, NumberField, BooleanField]);
const ArrayField = z
  .object({
    type: z
      .literal('array')
      .describe(
        'A list of scalars. An argv element that is exactly `{{field}}` renders one element per item; inside a longer element the field is refused.',
      ),
    description: z.string().max(500).optional().describe('Shown to proposers and reviewers: what the value means.'),
    sensitive: SENSITIVE,
    items: ScalarField.describe('The field every item must satisfy (string, integer, number or boolean).'),
    minItems: z.number().int().min(0).optional().describe('Fewest items accepted.'),
    maxItems: z.number().int().min(1).max(1000).default(100).describe('Most items accepted.'),
  })
  .strict();
export const InputFieldSchema = z
  .union([ScalarField, ArrayField])
  .describe('One input field, chosen by its `type`: string, integer, number, boolean or array.');
export type InputField = z.infer<typeof InputFieldSchema>;

export const InputSchemaSchema = z
  .object({
    type: z.literal('object').default('object').describe("Always `object`: a step's input is one closed object."),
    properties: z
      .record(z.string().regex(FIELD), InputFieldSchema)
      .default({})
      .describe('The fields a step may give, by name. A field not listed here is refused at proposal.'),
    required: z.array(z.string()).default([]).describe('Names of the fields every step must give; each must be in properties.'),
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

// Strict: an unknown key such as `value:` would otherwise be dropped silently, and a secret
// written into a signed manifest in clear is exactly what must be refused (invariant 12).
const SecretRef = z
  .object({
    /** Environment variable name inside the sandbox. */
    name: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]{0,63}$/)
      .describe('Environment variable the step sees the secret in (uppercase letters, digits, _).'),
    /** Where the executor reads the value at step time: `env:NAME` or `file:/abs/path`. Never the value. */
    from: z
      .string()
      .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'expected env:NAME or file:/absolute/path')
      .describe(
        "Where the executor reads the value when the step runs: `env:NAME` (the executor's environment; the API process never has it) or `file:/absolute/path`. Never the value itself; the value is redacted from output and audit.",
      ),
  })
  .strict();

export const LimitsSchema = z
  .object({
    cpuSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(30)
      .describe('CPU time the step may use (RLIMIT_CPU); past it the kernel kills it.'),
    memoryMB: z
      .number()
      .int()
      .min(16)
      .max(65536)
      .default(512)
      .describe('Address space (RLIMIT_AS) and, where cgroups are usable, memory.max; also the size of the private /tmp.'),
    fileSizeMB: z.number().int().min(1).max(65536).default(64).describe('Largest file the step may write (RLIMIT_FSIZE).'),
    processes: z
      .number()
      .int()
      .min(1)
      .max(4096)
      .default(64)
      .describe("Processes the tool may run at once (RLIMIT_NPROC and the pids cgroup), not counting the sandbox's own."),
    openFiles: z.number().int().min(16).max(65536).default(256).describe('Open file descriptors (RLIMIT_NOFILE).'),
    wallSeconds: z.number().int().min(1).max(86400).default(60).describe('Wall-clock time before the executor kills the whole sandbox.'),
    outputKB: z
      .number()
      .int()
      .min(1)
      .max(16384)
      .default(256)
      .describe('Stdout and stderr kept together; the rest is read and dropped, and the step is marked truncated.'),
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
    readOnlyPaths: z
      .array(z.string().startsWith('/'))
      .default([])
      .describe('Host paths bound read-only into the sandbox besides /usr (with /bin, /lib, /lib64, /sbin) and the executable.'),
    writablePaths: z
      .array(z.string().startsWith('/'))
      .default([])
      .describe("Host paths bound writable besides the execution's work directory. The data directory is never bindable."),
    pathRoots: z
      .array(z.string().startsWith('/'))
      .default([])
      .describe('Roots that `format: path` inputs must resolve under after symlinks; empty means the work directory only.'),
    egress: z
      .array(EgressEntry)
      .default([])
      .describe(
        "Destinations the step may reach through the executor's allowlisting proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY point at it); empty means no network at all.",
      ),
    env: z
      .record(z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/), z.string().max(4096))
      .default({})
      .describe(
        'Fixed environment variables for the step. Nothing else is inherited from the executor; PATH, HOME and LANG are set, and the proxy variables cannot be overridden.',
      ),
    secrets: z.array(SecretRef).default([]).describe('Credentials injected as environment variables when the step runs.'),
    limits: LimitsSchema.default(LimitsSchema.parse({})).describe('Resource limits of one step. Every field has a default.'),
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
      )
      .describe(
        'Consecutive argv tokens that refuse the step: each a literal or a `/regex/` (u flag). `--flag=value` is split into `--flag` and `value` before matching.',
      ),
    reason: z.string().min(1).max(500).describe('Why the pattern is refused; shown in the ARGUMENT_REFUSED message.'),
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

// ---- previews (issue 17) ----
/**
 * A preview names another action of the same manifest rather than carrying an inline spec: the
 * preview is then an ordinary action (argv, input schema, its own sandbox profile with its own
 * read-only credentials) that the same argv rendering, path canonicalization and deny patterns
 * apply to, and that an operator can also run as a step to inspect state.
 */
export const PreviewRefSchema = z
  .object({
    action: z
      .string()
      .regex(NAME)
      .describe(
        "The preview action's name in this manifest. It gets the step's input values for the fields it declares, its own sandbox profile (never the step's secrets), nothing writable but its work directory, and must not be destructive or have a preview itself.",
      ),
    recheck: z
      .enum(['before-step', 'before-execution'])
      .default('before-step')
      .describe(
        "When the executor re-runs the preview to compare fingerprints: `before-step` (default) before the execution starts and again right before this step; `before-execution` only before the execution's first step, for a preview that reads what an earlier step of the same plan changes.",
      ),
  })
  .strict();
export type PreviewRef = z.infer<typeof PreviewRefSchema>;

export const ActionSchema = z
  .object({
    description: z.string().max(1000).default('').describe('What the action does, shown to proposers and reviewers.'),
    /** argv after the executable; `{{field}}` placeholders, no shell. */
    argv: z
      .array(z.string().max(4096))
      .max(256)
      .default([])
      .describe(
        'Arguments after the executable. `{{field}}` is replaced by the validated input value; each element stays one argument (no shell, no splitting).',
      ),
    input: InputSchemaSchema.default(InputSchemaSchema.parse({})).describe('The typed input a step of this action gives.'),
    risk: RiskSchema,
    /** Safe to run again after a crash mid-step (invariant 10). */
    idempotent: z
      .boolean()
      .default(false)
      .describe('Safe to run again: a step interrupted by a crash is retried only when true, otherwise the execution needs attention.'),
    /** Destroys or replaces state; raises risk by one level. */
    destructive: z.boolean().default(false).describe("Destroys or replaces state: raises the step's risk by one level."),
    /** Input field whose array length counts targets; many targets raise risk. */
    targets: z
      .string()
      .regex(FIELD)
      .optional()
      .describe(`Name of an array input field that lists the step's targets; more than ${MANY_TARGETS} raise the risk by one level.`),
    /** For `script` tools: the language of the `script` input. */
    language: z
      .enum(['bash', 'sh', 'python'])
      .optional()
      .describe('Script tools only (required there): the language the script input is analysed as before it may be proposed.'),
    sandbox: SandboxProfileSchema.optional().describe(
      "This action's own sandbox profile, replacing the tool's whole (fields are not merged).",
    ),
    denyArgv: z
      .array(DenyArgvSchema)
      .max(100)
      .default([])
      .describe("Patterns refused in this action's rendered argv, in addition to the tool's."),
    // ---- previews (issue 17) ----
    preview: PreviewRefSchema.optional().describe(
      'A read-only action of this manifest that shows what a step of this action would change (a diff, a plan, a dry run). The executor runs it before review and again before the step; see docs/previews.md.',
    ),
  })
  .strict();
export type Action = z.infer<typeof ActionSchema>;

export const ToolManifestSchema = z
  .object({
    apiVersion: z.literal('countersign/v1').describe('The manifest format version.'),
    kind: z.literal('Tool').describe('The kind of document.'),
    name: z
      .string()
      .regex(NAME, 'tool names are lowercase letters, digits, - and _')
      .describe('The name steps use (`tool: NAME`); unique across the tools directory.'),
    version: z
      .string()
      .regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'expected a semantic version')
      .describe('Semantic version of the manifest, e.g. "1.2.0". Quote it in YAML.'),
    description: z.string().max(2000).default('').describe('What the tool is, shown to proposers and reviewers.'),
    type: z
      .enum(['exec', 'script'])
      .default('exec')
      .describe(
        '`exec` runs the executable with rendered argv. `script` runs a script from the plan after static analysis; each action needs a language.',
      ),
    executable: z
      .object({
        path: z
          .string()
          .startsWith('/', 'the executable path must be absolute')
          .describe(
            'Absolute path of the program; argv[0] inside the sandbox. Symlinks are followed to the file that is hashed and bound.',
          ),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256')
          .describe(
            'SHA-256 of the program file, 64 lowercase hex characters: `sha256sum PATH` or `countersign tool hash PATH`. Checked before every step; a different binary is refused.',
          ),
      })
      .strict()
      .describe('The program the tool runs, pinned by its digest.'),
    sandbox: SandboxProfileSchema.default(SandboxProfileSchema.parse({})).describe(
      'The sandbox profile of every action that has none of its own.',
    ),
    /** Patterns refused in every action's rendered argv. */
    denyArgv: z.array(DenyArgvSchema).max(100).default([]).describe("Patterns refused in every action's rendered argv."),
    actions: z
      .record(z.string().regex(NAME), ActionSchema)
      .refine((a) => Object.keys(a).length > 0, 'a tool needs at least one action')
      .describe('The actions steps may name (`action: NAME`), by name; at least one.'),
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

// ---- previews (issue 17) ----
/**
 * Why a manifest's previews could write or see the step's credentials: an empty list means every
 * preview is read-only. Checked at load and therefore at signing (`tool sign` loads the manifest
 * first), so a manifest with a writable preview is neither signed nor served (fail closed).
 */
export function previewRefusals(manifest: ToolManifest): string[] {
  const refusals: string[] = [];
  for (const [name, action] of Object.entries(manifest.actions)) {
    if (!action.preview) continue;
    const target = action.preview.action;
    const at = `actions.${name}.preview`;
    const preview = manifest.actions[target];
    if (!preview) {
      refusals.push(`${at}: names "${target}", which is not an action of this manifest`);
      continue;
    }
    if (target === name) refusals.push(`${at}: an action cannot be its own preview`);
    if (preview.preview) refusals.push(`${at}: "${target}" has a preview of its own; a preview must be a plain read-only action`);
    if (preview.destructive) refusals.push(`${at}: "${target}" is destructive; a preview must only read`);
    const own = profileFor(manifest, target);
    if (own.writablePaths.length > 0) {
      refusals.push(`${at}: "${target}" has writable paths (${own.writablePaths.join(', ')}); a preview may write only its work directory`);
    }
    const stepSecrets = profileFor(manifest, name).secrets;
    const shared = own.secrets.filter((s) => stepSecrets.some((t) => t.from === s.from));
    if (shared.length > 0) {
      refusals.push(
        `${at}: "${target}" would receive the step's own secret${shared.length > 1 ? 's' : ''} (${shared.map((s) => s.from).join(', ')}); give the preview its own read-only credentials`,
      );
    }
    const unknown = Object.keys(preview.input.properties).filter((f) => !(f in action.input.properties));
    if (unknown.length > 0) {
      refusals.push(
        `${at}: "${target}" has input fields the step does not give (${unknown.join(', ')}); it receives the step's values only`,
      );
    }
  }
  return refusals;
}
