// alerts: the playbook reference page (docs/reference/playbook.md).
import { PlaybookSchema } from '../alerts/index.ts';

export const PLAYBOOK_EXAMPLE = `apiVersion: countersign/v1
kind: Playbook
name: restart-crashloop
description: Restart a deployment whose pods crash-loop.
match:
  alertname: [KubePodCrashLooping]
  labels: { severity: [critical] }
extract:
  namespace: { label: namespace, pattern: "[a-z0-9-]{1,63}" }
  deployment: { label: deployment, pattern: "[a-z0-9-]{1,63}" }
  env: { label: env, enum: [staging, prod] }
environment: { from: env }
intent: "Restart {{deployment}} in {{namespace}}"
templates:
  - id: restart
    tool: kubectl
    action: rollout-restart
    input:
      namespace: { from: namespace }
      deployment: { from: deployment }
      reason: { planner: true }
planner:
  model: claude
  instructions: Say in reason why a restart is the right first step.
reviewers:
  models: [claude, gpt]
  require: 2
  mode: advisory
`;

export const PLAYBOOK_INTRO = [
  'A playbook turns an alert into a proposed plan. Playbooks are the `*.yaml` files in `<dir>/playbooks/`, signed',
  'exactly like tool manifests (`countersign playbook sign`, `<file>.sig`, the same trust store and K); an unsigned',
  'or badly signed playbook, or one whose templates the loaded tools refuse, is not loaded and is reported at start.',
  '`countersign playbook dry-run <file> --payload alert.json` shows what a payload would propose. See docs/alerts.md.',
];

export const PLAYBOOK_RULES: string[] = [
  '- Inputs come only from `from` (an extracted field: one label, checked against its pattern or enum) or `value`',
  '  (a constant written here). Annotations and other free text never fill an input.',
  '- `planner: true` leaves a field to the optional planner; its value is recorded as `untrusted_text`. A field the',
  "  tool's manifest marks `sensitive: true` can never be left to the planner (the playbook is refused at load), and",
  '  a planner value for a field the playbook binds is refused with the whole answer.',
  '- The environment comes from a typed field or a constant, never from the planner.',
  '- `{{field}}` in `intent` is replaced with an extracted field only.',
  '- One plan per alert group and playbook is open at a time; typed fields are read from the first matching alert',
  '  of the group (by fingerprint).',
  '- Model reviewers are advice: their votes are stored with the plan and shown; they never fill a human seat.',
  '  With `mode: required` a plan they do not pass is not proposed.',
];

export { PlaybookSchema };
