import { CountersignError } from '../errors/index.ts';
import type { Principal } from '../policy/index.ts';
import type { IntakeDeps } from './intake.ts';
import { callWithinBudget, firstJsonObject, type ModelAnswer, type ModelRole } from './models.ts';
import type { Alert } from './payloads.ts';
import { checkPlannerOutput, plannerPrompt } from './planner.ts';
import { type Candidate, extractFields, type LoadedPlaybook, templateCandidate } from './playbooks.ts';
import { reviewerPrompt, tallyVotes, voteOf } from './reviewers.ts';

/** What is stored with an alert plan (or its refusal) and shown in plan views. */
export interface Origin {
  alert?: { name: string; fingerprint: string; labels: Record<string, string>; count: number };
  fields?: Record<string, string>;
  provenance?: Candidate['origins'];
  templates?: string[];
  planner?: Record<string, unknown>;
  reviews?: ReturnType<typeof tallyVotes>;
}

export type CandidateOutcome = { ok: true; candidate: Candidate; origin: Origin } | { ok: false; reasons: string[]; origin: Origin };

type Deps = Pick<IntakeDeps, 'store' | 'tools' | 'runtime' | 'config' | 'models' | 'modelCalls'>;

async function ask(
  deps: Deps,
  principal: Principal,
  tenantName: string,
  model: string,
  prompt: { system: string; user: string },
  role: ModelRole,
): Promise<ModelAnswer> {
  const client = deps.models.get(model);
  if (!client) throw new CountersignError('MODEL_UNAVAILABLE', `model "${model}" is not configured in alerts.models`);
  return callWithinBudget(client, prompt, deps.store.scope(principal.tenantId), {
    config: deps.config,
    tenantName,
    now: () => deps.runtime.now(),
    role,
    observer: deps.modelCalls,
  });
}

/**
 * Builds the plan a playbook proposes for a group: typed fields from the first matching alert
 * (by fingerprint, so the same group always reads the same alert), then either the default
 * templates or a planner's checked choice, then the model reviewers. Each refusal says why.
 */
export async function planCandidate(
  deps: Deps,
  principal: Principal,
  tenantName: string,
  pb: LoadedPlaybook,
  alerts: Alert[],
): Promise<CandidateOutcome> {
  const first = alerts[0]!;
  const origin: Origin = { alert: { name: first.name, fingerprint: first.fingerprint, labels: first.labels, count: alerts.length } };
  const extraction = extractFields(pb, first);
  if (!extraction.ok) return { ok: false, reasons: extraction.reasons, origin };
  const fields = extraction.fields;
  origin.fields = fields;

  let candidate: Candidate;
  const planner = pb.playbook.planner;
  if (!planner) candidate = templateCandidate(pb, fields);
  else {
    let answer: ModelAnswer;
    try {
      answer = await ask(deps, principal, tenantName, planner.model, plannerPrompt(pb, fields, alerts, deps.store.knownSecrets), 'planner');
    } catch (err) {
      const reasons = [`planner ${planner.model}: ${(err as Error).message}`];
      origin.planner = { model: planner.model, outcome: 'refused', reasons };
      return { ok: false, reasons, origin };
    }
    const usage = {
      model: planner.model,
      tokens: answer.inputTokens + answer.outputTokens,
      costMicros: answer.costMicros,
      latencyMs: Math.round(answer.latencyMs),
    };
    const output = firstJsonObject(answer.text);
    const verdict = checkPlannerOutput(pb, fields, deps.tools, output);
    if (!verdict.ok) {
      const reason = output === undefined ? 'unparseable_answer' : 'output_refused';
      deps.modelCalls?.refused({ role: 'planner', model: planner.model, reason });
      origin.planner = { ...usage, outcome: 'refused', reasons: verdict.reasons };
      return { ok: false, reasons: verdict.reasons.map((r) => `planner: ${r}`), origin };
    }
    origin.planner = { ...usage, outcome: 'accepted' };
    candidate = verdict.candidate;
  }
  if (candidate.steps.length === 0) return { ok: false, reasons: ['the playbook proposes no step'], origin };
  origin.provenance = candidate.origins;
  origin.templates = candidate.steps.map((s) => s.template);

  const reviewers = pb.playbook.reviewers;
  if (reviewers) {
    const prompt = reviewerPrompt(pb.playbook, candidate, alerts, deps.store.knownSecrets);
    // Independent: each model sees the same prompt and none sees another's vote.
    const votes = await Promise.all(
      reviewers.models.map(async (m) => {
        const answer = await ask(deps, principal, tenantName, m, prompt, 'reviewer').catch((e: Error) => e);
        const vote = voteOf(m, answer);
        // A call that failed was counted where it failed; an answer that is no review, here.
        if (vote.vote === 'abstain' && !(answer instanceof Error))
          deps.modelCalls?.refused({ role: 'reviewer', model: m, reason: 'unparseable_answer' });
        return vote;
      }),
    );
    origin.reviews = tallyVotes(reviewers, votes);
    if (reviewers.mode === 'required' && !origin.reviews.passed) {
      return {
        ok: false,
        reasons: [
          `model reviewers did not pass the plan (${origin.reviews.approvals} of ${reviewers.require} needed): ${origin.reviews.dissent.join('; ')}`,
        ],
        origin,
      };
    }
  }
  return { ok: true, candidate, origin };
}
