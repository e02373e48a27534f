// One example file per reference page. A test parses each with the real schema, so an example
// that stops being valid fails the build instead of misleading a reader.

/** A placeholder digest: replace it with `sha256sum` of the real program. */
const EXAMPLE_SHA256 = '3f5d0e6a8c1b2d4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6';

export const MANIFEST_EXAMPLE = `# tools/kubectl.yaml — sign it after every edit: countersign tool sign tools/kubectl.yaml --key …
apiVersion: countersign/v1
kind: Tool
name: kubectl
version: "1.2.0"
description: Restart and scale deployments of the payments cluster.
executable:
  path: /usr/local/bin/kubectl
  # sha256sum /usr/local/bin/kubectl   (or: countersign tool hash /usr/local/bin/kubectl)
  sha256: ${EXAMPLE_SHA256}
sandbox:
  readOnlyPaths: [/etc/ssl/certs, /etc/countersign/kubeconfig]
  egress: ["kube.payments.example.com:6443"]
  env:
    KUBECONFIG: /etc/countersign/kubeconfig
  secrets:
    - { name: KUBE_TOKEN, from: "env:COUNTERSIGN_SECRET_KUBE_TOKEN" }
  limits: { cpuSeconds: 20, memoryMB: 256, wallSeconds: 120 }
denyArgv:
  - { sequence: ["delete", "namespace"], reason: "namespaces are deleted by hand, never by a plan" }
actions:
  restart:
    description: Restart the pods of some deployments (one rollout each).
    argv: ["rollout", "restart", "--namespace", "{{namespace}}", "{{deployments}}"]
    input:
      properties:
        namespace: { type: string, pattern: "^[a-z0-9-]{1,63}$", maxLength: 63 }
        deployments:
          type: array
          items: { type: string, pattern: "^deployment/[a-z0-9-]{1,63}$", maxLength: 80 }
          minItems: 1
          maxItems: 20
      required: [namespace, deployments]
    risk: medium
    idempotent: true
    targets: deployments
  scale:
    description: Set the replica count of one deployment.
    argv: ["scale", "--namespace", "{{namespace}}", "--replicas={{replicas}}", "deployment/{{deployment}}"]
    input:
      properties:
        namespace: { type: string, pattern: "^[a-z0-9-]{1,63}$", maxLength: 63 }
        deployment: { type: string, pattern: "^[a-z0-9-]{1,63}$", maxLength: 63 }
        replicas: { type: integer, minimum: 0, maximum: 50 }
      required: [namespace, deployment, replicas]
    risk: medium
    destructive: true
    denyArgv:
      - { sequence: ["--replicas=0"], reason: "scaling to zero is an outage; do it by hand" }
`;

export const CONFIG_EXAMPLE = `# countersign.yaml — a production installation: PostgreSQL, OIDC, two signatures for prod.
server:
  host: 0.0.0.0
  port: 7400
  trustProxy: true
database:
  url: \${env:COUNTERSIGN_DATABASE_URL}
  maxConnections: 20
audit:
  checkpointEvery: 100
plans:
  pendingTtlHours: 24
grants:
  ttlSeconds: 120
executor:
  leaseSeconds: 30
  drainSeconds: 60
trust:
  required: 1
  environments: { prod: 2 }
  adminTenant: default
notifications:
  webhookUrl: https://hooks.example.com/countersign
oidc:
  issuer: https://login.example.com/
  audience: https://countersign.example.com
  jwksUrl: https://login.example.com/.well-known/jwks.json
  jwksAllowlist: [login.example.com]
  algorithms: [EdDSA, ES256]
  delegatedGroups: [approvers, sre]
  requiredTokenType: at+jwt
`;

export const APPROVALS_EXAMPLE = `# approvals.yaml — the first rule that matches a plan decides what it needs.
approvalTtlHours: 12
externalSourceRequires:
  - { group: sre, count: 1 }
rules:
  - name: prod-high
    match: { environment: [prod], risk: [high, critical] }
    require:
      - { group: sre, count: 2 }
      - { group: security, count: 1 }
  - name: prod-database
    match: { environment: [prod], tool: [psql] }
    require:
      - { group: dba, count: 1 }
      - { group: sre, count: 1 }
  - name: prod
    match: { environment: [prod] }
    require:
      - { group: sre, count: 1 }
  - name: dev-low-auto
    match: { environment: [dev], risk: [low], source: [api, cli, mcp] }
    autoApprove: true
  - name: everything-else
    require:
      - { group: approvers, count: 1 }
`;

// ---- notifications (issue 14) ----
export const NOTIFICATIONS_EXAMPLE = `# notifications.yaml — prod reviews announced in Slack and Telegram; incidents to a SIEM and mail.
tenant: default
consoleUrl: https://countersign.example.com
slack:
  botToken: env:SLACK_BOT_TOKEN
  signingSecret: env:SLACK_SIGNING_SECRET
telegram:
  botToken: env:TELEGRAM_BOT_TOKEN
  webhookSecret: env:TELEGRAM_WEBHOOK_SECRET
channels:
  approvers-slack: { type: slack, channel: C0123456789, decide: true }
  approvers-telegram: { type: telegram, chatId: "-1001234567890", decide: true }
  siem: { type: webhook, url: https://siem.example.com/countersign, secret: env:SIEM_HOOK_SECRET }
  oncall-mail:
    type: email
    host: smtp.example.com
    user: countersign
    password: env:SMTP_PASSWORD
    from: countersign@example.com
    to: [oncall@example.com]
routes:
  - { environments: [prod], groups: [approvers], channels: [approvers-slack, approvers-telegram] }
  - { events: [override.issued, plan.failed, plan.needs_attention], channels: [siem, oncall-mail] }
chat:
  stepUpEnvironments: [prod]
`;
