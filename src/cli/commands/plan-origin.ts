import type { CountersignClient } from '../../client/index.ts';
import { table } from '../output.ts';

// alerts: the origin of an alert plan, as `plan origin` and `plan show` print it.

export interface OriginView {
  planId: string;
  playbook: string;
  source: string;
  groupKey: string;
  origin: {
    provenance?: { path: string; provenance: string; label?: string }[];
    planner?: { model?: string; outcome?: string; reasons?: string[] };
    reviews?: { approvals: number; require: number; of: number; mode: string; votes: { model: string; vote: string; reason: string }[] };
  };
  notes: { at: string; note: string }[];
}

export function fetchOrigin(client: CountersignClient, id: string): Promise<OriginView> {
  return client.request<OriginView>('GET', `/v1/plans/${encodeURIComponent(id)}/origin`);
}

/** Provenance of every value, the planner and the model votes (advice: they are never reviews). */
export function describeOrigin(o: OriginView): string {
  const lines = [`From alert group ${o.groupKey} (source ${o.source}), playbook ${o.playbook}`];
  const rows = [['VALUE', 'FROM']];
  for (const p of o.origin.provenance ?? []) rows.push([p.path, p.label ? `${p.provenance} (label ${p.label})` : p.provenance]);
  lines.push(table(rows));
  if (o.origin.planner) lines.push(`Planner: ${o.origin.planner.model} (${o.origin.planner.outcome})`);
  const r = o.origin.reviews;
  if (r) {
    lines.push(`Model reviews (${r.mode}; advice, not approvals): ${r.approvals} of ${r.of} approve, ${r.require} to pass`);
    for (const v of r.votes) lines.push(`  ${v.model}: ${v.vote} — ${v.reason}`);
  }
  for (const n of o.notes) lines.push(`Note ${n.at}: ${n.note}`);
  return lines.join('\n');
}
