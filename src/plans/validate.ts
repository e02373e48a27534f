import { CountersignError } from '../errors/index.ts';
import type { ToolManifest, ToolRegistry } from '../tools/index.ts';
import { assertArgvAllowed, renderArgv } from '../tools/index.ts';
import type { PlanStep } from './document.ts';

export interface SubmittedStep {
  tool: string;
  action: string;
  input: Record<string, unknown>;
}

/**
 * Checks each step against its signed-in tool manifest: known tool, known action, input inside
 * the action's closed schema. The first problem is a 400 naming the exact field.
 */
export function validateSteps(
  tools: ToolRegistry,
  steps: readonly SubmittedStep[],
  field: 'steps' | 'rollback',
): { steps: PlanStep[]; manifests: ToolManifest[] } {
  const out: PlanStep[] = [];
  const manifests: ToolManifest[] = [];
  steps.forEach((s, i) => {
    const where = `${field}[${i}]`;
    const tool = tools.get(s.tool);
    if (!tool) {
      throw new CountersignError('UNKNOWN_TOOL', `${where}.tool: no tool named "${s.tool}" is loaded`, {
        details: { field: `${where}.tool` },
      });
    }
    const validator = tool.validators.get(s.action);
    if (!validator) {
      const known = Object.keys(tool.manifest.actions).join(', ');
      throw new CountersignError('UNKNOWN_ACTION', `${where}.action: tool "${s.tool}" has no action "${s.action}" (it has: ${known})`, {
        details: { field: `${where}.action` },
      });
    }
    const parsed = validator.safeParse(s.input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = [`${where}.input`, ...(issue?.path ?? []).map(String)].join('.');
      const message = issue?.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
      throw new CountersignError('VALIDATION_FAILED', `${path}: ${message}`, { details: { field: path } });
    }
    try {
      // Proposal renders argv once so a template the input cannot fill is refused now, not at run time.
      assertArgvAllowed(tool.manifest, s.action, renderArgv(tool.manifest, s.action, parsed.data));
    } catch (err) {
      const message = err instanceof CountersignError ? err.message : String(err);
      throw new CountersignError('VALIDATION_FAILED', `${where}.input: ${message}`, { details: { field: `${where}.input` } });
    }
    out.push({ tool: s.tool, action: s.action, input: parsed.data, toolDigest: tool.digest });
    manifests.push(tool.manifest);
  });
  return { steps: out, manifests };
}

/** The command line each step would run, for reviewers; null where the manifest changed since proposal. */
export function renderedCommand(tools: ToolRegistry, step: PlanStep): { argv: string[] | null; note?: string } {
  const tool = tools.get(step.tool);
  if (!tool || tool.digest !== step.toolDigest)
    return { argv: null, note: 'the tool manifest changed since this plan was proposed; it cannot run' };
  try {
    return { argv: [tool.manifest.executable.path, ...renderArgv(tool.manifest, step.action, step.input)] };
  } catch (err) {
    return { argv: null, note: (err as Error).message };
  }
}
