import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { signGenericDelivery } from '../../src/alerts/index.ts';
import type { FakeModelServer } from './fake-model.ts';
import type { TestServer } from './server.ts';
import { signManifestFile } from './tools.ts';

/** Source secrets of the test sources, as the server reads them from its environment. */
export const SECRETS = {
  CS_AM: 'am-bearer-credential-0123456789',
  CS_GRAFANA: 'grafana-hmac-secret-0123456789',
  CS_PD_NEW: 'pagerduty-new-secret-0123456789',
  CS_PD_OLD: 'pagerduty-old-secret-0123456789',
  CS_GENERIC: 'generic-hmac-secret-0123456789',
};

const sha = (path: string) =>
  createHash('sha256')
    .update(readFileSync(realpathSync(path)))
    .digest('hex');

/**
 * A kubectl-shaped tool backed by /bin/echo (it prints the command it would run): namespace and
 * deployment are sensitive, `reason` is free text a planner may fill, and the tool also has a
 * delete-namespace action no playbook template names.
 */
export function kubectlManifest(): string {
  return `apiVersion: countersign/v1
kind: Tool
name: kubectl
version: 1.0.0
executable: { path: /bin/echo, sha256: ${sha('/bin/echo')} }
actions:
  rollout-restart:
    argv: ["rollout", "restart", "deployment/{{deployment}}", "--namespace={{namespace}}", "--reason={{reason}}"]
    input:
      properties:
        namespace: { type: string, pattern: "^[a-z0-9-]{1,63}$", sensitive: true }
        deployment: { type: string, pattern: "^[a-z0-9-]{1,63}$", sensitive: true }
        reason: { type: string, maxLength: 200, pattern: "^[A-Za-z0-9 .,:_-]*$" }
      required: [namespace, deployment, reason]
    risk: medium
    idempotent: true
  delete-namespace:
    argv: ["delete", "namespace", "{{namespace}}"]
    input:
      properties:
        namespace: { type: string, pattern: "^[a-z0-9-]{1,63}$", sensitive: true }
      required: [namespace]
    risk: high
    idempotent: false
`;
}

/** A restart playbook; `extra` adds planner/reviewers blocks, `reason` binds the reason field. */
export function restartPlaybook(name: string, alertname: string, extra = '', reason = 'value: restarted by alert playbook'): string {
  return `apiVersion: countersign/v1
kind: Playbook
name: ${name}
description: Restart a crash-looping deployment.
match:
  alertname: [${alertname}]
extract:
  namespace: { label: namespace, pattern: "[a-z0-9-]{1,63}" }
  deployment: { label: deployment, pattern: "[a-z0-9-]{1,63}" }
  env: { label: env, enum: [dev, prod] }
environment: { from: env }
intent: "Restart {{deployment}} in {{namespace}}"
templates:
  - id: restart
    tool: kubectl
    action: rollout-restart
    input:
      namespace: { from: namespace }
      deployment: { from: deployment }
      reason: { ${reason} }
${extra}`;
}

/** Writes tools, playbooks, approval rules and alert config into a fresh data directory. */
export function configureAlerts(
  dir: string,
  models: FakeModelServer | null,
  playbooks: Record<string, string>,
  options: { approvalRules?: boolean } = {},
): void {
  const tool = join(dir, 'tools', 'kubectl.yaml');
  writeFileSync(tool, kubectlManifest());
  signManifestFile(dir, tool);
  mkdirSync(join(dir, 'playbooks'), { recursive: true });
  for (const [file, text] of Object.entries(playbooks)) {
    const path = join(dir, 'playbooks', file);
    writeFileSync(path, text);
    signManifestFile(dir, path);
  }
  // dev auto-approves everything from trusted interfaces: a webhook plan must still wait for humans.
  if (options.approvalRules !== false)
    writeFileSync(
      join(dir, 'approvals.yaml'),
      `externalSourceRequires: [{ group: approvers, count: 1 }]
rules:
  - name: prod
    match: { environment: [prod] }
    require: [{ group: approvers, count: 2 }]
  - name: dev-everything-auto
    match: { environment: [dev] }
    autoApprove: true
`,
    );
  const file = join(dir, 'countersign.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const model = (provider: 'anthropic' | 'openai', id: string) => ({
    provider,
    model: id,
    baseUrl: provider === 'anthropic' ? models?.anthropicUrl : models?.openaiUrl,
    inputCostPerMillion: 3,
    outputCostPerMillion: 15,
    timeoutSeconds: 10,
  });
  doc.setIn(['alerts'], {
    sources: [
      { name: 'am', type: 'alertmanager', secrets: ['env:CS_AM'], perMinute: 100000 },
      { name: 'grafana', type: 'grafana', secrets: ['env:CS_GRAFANA'] },
      { name: 'pd', type: 'pagerduty', secrets: ['env:CS_PD_NEW', 'env:CS_PD_OLD'] },
      { name: 'gen', type: 'hmac', secrets: ['env:CS_GENERIC'] },
      { name: 'tight', type: 'hmac', secrets: ['env:CS_GENERIC'], perMinute: 5 },
    ],
    models: models
      ? {
          planner: model('anthropic', 'fake-planner'),
          obedient: model('openai', 'fake-obedient'),
          rev1: model('openai', 'fake-rev1'),
          rev2: model('anthropic', 'fake-rev2'),
          rev3: model('openai', 'fake-rev3'),
        }
      : {},
    maxConcurrent: 8,
  });
  writeFileSync(file, doc.toString());
}

export interface AmAlertSpec {
  alertname: string;
  fingerprint: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  status?: 'firing' | 'resolved';
}

/** An Alertmanager webhook payload, version 4. */
export function amPayload(groupKey: string, alerts: AmAlertSpec[], status: 'firing' | 'resolved' = 'firing'): unknown {
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status,
    receiver: 'countersign',
    groupLabels: { alertname: alerts[0]?.alertname },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: alerts.map((a) => ({
      status: a.status ?? status,
      labels: { alertname: a.alertname, ...a.labels },
      annotations: a.annotations ?? {},
      startsAt: '2026-12-07T01:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph',
      fingerprint: a.fingerprint,
    })),
  };
}

export const crashLabels = (env = 'dev', namespace = 'shop', deployment = 'cart') => ({ namespace, deployment, env, severity: 'critical' });

export async function postAm(s: TestServer, payload: unknown, token = SECRETS.CS_AM) {
  return s.request('POST', '/v1/webhooks/am', { key: null, raw: JSON.stringify(payload), headers: { authorization: `Bearer ${token}` } });
}

export async function postGeneric(
  s: TestServer,
  payload: unknown,
  delivery: string,
  at = Date.now(),
  secret = SECRETS.CS_GENERIC,
  source = 'gen',
) {
  const raw = JSON.stringify(payload);
  return s.request('POST', `/v1/webhooks/${source}`, { key: null, raw, headers: signGenericDelivery(secret, at, delivery, raw) });
}

export function grafanaHeaders(raw: string, at: number, secret = SECRETS.CS_GRAFANA): Record<string, string> {
  const stamp = String(Math.floor(at / 1000));
  return {
    'x-grafana-alerting-signature': createHmac('sha256', secret).update(`${stamp}:${raw}`).digest('hex'),
    'x-grafana-alerting-signature-timestamp': stamp,
  };
}

export function pagerDutyHeaders(raw: string, secrets: string[]): Record<string, string> {
  return { 'x-pagerduty-signature': secrets.map((s) => `v1=${createHmac('sha256', s).update(raw).digest('hex')}`).join(',') };
}

export function pagerDutyEvent(id: string, type: string, occurredAt: Date, incident = 'PINC1'): unknown {
  return {
    event: {
      id,
      event_type: type,
      resource_type: 'incident',
      occurred_at: occurredAt.toISOString(),
      agent: null,
      client: null,
      data: {
        id: incident,
        type: 'incident',
        title: 'Checkout is slow',
        urgency: 'high',
        service: { id: 'PSVC1', summary: 'checkout', type: 'service_reference' },
        priority: { summary: 'P1' },
      },
    },
  };
}
