import { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { raiseRisk } from '../policy/index.ts';
import type { PreviewRef, Risk, ToolManifest, ToolRegistry } from '../tools/index.ts';
import type { PlanDocument, PlanStep } from './document.ts';

/**
 * Previews (issue 17): what each step's read-only preview action showed before review, bound into
 * the plan's hashed document so an approval names the previews its reviewer saw.
 */

/** Most output of one preview kept in the document (the rest is dropped and `truncated` set). */
export const PREVIEW_OUTPUT_CAP = 16 * 1024;
/** Most stderr of one preview kept in the document. */
export const PREVIEW_ERRORS_CAP = 4 * 1024;

export const PREVIEW_STATUSES = ['ok', 'failed', 'timed_out'] as const;
export type PreviewStatus = (typeof PREVIEW_STATUSES)[number];

export const StepPreviewSchema = z
  .object({
    /** Index of the main step (0-based) the preview is for. */
    step: z.number().int().min(0),
    tool: z.string(),
    /** The preview action that ran. */
    action: z.string(),
    status: z.enum(PREVIEW_STATUSES),
    /** Standard output, redacted like step output and capped. */
    output: z.string(),
    /** Standard error, redacted and capped. */
    errors: z.string(),
    truncated: z.boolean(),
    exitCode: z.number().int().nullable(),
    /** `sha256:<hex>` of what the preview read: the file it wrote to $COUNTERSIGN_PREVIEW_FINGERPRINT, else its raw output. */
    fingerprint: z.string(),
    fingerprintSource: z.enum(['file', 'output']),
    /** Why it failed, when it did. */
    error: z.string().nullable(),
  })
  .strict();
export type StepPreview = z.infer<typeof StepPreviewSchema>;

export const StepPreviewsSchema = z.array(StepPreviewSchema).max(100);

/** A main step whose action names a preview. */
export interface PreviewedStep {
  idx: number;
  step: PlanStep;
  manifest: ToolManifest;
  preview: PreviewRef;
}

export function previewedSteps(tools: ToolRegistry, steps: readonly PlanStep[]): PreviewedStep[] {
  const out: PreviewedStep[] = [];
  steps.forEach((step, idx) => {
    const manifest = tools.get(step.tool)?.manifest;
    const preview = manifest?.actions[step.action]?.preview;
    if (manifest && preview) out.push({ idx, step, manifest, preview });
  });
  return out;
}

/** The preview gets the step's values for exactly the fields it declares (checked at load: a subset). */
export function previewInput(manifest: ToolManifest, preview: PreviewRef, input: Record<string, unknown>): Record<string, unknown> {
  const fields = manifest.actions[preview.action]?.input.properties ?? {};
  return Object.fromEntries(Object.entries(input).filter(([k]) => k in fields));
}

/** The document with these previews (and no others): what reviewers approve once they are attached. */
export function withPreviews(doc: PlanDocument, previews: readonly StepPreview[]): PlanDocument {
  const { previews: _old, ...rest } = doc;
  return { ...rest, previews: [...previews] };
}

/** Executor results as stored in the hand-over row: refused unless they are exactly previews. */
export function parsePreviewResults(text: string): StepPreview[] {
  const parsed = StepPreviewsSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new CountersignError('VALIDATION_FAILED', `stored preview results are malformed: ${parsed.error.message}`);
  return parsed.data;
}

/** A preview that failed or timed out raises the plan's risk one level, with a reason per preview. */
export function previewRisk(base: { risk: Risk; reasons: string[] }, previews: readonly StepPreview[]): { risk: Risk; reasons: string[] } {
  const bad = previews.filter((p) => p.status !== 'ok');
  if (bad.length === 0) return base;
  const reasons = bad.map(
    (p) =>
      `step ${p.step + 1}: preview ${p.tool}.${p.action} ${p.status === 'timed_out' ? 'timed out' : 'failed'}${p.error ? ` (${p.error})` : ''} +1`,
  );
  return { risk: raiseRisk(base.risk), reasons: [...base.reasons, ...reasons] };
}

/** True when the text reads as a unified diff (the console colours its +/- lines). */
export function looksLikeDiff(text: string): boolean {
  return typeof text === 'string' && /^(---|\+\+\+) /m.test(text) && /^@@ /m.test(text);
}
