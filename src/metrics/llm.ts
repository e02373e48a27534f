import type { Metrics } from './instruments.ts';

type Role = 'planner' | 'reviewer';

/**
 * The alerts domain's model-call observer (ModelCallObserver, matched by shape), feeding the
 * LLM metrics. Labels are the role, the model's name from alerts.models (a set the operator
 * configures) and a fixed reason: never a prompt, an alert or an answer.
 */
export function modelCallMetrics(metrics: Metrics) {
  return {
    answered(c: { role: Role; model: string; seconds: number; inputTokens: number; outputTokens: number; costUsd: number }): void {
      const labels = { role: c.role, model: c.model };
      metrics.llmRequestSeconds.observe({ ...labels, outcome: 'answered' }, c.seconds);
      metrics.llmInputTokens.inc(labels, c.inputTokens);
      metrics.llmOutputTokens.inc(labels, c.outputTokens);
      metrics.llmCostUsd.inc(labels, c.costUsd);
    },
    failed(c: { role: Role; model: string; seconds: number }): void {
      metrics.llmRequestSeconds.observe({ role: c.role, model: c.model, outcome: 'failed' }, c.seconds);
    },
    refused(c: { role: Role; model: string; reason: string }): void {
      metrics.llmRefusals.inc({ role: c.role, model: c.model, reason: c.reason });
    },
  };
}
