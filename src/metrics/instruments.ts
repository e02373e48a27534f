import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One process's metrics, on a registry of its own (never prom-client's global one: two API
 * servers in one test process must not share counters). Names follow Prometheus conventions:
 * base units (`_seconds`), `_total` on counters, and labels drawn from fixed sets (operation
 * actions, statuses, error codes) — never ids, names or free text.
 */
export class Metrics {
  readonly registry = new Registry();
  /** The policy engine's answers (decideRequest), by Cedar action and allow/deny. */
  readonly decisions = new Counter({
    name: 'countersign_decisions_total',
    help: 'Policy decisions made by the pipeline, by action and outcome (allow or deny).',
    labelNames: ['action', 'outcome'] as const,
    registers: [this.registry],
  });
  /** One audit append, in its transaction (the hash chain's serialization point). */
  readonly auditAppendSeconds = new Histogram({
    name: 'countersign_audit_append_seconds',
    help: 'Time to append one audit entry (hash-chained, inside its transaction).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  /** A sandboxed step, from its start to its outcome (retries of an idempotent step included). */
  readonly stepSeconds = new Histogram({
    name: 'countersign_step_duration_seconds',
    help: 'Duration of executed steps in the sandbox, by outcome (succeeded or failed).',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  /** Steps refused before they ran (stale grant, untrusted tool, argument or path refused, secret missing) and egress denials. */
  readonly sandboxRefusals = new Counter({
    name: 'countersign_sandbox_refusals_total',
    help: 'Steps the executor refused to run, and network destinations the sandbox refused, by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  // ---- observability: LLM planner and model reviewers (issue 15) ----
  /** One model call, answered or failed (a timeout counts as failed). */
  readonly llmRequestSeconds = new Histogram({
    name: 'countersign_llm_request_duration_seconds',
    help: 'Duration of calls to models (planner or reviewer), by role, configured model name and outcome (answered or failed).',
    labelNames: ['role', 'model', 'outcome'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly llmInputTokens = new Counter({
    name: 'countersign_llm_input_tokens_total',
    help: 'Input (prompt) tokens models reported using, by role and configured model name.',
    labelNames: ['role', 'model'] as const,
    registers: [this.registry],
  });
  readonly llmOutputTokens = new Counter({
    name: 'countersign_llm_output_tokens_total',
    help: 'Output (answer) tokens models reported using, by role and configured model name.',
    labelNames: ['role', 'model'] as const,
    registers: [this.registry],
  });
  /** US dollars at the configured prices (alerts.models.<name>.inputCostPerMillion/outputCostPerMillion). */
  readonly llmCostUsd = new Counter({
    name: 'countersign_llm_cost_usd_total',
    help: 'Cost of model calls in US dollars, from the configured price per million input and output tokens of each model.',
    labelNames: ['role', 'model'] as const,
    registers: [this.registry],
  });
  readonly llmRefusals = new Counter({
    name: 'countersign_llm_refusals_total',
    help: 'Model calls that gave nothing usable, by role, model and reason (budget_exhausted, model_unavailable, unparseable_answer, output_refused).',
    labelNames: ['role', 'model', 'reason'] as const,
    registers: [this.registry],
  });

  constructor(options: { process: 'api' | 'executor' }) {
    this.registry.setDefaultLabels({ process: options.process });
    // Process CPU, memory, event loop lag and handles: the usual first look at a slow replica.
    collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge whose value is read from `read` at scrape time (counts that live in the database). */
  gaugeFromStore<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (set: (labels: Record<L, string>, v: number) => void) => Promise<void>,
  ): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        await read((labels, v) => this.set(labels as never, v));
      },
    });
  }

  /** A counter whose running total is read from `read` at scrape time (kept elsewhere, e.g. by the store). */
  counterFromSource(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** The exposition text and its content type, for a scrape. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
