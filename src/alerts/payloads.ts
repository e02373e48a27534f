import { z } from 'zod';
import type { WebhookSourceConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';

/**
 * One alert as every source is read into. Labels are the typed facts playbooks match and
 * extract from; annotations are free text that only ever reaches a planner fenced as untrusted.
 */
export interface Alert {
  name: string;
  status: 'firing' | 'resolved';
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A delivery read into its group: every alert in it shares the group key. */
export interface AlertDelivery {
  groupKey: string;
  status: 'firing' | 'resolved';
  alerts: Alert[];
}

const Text = z.string().max(4096);
const Labels = z.record(z.string().max(128), Text).refine((l) => Object.keys(l).length <= 64, 'at most 64 labels');
const Annotations = z
  .record(z.string().max(128), z.string().max(16_384))
  .refine((a) => Object.keys(a).length <= 32, 'at most 32 annotations');
const Status = z.enum(['firing', 'resolved']);
const GroupKey = z.string().min(1).max(1024);
const Fingerprint = z.string().min(1).max(128);

// Alertmanager's webhook payload version 4; Grafana sends the same shape (version "1"). Loose:
// both add fields over time, and only these are read.
const AmAlert = z.looseObject({
  status: Status,
  labels: Labels,
  annotations: Annotations.default({}),
  fingerprint: Fingerprint,
});
const AlertmanagerPayload = z.looseObject({
  version: z.string().max(8).optional(),
  groupKey: GroupKey,
  status: Status,
  alerts: z.array(AmAlert).min(1).max(5000),
});

const PagerDutyPayload = z.object({
  event: z.looseObject({
    id: z.string().min(1).max(128),
    event_type: z.string().max(64),
    occurred_at: z.string().max(64),
    data: z.looseObject({
      id: z.string().min(1).max(128),
      title: z.string().max(4096).default(''),
      urgency: z.string().max(32).optional(),
      service: z.looseObject({ id: z.string().max(128), summary: z.string().max(256) }).optional(),
      priority: z.looseObject({ summary: z.string().max(64) }).nullish(),
    }),
  }),
});

const GenericPayload = z
  .object({
    groupKey: GroupKey,
    status: Status,
    alerts: z
      .array(
        z
          .object({
            name: z.string().min(1).max(256),
            status: Status.optional(),
            fingerprint: Fingerprint,
            labels: Labels.default({}),
            annotations: Annotations.default({}),
          })
          .strict(),
      )
      .min(1)
      .max(5000),
  })
  .strict();

function refuse(message: string): never {
  throw new CountersignError('VALIDATION_FAILED', `payload: ${message}`);
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    refuse(`${i?.path.join('.') || '(root)'}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** PagerDuty events that open or close an incident; the rest (acknowledged, annotated…) carry no alert. */
const PD_FIRING = new Set(['incident.triggered', 'incident.reopened']);
const PD_RESOLVED = new Set(['incident.resolved']);

/**
 * Reads a verified delivery into its alert group, or null for an event that carries no alert
 * (PagerDuty's acknowledgements). Malformed bodies are a 400.
 */
export function readDelivery(type: WebhookSourceConfig['type'], body: unknown): AlertDelivery | null {
  if (type === 'pagerduty') {
    const { event } = parse(PagerDutyPayload, body);
    const status = PD_FIRING.has(event.event_type) ? 'firing' : PD_RESOLVED.has(event.event_type) ? 'resolved' : null;
    if (!status) return null;
    const d = event.data;
    const labels: Record<string, string> = { incident_id: d.id };
    if (d.service) Object.assign(labels, { service: d.service.summary, service_id: d.service.id });
    if (d.urgency) labels.urgency = d.urgency;
    if (d.priority?.summary) labels.priority = d.priority.summary;
    return {
      groupKey: `pagerduty:${d.id}`,
      status,
      alerts: [{ name: d.service?.summary ?? 'pagerduty', status, fingerprint: d.id, labels, annotations: { title: d.title } }],
    };
  }
  if (type === 'hmac') {
    const p = parse(GenericPayload, body);
    return {
      groupKey: p.groupKey,
      status: p.status,
      alerts: p.alerts.map((a) => ({ ...a, status: a.status ?? p.status })),
    };
  }
  const p = parse(AlertmanagerPayload, body);
  if (type === 'alertmanager' && p.version !== undefined && p.version !== '4') refuse(`version "${p.version}" is not 4`);
  return {
    groupKey: p.groupKey,
    status: p.status,
    alerts: p.alerts.map((a) => ({
      name: a.labels.alertname ?? '',
      status: a.status,
      fingerprint: a.fingerprint,
      labels: a.labels,
      annotations: a.annotations,
    })),
  };
}
