import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import type { AlertsConfig, ModelConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { once } from '../lazy.ts';
import type { TenantScope } from '../store/index.ts';

export interface ModelAnswer {
  text: string;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  latencyMs: number;
}

export interface Prompt {
  system: string;
  user: string;
}

/** One configured model behind its official SDK, with its API key already resolved. */
export interface ModelClient {
  readonly name: string;
  readonly config: ModelConfig;
  complete(prompt: Prompt): Promise<Omit<ModelAnswer, 'costMicros' | 'latencyMs'>>;
}

// The SDKs load with the first model call, not with the server: the two of them are over 400
// modules, more than the rest of the server.
export function createModelClient(name: string, config: ModelConfig, apiKey: string | null): ModelClient {
  // No retries inside the SDK: a retry is a second charge against the budget, decided here.
  const options = {
    timeout: config.timeoutSeconds * 1000,
    maxRetries: 0,
    apiKey: apiKey ?? 'none',
    ...(config.baseUrl ? { baseURL: config.baseUrl } : {}),
  };
  if (config.provider === 'anthropic') {
    const anthropic = once(async (): Promise<Anthropic> => new (await import('@anthropic-ai/sdk')).default(options));
    return {
      name,
      config,
      async complete(prompt) {
        const client = await anthropic();
        const res = await client.messages.create({
          model: config.model,
          max_tokens: config.maxTokens,
          system: prompt.system,
          messages: [{ role: 'user', content: prompt.user }],
        });
        const text = res.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
        return { text, inputTokens: res.usage.input_tokens, outputTokens: res.usage.output_tokens };
      },
    };
  }
  const openai = once(async (): Promise<OpenAI> => new (await import('openai')).default(options));
  return {
    name,
    config,
    async complete(prompt) {
      const client = await openai();
      const res = await client.chat.completions.create({
        model: config.model,
        max_tokens: config.maxTokens,
        messages: [
          { role: 'system', content: prompt.system },
          { role: 'user', content: prompt.user },
        ],
      });
      return {
        text: res.choices[0]?.message?.content ?? '',
        inputTokens: res.usage?.prompt_tokens ?? 0,
        outputTokens: res.usage?.completion_tokens ?? 0,
      };
    },
  };
}

function budgetFor(config: AlertsConfig, tenantName: string) {
  return config.budgets.tenants[tenantName] ?? config.budgets.default;
}

// ---- observability: model calls in metrics (issue 15) ----

/** Who asked the model: the planner, or one of the reviewers. */
export type ModelRole = 'planner' | 'reviewer';
/** Why a model call gave nothing usable: a fixed set, so metrics labels stay bounded. */
export type ModelRefusalReason = 'budget_exhausted' | 'model_unavailable' | 'unparseable_answer' | 'output_refused';

/** Told of every model call and every refusal (metrics); must not throw. */
export interface ModelCallObserver {
  answered(call: { role: ModelRole; model: string; seconds: number; inputTokens: number; outputTokens: number; costUsd: number }): void;
  failed(call: { role: ModelRole; model: string; seconds: number }): void;
  refused(call: { role: ModelRole; model: string; reason: ModelRefusalReason }): void;
}

/**
 * Calls a model under the tenant's daily budget (invariant 17): refused before the call when the
 * day's tokens or cost are spent; the call's usage is added in one statement after it.
 */
export async function callWithinBudget(
  client: ModelClient,
  prompt: Prompt,
  scope: TenantScope,
  budget: { config: AlertsConfig; tenantName: string; now: () => Date; role?: ModelRole; observer?: ModelCallObserver },
): Promise<ModelAnswer> {
  const seen = { role: budget.role ?? 'planner', model: client.name } as const;
  const limits = budgetFor(budget.config, budget.tenantName);
  const day = budget.now().toISOString().slice(0, 10);
  const used = await scope.alerts.usage(day);
  if (used.tokens >= limits.tokensPerDay || used.costMicros >= limits.costPerDay * 1e6) {
    budget.observer?.refused({ ...seen, reason: 'budget_exhausted' });
    throw new CountersignError('MODEL_BUDGET_EXHAUSTED', `the tenant's model budget for ${day} is spent`, {
      details: { tokens: used.tokens, costMicros: used.costMicros },
    });
  }
  const started = performance.now();
  let answer: Awaited<ReturnType<ModelClient['complete']>>;
  try {
    answer = await client.complete(prompt);
  } catch (err) {
    budget.observer?.failed({ ...seen, seconds: (performance.now() - started) / 1000 });
    budget.observer?.refused({ ...seen, reason: 'model_unavailable' });
    throw new CountersignError('MODEL_UNAVAILABLE', `model ${client.name} did not answer: ${(err as Error).message}`, { cause: err });
  }
  const latencyMs = performance.now() - started;
  const costMicros = Math.round(
    answer.inputTokens * client.config.inputCostPerMillion + answer.outputTokens * client.config.outputCostPerMillion,
  );
  await scope.alerts.addUsage(day, answer.inputTokens + answer.outputTokens, costMicros);
  budget.observer?.answered({
    ...seen,
    seconds: latencyMs / 1000,
    inputTokens: answer.inputTokens,
    outputTokens: answer.outputTokens,
    costUsd: costMicros / 1e6,
  });
  return { ...answer, costMicros, latencyMs };
}

/** The first JSON object in a model's answer (models wrap JSON in prose or code fences). */
export function firstJsonObject(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
}
