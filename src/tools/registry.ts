import type { KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { CountersignError } from '../errors/index.ts';
import { compileInputSchema } from './input.ts';
import { manifestDigest, previewRefusals, type ToolManifest, ToolManifestSchema } from './manifest.ts';
import { explainManifestIssues } from './manifest-errors.ts';
import { checkManifestSignatures, type ManifestSignature, manifestSigningText, readSignaturesBeside } from './signing.ts';

/** Only loadToolDir can mint this brand: a LoadedTool has been through signature verification. */
declare const VERIFIED_AT_LOAD: unique symbol;

export interface LoadedTool {
  manifest: ToolManifest;
  digest: string;
  file: string;
  validators: ReadonlyMap<string, z.ZodType<Record<string, unknown>>>;
  /** The canonical text the signatures cover (RFC 8785 of the parsed YAML). */
  signedText: string;
  signatures: readonly ManifestSignature[];
  /** Trusted keys whose signature verified at load. */
  signers: readonly string[];
  /** Loaded without meeting the signature policy: only ever true in developmentMode. */
  unsigned: boolean;
  readonly [VERIFIED_AT_LOAD]: true;
}

/**
 * What verification at load needs (invariant 13). `developmentMode` is the config's one
 * development switch, passed explicitly as the reason an unsigned manifest may load.
 */
export interface ManifestTrust {
  /** The installation's trusted publisher keys by key id. */
  keys: ReadonlyMap<string, KeyObject>;
  /** Valid signatures from trusted keys a manifest needs to load at all (the smallest K of any environment). */
  required: number;
  developmentMode: boolean;
}

/** A manifest file that was not loaded, and why. */
export interface RefusedManifest {
  file: string;
  /** The `name:` the file claims, when it has one. */
  name: string | null;
  reason: string;
}

/** The tool manifests a server or executor has loaded and validated. Immutable once built. */
export class ToolRegistry {
  readonly #tools: ReadonlyMap<string, LoadedTool>;
  readonly #refused: readonly RefusedManifest[];

  constructor(tools: LoadedTool[], refused: readonly RefusedManifest[] = []) {
    this.#refused = Object.freeze([...refused]);
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

  /** Manifest files refused at load (bad, missing or untrusted signatures). */
  refused(): readonly RefusedManifest[] {
    return this.#refused;
  }

  /** Why a tool of this name is not loaded, when a file claiming the name was refused. */
  refusalFor(name: string): RefusedManifest | undefined {
    return this.#refused.find((r) => r.name === name);
  }
}

/** What replacing the tool set would change, by tool name. */
export interface ToolSetChanges {
  added: string[];
  removed: string[];
  /** Same name, different manifest digest. */
  changed: string[];
  /** Loaded only because developmentMode is on. */
  unsigned: string[];
}

export type PreparedToolReload =
  | { ok: true; changes: ToolSetChanges; tools: string[]; commit: () => void }
  /** `denied`: a signature or trust refusal; `failed`: an unreadable or invalid manifest. */
  | { ok: false; outcome: 'denied' | 'failed'; reasons: string[] };

/**
 * The registry a running server or executor serves from: the same lookups as ToolRegistry, over a
 * set that a reload (SIGHUP) replaces in one assignment. Each set is immutable; a lookup sees
 * either the old set or the new one, never a mix. A new set is all or nothing: if any manifest
 * in the directory is invalid or fails verification, it is refused whole and the old set stays,
 * so a half-published change (one file signed, its neighbour not yet) never goes live.
 */
export class ReloadableToolRegistry extends ToolRegistry {
  #current: ToolRegistry;

  constructor(initial: ToolRegistry) {
    super([]);
    this.#current = initial;
  }

  override get(name: string): LoadedTool | undefined {
    return this.#current.get(name);
  }

  override list(): LoadedTool[] {
    return this.#current.list();
  }

  override refused(): readonly RefusedManifest[] {
    return this.#current.refused();
  }

  override refusalFor(name: string): RefusedManifest | undefined {
    return this.#current.refusalFor(name);
  }

  /**
   * Loads and verifies `dir` as a complete new set without switching to it, so the caller can
   * audit first and switch only if that succeeded (invariant 11: audit before effect).
   */
  prepare(dir: string, trust: ManifestTrust): PreparedToolReload {
    let next: ToolRegistry;
    try {
      next = loadToolDir(dir, trust);
    } catch (err) {
      return { ok: false, outcome: 'failed', reasons: [(err as Error).message] };
    }
    const refused = next.refused();
    if (refused.length > 0) return { ok: false, outcome: 'denied', reasons: refused.map((r) => `${r.file}: ${r.reason}`) };
    const before = new Map(this.#current.list().map((t) => [t.manifest.name, t.digest]));
    const after = next.list();
    const changes: ToolSetChanges = {
      added: after.filter((t) => !before.has(t.manifest.name)).map((t) => t.manifest.name),
      removed: [...before.keys()].filter((n) => !next.get(n)),
      changed: after.filter((t) => before.has(t.manifest.name) && before.get(t.manifest.name) !== t.digest).map((t) => t.manifest.name),
      unsigned: after.filter((t) => t.unsigned).map((t) => t.manifest.name),
    };
    return {
      ok: true,
      changes,
      tools: after.map((t) => t.manifest.name),
      commit: () => {
        this.#current = next;
      },
    };
  }
}

/** Schema-validates one parsed manifest (no trust decision: see loadToolDir). */
export function loadTool(manifestInput: unknown, file: string): Pick<LoadedTool, 'manifest' | 'digest' | 'file' | 'validators'> {
  const parsed = ToolManifestSchema.safeParse(manifestInput);
  if (!parsed.success) {
    throw new CountersignError('MANIFEST_INVALID', `${file}: ${explainManifestIssues(parsed.error.issues, manifestInput)}`);
  }
  const manifest = parsed.data;
  // previews (issue 17): a preview that could write or see the step's secrets is refused here, at load and at signing.
  const unsafe = previewRefusals(manifest);
  if (unsafe.length > 0) throw new CountersignError('PREVIEW_UNSAFE', `${file}: ${unsafe.join('; ')}`, { details: { refusals: unsafe } });
  const validators = new Map<string, z.ZodType<Record<string, unknown>>>();
  for (const [name, action] of Object.entries(manifest.actions)) validators.set(name, compileInputSchema(action.input));
  return { manifest, digest: manifestDigest(manifest), file, validators };
}

function manifestFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
      .sort();
  } catch (err) {
    throw new CountersignError('MANIFEST_INVALID', `cannot read the tools directory ${dir}`, { cause: err });
  }
}

function readManifestDocument(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CountersignError('MANIFEST_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Loads every `*.yaml`/`*.yml` in a directory — the one way a server or executor gets tools.
 * Each file is read once; the signatures in `<file>.sig` are checked over the canonical form of
 * exactly the document that is then schema-validated and loaded, so nothing can change between
 * the check and the use. A manifest with a bad signature from a trusted key, or with fewer
 * valid trusted signatures than `trust.required`, is refused (listed in `refused()`), whatever
 * its path; with `developmentMode` an insufficiently signed one loads marked `unsigned`, but a
 * bad signature is refused even then. An invalid YAML or schema still stops the whole load.
 */
export function loadToolDir(dir: string, trust: ManifestTrust): ToolRegistry {
  const tools: LoadedTool[] = [];
  const refused: RefusedManifest[] = [];
  for (const n of manifestFiles(dir)) {
    const file = join(dir, n);
    const doc = readManifestDocument(file);
    const claimed = (doc as { name?: unknown } | null)?.name;
    const name = typeof claimed === 'string' ? claimed : null;
    const signedText = manifestSigningText(doc);
    let signatures: ManifestSignature[];
    try {
      signatures = readSignaturesBeside(file);
    } catch (err) {
      refused.push({ file, name, reason: (err as Error).message });
      continue;
    }
    const check = checkManifestSignatures(signedText, signatures, trust.keys);
    if (check.bad.length > 0) {
      refused.push({
        file,
        name,
        reason: `the signature by trusted key ${check.bad.join(', ')} does not verify: the manifest changed after it was signed`,
      });
      continue;
    }
    const unsigned = check.valid.length < trust.required;
    if (unsigned && !trust.developmentMode) {
      const others = check.untrusted.length > 0 ? `; signatures by untrusted keys ${check.untrusted.join(', ')} do not count` : '';
      refused.push({
        file,
        name,
        reason: `needs ${trust.required} valid signature(s) from trusted publisher keys, has ${check.valid.length}${others}`,
      });
      continue;
    }
    const parsed = loadTool(doc, file);
    tools.push({ ...parsed, signedText, signatures, signers: check.valid, unsigned } as unknown as LoadedTool);
  }
  return new ToolRegistry(tools, refused);
}

/**
 * Names of `env:` secrets that any manifest file in the directory mentions, read WITHOUT
 * signature verification. For one use only: removing tool credentials from the API process's
 * environment (the supervisor). An unverified file can only make that removal larger; nothing
 * read here can make a tool loadable, proposable or runnable.
 */
export function secretVariablesNamedInToolDir(dir: string): string[] {
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      const m = /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(v);
      if (m?.[1]) names.add(m[1]);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const n of manifestFiles(dir)) {
    try {
      walk(parseYaml(readFileSync(join(dir, n), 'utf8')));
    } catch {
      // A file that is not YAML names nothing; the server and executor refuse to start on it anyway.
    }
  }
  return [...names];
}
