import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { compileInputSchema } from './input.ts';
import { manifestDigest, type ToolManifest, ToolManifestSchema } from './manifest.ts';

export interface LoadedTool {
  manifest: ToolManifest;
  digest: string;
  file: string;
  validators: ReadonlyMap<string, z.ZodType<Record<string, unknown>>>;
}

/** The tool manifests a server or executor has loaded and validated. Immutable once built. */
export class ToolRegistry {
  readonly #tools: ReadonlyMap<string, LoadedTool>;

  constructor(tools: LoadedTool[]) {
    const map = new Map<string, LoadedTool>();
    for (const t of tools) {
      if (map.has(t.manifest.name)) {
        throw new CountersignError(
          'MANIFEST_INVALID',
          `tool "${t.manifest.name}" is defined twice (${map.get(t.manifest.name)?.file} and ${t.file})`,
        );
      }
      map.set(t.manifest.name, t);
    }
    this.#tools = map;
  }

  get(name: string): LoadedTool | undefined {
    return this.#tools.get(name);
  }

  list(): LoadedTool[] {
    return [...this.#tools.values()].sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
  }
}

export function loadTool(manifestInput: unknown, file: string): LoadedTool {
  const parsed = ToolManifestSchema.safeParse(manifestInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(root)';
    throw new CountersignError('MANIFEST_INVALID', `${file}: ${where}: ${issue?.message ?? 'invalid manifest'}`);
  }
  const manifest = parsed.data;
  const validators = new Map<string, z.ZodType<Record<string, unknown>>>();
  for (const [name, action] of Object.entries(manifest.actions)) validators.set(name, compileInputSchema(action.input));
  return { manifest, digest: manifestDigest(manifest), file, validators };
}

/** Loads every `*.yaml`/`*.yml` in a directory. Any invalid file stops the load (no partial registry). */
export function loadToolDir(dir: string): ToolRegistry {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'));
  } catch (err) {
    throw new CountersignError('MANIFEST_INVALID', `cannot read the tools directory ${dir}`, { cause: err });
  }
  const tools = names.sort().map((n) => {
    const file = join(dir, n);
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new CountersignError('MANIFEST_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err });
    }
    return loadTool(doc, file);
  });
  return new ToolRegistry(tools);
}
