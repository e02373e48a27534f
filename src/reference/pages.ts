import type { z } from 'zod';
import { ApprovalRulesSchema, EXTERNAL_SOURCES } from '../approvals/index.ts';
import { ConfigSchema } from '../config/index.ts';
import { NotificationSettingsSchema } from '../notifications/index.ts';
import { MANY_TARGETS, RAISED_ENVIRONMENTS } from '../policy/index.ts';
import { RISK_LEVELS, SIGNATURE_SUFFIX, ToolManifestSchema } from '../tools/index.ts';
import { APPROVALS_EXAMPLE, CONFIG_EXAMPLE, MANIFEST_EXAMPLE, NOTIFICATIONS_EXAMPLE } from './examples.ts';
import { type FieldRow, fieldRows } from './fields.ts';
import { PLAYBOOK_EXAMPLE, PLAYBOOK_INTRO, PLAYBOOK_RULES, PlaybookSchema } from './playbook-page.ts';

/** One generated page: its file under docs/reference, the schema it documents, its example. */
export interface ReferencePage {
  file: string;
  schema: z.ZodType;
  example: string;
  render(): string;
}

const GENERATED = 'Generated from the zod schemas by `npm run docs:reference`; a test keeps this page equal to them. Do not edit by hand.';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function fieldTable(rows: readonly FieldRow[]): string {
  const lines = ['| Field | Type | Default | Constraints | Description |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const constraints = [...(r.required ? ['**required**'] : []), ...r.constraints].join('; ');
    lines.push(
      `| \`${cell(r.path)}\` | ${cell(r.type)} | ${cell(r.default ?? '—')} | ${cell(constraints || '—')} | ${cell(r.description)} |`,
    );
  }
  return lines.join('\n');
}

function page(
  title: string,
  intro: string[],
  schema: z.ZodType,
  sections: [string, string[]][],
  exampleTitle: string,
  example: string,
): string {
  const out = [`# ${title}`, '', ...intro, '', GENERATED, '', '## Fields', '', fieldTable(fieldRows(schema)), ''];
  for (const [heading, lines] of sections) out.push(`## ${heading}`, '', ...lines, '');
  out.push(`## ${exampleTitle}`, '', '```yaml', example.trimEnd(), '```', '');
  return out.join('\n');
}

const list = (items: readonly string[]): string => items.map((i) => `\`${i}\``).join(', ');

function manifestPage(): string {
  return page(
    'Tool manifest reference',
    [
      'A tool manifest describes one program Countersign may run: the executable pinned by its SHA-256, its',
      'actions (each an argv template with a typed input), a base risk, and the sandbox each step runs in.',
      `Manifests are the \`*.yaml\`/\`*.yml\` files in \`<dir>/tools/\`; their signatures live beside them in \`<file>${SIGNATURE_SUFFIX}\`.`,
      'Start one with `countersign tool new /path/to/program`.',
    ],
    ToolManifestSchema,
    [
      [
        'Rules across fields',
        [
          "- Every `{{field}}` in an action's `argv` names a field of that action's `input.properties`.",
          '- Every name in `input.required` is in `input.properties`.',
          '- `targets` names an input field of `type: array`.',
          '- A `type: script` tool declares `language` on every action.',
          '- An `egress` wildcard names at least a second-level domain (`*.example.com:443`); `*` alone is refused.',
          '- Tool names are unique across the directory; a second file with the same `name` stops the load.',
        ],
      ],
      [
        'Loading, signatures and reload',
        [
          '- A manifest loads only with enough valid signatures from publisher keys in the trust store (config `trust`;',
          '  K of N). A signature covers the parsed manifest (RFC 8785 canonical JSON), so comments and formatting may',
          '  change freely but any value change needs a new signature: `countersign tool sign FILE --key KEY`.',
          '- A signature by a trusted key that does not verify (the manifest changed after signing) is refused even',
          '  with `developmentMode`; with `developmentMode` an unsigned manifest loads, marked and audited.',
          '- The API server and the executor read `<dir>/tools` at start, and again on `SIGHUP` (send it to',
          '  `countersign serve`; it passes it to both processes). A reload re-reads the trust store, verifies every',
          '  manifest and replaces the whole set at once, audited as `tool.reload`. If any file is invalid, unsigned',
          '  or badly signed, the whole new set is refused and the old one stays (audited as denied or failed, with',
          '  the reasons, and logged). At start the same refusal of a signature only leaves that tool out; an invalid',
          '  manifest stops the start.',
          "- A plan pins each tool's manifest digest at proposal: if a reload changes a manifest, plans proposed",
          '  against the old one can no longer run (propose them again).',
        ],
      ],
      [
        "How a step's risk is computed",
        [
          `Risk levels, lowest first: ${list(RISK_LEVELS)}. A step starts at its action's \`risk\` and is raised one level for each of:`,
          '',
          '- `destructive: true`;',
          `- more than ${MANY_TARGETS} items in the input field \`targets\` names;`,
          `- the plan's environment being one of ${list([...RAISED_ENVIRONMENTS])}.`,
          '',
          'A plan takes the highest risk of its steps. The intent text never changes the risk.',
        ],
      ],
      [
        'How argv is rendered',
        [
          '- No shell: the executable gets exactly the rendered elements, one argument each.',
          '- `{{field}}` inside an element is replaced by the value; an element that is exactly `{{arrayField}}` becomes',
          '  one argument per item (none when the optional field is absent). A scalar the template needs but the',
          '  step does not give is refused.',
          "- Values are checked against the action's input again right before rendering: a value starting with `-` is",
          '  refused unless `allowLeadingDash`, a NUL byte is always refused, `format: path` values must resolve under',
          '  `pathRoots`.',
          "- `denyArgv` patterns (the tool's and the action's) are matched against the rendered argv at proposal and",
          '  again by the executor; a match refuses the step with ARGUMENT_REFUSED.',
          '- Reviewers see the rendered command of every step before they approve (`countersign plan show`).',
        ],
      ],
    ],
    'Example: `tools/kubectl.yaml`',
    MANIFEST_EXAMPLE,
  );
}

function configPage(): string {
  return page(
    'Configuration reference: `countersign.yaml`',
    [
      'The configuration of one installation lives in `<dir>/countersign.yaml` (written by `countersign init`).',
      'Every field is optional. It is validated at start (and again on `SIGHUP`) and then frozen: an invalid file',
      'stops the start with CONFIG_INVALID (exit 3); nothing falls back to a default. A string value may reference an',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal syntax the config file uses
      'environment variable as `${env:NAME}` and a secret file as `${file:/absolute/path}` (a mounted Kubernetes or',
      'Vault-agent secret; one trailing newline dropped); an unset variable, or a missing file or one other users',
      'may read or write, is an error, never an empty string.',
    ],
    ConfigSchema,
    [
      [
        'Signatures required (trust)',
        [
          '- K for an environment is `trust.environments[env]`, else `trust.required`, and never below 1.',
          "- A manifest loads when it has the smallest K of any environment; the K of the plan's own environment is",
          '  checked again at propose, at the execute request and before every step, against the trust store as it',
          '  is then, so removing a key takes effect at once.',
          '- The trust store itself (the N keys) is in the database: `countersign trust add|list|remove`.',
        ],
      ],
      [
        'Changing the configuration',
        [
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal syntax the config file uses
          '- `SIGHUP` to the API re-reads this file (`${env:…}` and `${file:…}` resolved anew) and applies at once',
          '  `rateLimit.perPrincipalPerMinute`, `rateLimit.perAddressPerMinute` and the whole `alerts` section',
          '  (sources, their secrets, models, budgets), all or nothing, audited as `config.reload`. Any other changed',
          '  setting is logged as needing a restart and keeps its running value. See docs/operations.md.',
          '- `SIGHUP` also reloads the policies, the tools and the playbooks; the executor reads this file at start only.',
          '- `countersign doctor` reports the security-relevant settings (development switches, rate limits, OIDC,',
          '  notifications) as PASS, FAIL or NOTE.',
        ],
      ],
    ],
    'Example: `countersign.yaml`',
    CONFIG_EXAMPLE,
  );
}

function approvalsPage(): string {
  return page(
    'Approval rules reference: `approvals.yaml`',
    [
      'Approval rules say how many reviewers of which groups must approve a plan before it may run. They live in',
      '`<dir>/approvals.yaml` and are read at start; an invalid file stops the start with CONFIG_INVALID.',
      'Reviewers also need a Cedar permit to review (see the policies); the rules only count approvals.',
    ],
    ApprovalRulesSchema,
    [
      [
        'How rules are applied',
        [
          '- Rules are tried top to bottom and the first whose `match` fits the plan decides: put specific rules above',
          '  general ones. A plan that no rule matches is refused at proposal.',
          "- `require` entries must all be met. Only approvals of the plan's current hash count, only within",
          "  `approvalTtlHours`, one per reviewer (their latest), and never the proposer's. One person fills one seat:",
          '  a reviewer in both `sre` and `security` cannot meet "2 sre + 1 security" alone.',
          '- A rejection by a reviewer of a required group rejects the plan.',
          `- Plans from ${list(EXTERNAL_SOURCES)} sources are never auto-approved: an \`autoApprove\` rule matching one`,
          '  yields `externalSourceRequires` instead, and a rule that names those sources with `autoApprove` is refused.',
          '- A rule needs `require` or `autoApprove: true`, never both.',
          '- The requirement is fixed when the plan is proposed and stored with it; editing this file changes only',
          '  plans proposed after the next start.',
        ],
      ],
    ],
    'Example: `approvals.yaml`',
    APPROVALS_EXAMPLE,
  );
}

// ---- notifications (issue 14) ----
function notificationsPage(): string {
  return page(
    'Notifications reference: `notifications.yaml`',
    [
      'Who hears about which plans, and which chat channels may decide them, lives in `<dir>/notifications.yaml`.',
      'Absent file: no notifications and no chat. It is read at start; an invalid file, or a secret reference that',
      'cannot be read, stops the start with CONFIG_INVALID. Secrets are references (`env:NAME`, `file:/path`), never values.',
    ],
    NotificationSettingsSchema,
    [
      [
        'How events are routed and sent',
        [
          '- An event goes to the union of the channels of every matching route; an absent filter matches everything.',
          '- Events are written to the outbox in the transaction of the change and sent by the dispatcher with retries',
          '  and exponential backoff; see docs/notifications.md for the wire formats and the chat decision flow.',
        ],
      ],
    ],
    'Example: `notifications.yaml`',
    NOTIFICATIONS_EXAMPLE,
  );
}

export const REFERENCE_PAGES: readonly ReferencePage[] = [
  { file: 'manifest.md', schema: ToolManifestSchema, example: MANIFEST_EXAMPLE, render: manifestPage },
  { file: 'config.md', schema: ConfigSchema, example: CONFIG_EXAMPLE, render: configPage },
  { file: 'approvals.md', schema: ApprovalRulesSchema, example: APPROVALS_EXAMPLE, render: approvalsPage },
  // alerts
  {
    file: 'playbook.md',
    schema: PlaybookSchema,
    example: PLAYBOOK_EXAMPLE,
    render: () =>
      page(
        'Playbook reference',
        PLAYBOOK_INTRO,
        PlaybookSchema,
        [['How inputs are filled', PLAYBOOK_RULES]],
        'Example: `playbooks/restart.yaml`',
        PLAYBOOK_EXAMPLE,
      ),
  },
  { file: 'notifications.md', schema: NotificationSettingsSchema, example: NOTIFICATIONS_EXAMPLE, render: notificationsPage },
];
