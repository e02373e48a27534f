import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { isTerminal, type PlanStatus } from '../plans/index.ts';
import type { AlertGroupRecord, AlertPlanRecord, TenantScope } from '../store/index.ts';
import type { OperationDeps } from './deps.ts';
import { loadPlan, planResource, tenantResource } from './plans.ts';
import type { AnyOperation, Operation } from './types.ts';

// alerts: the operations a webhook delivery runs (src/alerts/intake.ts). `alert.receive`
// records the delivery (replay) and claims or joins alert groups (dedup) in one transaction with
// its audit entry; the plan itself is the ordinary `plan.propose`; `alert.plan` records what
// became of a group (the plan and its origin, or the planner's refusal).

const SourceName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);
const GroupKey = z.string().min(1).max(1024);

export const ReceiveAlertInput = z
  .object({
    source: SourceName,
    deliveryId: z.string().min(1).max(200).nullable(),
    groupKey: GroupKey,
    status: z.enum(['firing', 'resolved']),
    alerts: z.number().int().min(0),
    fingerprints: z.array(z.string().max(128)).max(5000),
    /** Playbooks the firing alerts matched (names). */
    playbooks: z.array(z.string().max(64)).max(100),
  })
  .strict();
type ReceiveInput = z.infer<typeof ReceiveAlertInput>;

export interface ReceiveResult {
  /** Playbooks whose group this delivery opened: a plan is to be proposed for each. */
  claimed: string[];
  /** Playbooks whose group is already open: nothing new is proposed. */
  duplicates: string[];
  /** Pending plans of the group to cancel now that the alert resolved. */
  cancel: string[];
  /** Plans past approval when the alert resolved: annotated, left to their humans. */
  annotated: string[];
}

export const RecordAlertPlanInput = z
  .object({
    source: SourceName,
    groupKey: GroupKey,
    playbook: z.string().max(64),
    planId: z.string().max(128).nullable(),
    refused: z.array(z.string().max(2000)).max(50).default([]),
    origin: z.record(z.string(), z.unknown()),
  })
  .strict();
type RecordInput = z.infer<typeof RecordAlertPlanInput>;

async function planStatus(tx: TenantScope, planId: string): Promise<PlanStatus | undefined> {
  return (await tx.plans.get(planId))?.status as PlanStatus | undefined;
}

/** A claim whose proposal never recorded its outcome (the process stopped) is released after this. */
const ABANDONED_CLAIM_MS = 10 * 60_000;
/**
 * A group whose proposal was refused (the planner's answer, the reviewers, the playbook's typed
 * fields) is not tried again for this long: a repeated delivery carrying the same injection must
 * not buy another model call each time.
 */
export const REFUSAL_HOLD_MS = 60 * 60_000;

/** A group whose plan has ended (run, rejected, expired, cancelled) no longer holds the group. */
async function stillOpen(tx: TenantScope, g: AlertGroupRecord, now: Date): Promise<boolean> {
  if (g.state !== 'open') return false;
  if (!g.planId) return now.getTime() - Date.parse(g.updatedAt) < ABANDONED_CLAIM_MS;
  const status = await planStatus(tx, g.planId);
  return status !== undefined && !isTerminal(status);
}

function refusedRecently(g: AlertGroupRecord, now: Date): boolean {
  return (
    g.state === 'closed' &&
    !g.planId &&
    g.reason !== null &&
    g.reason !== 'resolved' &&
    now.getTime() - Date.parse(g.updatedAt) < REFUSAL_HOLD_MS
  );
}

function receive(deps: OperationDeps): Operation<ReceiveInput, null, ReceiveResult> {
  return {
    name: 'alert.receive',
    action: 'alert.receive',
    kind: 'mutation',
    summary: 'Record a verified webhook delivery: refuse a replayed delivery id, open or join its alert groups, close them when resolved.',
    input: ReceiveAlertInput,
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    guards: [
      async (tx, _l, req) => {
        if (req.deliveryId && !(await tx.alerts.recordDelivery(req.source, req.deliveryId, deps.runtime.now().toISOString()))) {
          throw new CountersignError('WEBHOOK_REPLAYED', `delivery ${req.deliveryId} was already received from ${req.source}`);
        }
      },
    ],
    act: async (tx, _l, req, ctx) => {
      const at = ctx.now.toISOString();
      const out: ReceiveResult = { claimed: [], duplicates: [], cancel: [], annotated: [] };
      if (req.status === 'firing') {
        for (const playbook of req.playbooks) {
          const group = await tx.alerts.getGroup(req.source, req.groupKey, playbook);
          if (group && refusedRecently(group, ctx.now)) {
            out.duplicates.push(playbook);
            continue;
          }
          if (group && !(await stillOpen(tx, group, ctx.now))) await tx.alerts.setGroup(group, { state: 'closed' }, at);
          if (await tx.alerts.claimGroup(req.source, req.groupKey, playbook, req.fingerprints, at)) out.claimed.push(playbook);
          else {
            if (group) await tx.alerts.addFingerprints(group, req.fingerprints, at);
            out.duplicates.push(playbook);
          }
        }
      } else {
        for (const g of await tx.alerts.openGroups(req.source, req.groupKey)) {
          await tx.alerts.setGroup(g, { state: 'closed', reason: 'resolved' }, at);
          if (!g.planId) continue;
          const status = await planStatus(tx, g.planId);
          if (status === 'pending_approval') out.cancel.push(g.planId);
          else if (status && !isTerminal(status)) {
            await tx.alerts.addNote(g.planId, { at, note: `the alert resolved while the plan was ${status}` });
            out.annotated.push(g.planId);
          }
        }
      }
      // Delivery ids only need to outlive the replay window (a day is far past any window);
      // pruned by the deliveries that add them, so the table stays the size of a day's traffic.
      if (req.deliveryId) await tx.alerts.pruneDeliveries(new Date(ctx.now.getTime() - 86_400_000).toISOString());
      return {
        result: out,
        resource: `alert-group:${req.source}:${req.groupKey.slice(0, 200)}`,
        details: { deliveryId: req.deliveryId, status: req.status, alerts: req.alerts, ...out },
      };
    },
  };
}

function record(): Operation<RecordInput, null, { recorded: true }> {
  return {
    name: 'alert.plan',
    action: 'alert.plan',
    kind: 'mutation',
    summary: "Record what became of an alert group: its plan with each value's provenance and the model reviews, or the refusal.",
    input: RecordAlertPlanInput,
    load: async () => null,
    resource: (_l, _i, ctx) => tenantResource(ctx),
    guards: [
      async (tx, _l, req, ctx) => {
        if (!req.planId) return;
        const plan = await loadPlan(tx, req.planId);
        if (plan.proposerId !== ctx.principal.id)
          throw new CountersignError('POLICY_DENIED', 'a source records only the plans it proposed');
      },
    ],
    act: async (tx, _l, req, ctx) => {
      const at = ctx.now.toISOString();
      const key = { source: req.source, groupKey: req.groupKey, playbook: req.playbook };
      if (req.planId) {
        const plan = await loadPlan(tx, req.planId);
        const row: AlertPlanRecord = { planId: plan.id, ...key, planHash: plan.hash, origin: req.origin, notes: [], createdAt: at };
        await tx.alerts.insertPlan(row);
        await tx.alerts.setGroup(key, { state: 'open', planId: plan.id }, at);
      } else {
        await tx.alerts.setGroup(key, { state: 'closed', reason: req.refused.join('; ').slice(0, 4000) }, at);
      }
      return {
        result: { recorded: true },
        resource: req.planId ? `plan:${req.planId}` : `alert-group:${req.source}:${req.groupKey.slice(0, 200)}`,
        details: {
          outcome: req.planId ? 'proposed' : 'refused',
          playbook: req.playbook,
          ...(req.refused.length > 0 ? { reasons: req.refused } : {}),
          ...(typeof req.origin.planner === 'object' ? { planner: req.origin.planner } : {}),
        },
      };
    },
  };
}

const OriginInput = z.object({ planId: z.string().min(1).max(128) }).strict();

export interface PlanOrigin {
  planId: string;
  planHash: string;
  source: string;
  groupKey: string;
  playbook: string;
  origin: unknown;
  notes: { at: string; note: string }[];
}

function origin(): Operation<
  z.infer<typeof OriginInput>,
  { plan: Awaited<ReturnType<typeof loadPlan>>; row: AlertPlanRecord | undefined },
  PlanOrigin
> {
  return {
    name: 'plan.origin',
    action: 'plan.read',
    kind: 'read',
    summary: "Where an alert plan came from: the alert group, the playbook, each value's provenance, the planner and the model reviews.",
    input: OriginInput,
    load: async (tx, { planId }) => ({ plan: await loadPlan(tx, planId), row: await tx.alerts.getPlan(planId) }),
    resource: (l) => planResource(l.plan),
    act: async (_tx, { plan, row }) => {
      if (!row) throw new CountersignError('NOT_FOUND', `plan ${plan.id} did not come from an alert`);
      const { createdAt: _c, ...view } = row;
      return { result: view };
    },
  };
}

export function alertOperations(deps: OperationDeps): AnyOperation[] {
  return [receive(deps), record(), origin()];
}
