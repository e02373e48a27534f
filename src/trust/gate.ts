import type { KeyObject } from 'node:crypto';
import type { TrustConfig } from '../config/index.ts';
import { CountersignError } from '../errors/index.ts';
import { checkManifestSignatures, type LoadedTool, type ToolRegistry } from '../tools/index.ts';
import { TrustedKeyCache, type TrustStoreReader } from './keys.ts';
import { judgeTool, requiredSignatures, type ToolTrustVerdict } from './policy.ts';

export interface ToolTrustGateDeps {
  tools: ToolRegistry;
  trust: Pick<TrustConfig, 'required' | 'environments'>;
  /** The config's single development switch: the only reason an insufficiently signed tool may be used. */
  developmentMode: boolean;
}

/**
 * How trust changes reach a running process: tools are verified at load, and again against the
 * trust store *as it is now* at every propose, every execute request and before every executor
 * step. Removing a key therefore takes effect at once everywhere; a newly trusted key makes
 * newly verifiable manifests loadable at the next SIGHUP (or start) of the API and executors.
 */
export class ToolTrustGate {
  readonly #keys = new TrustedKeyCache();
  /**
   * Per tool, per key id: does that key's signature verify? Weak, so the tools of a set replaced
   * by a reload (SIGHUP) are dropped with it instead of accumulating.
   */
  readonly #verified = new WeakMap<LoadedTool, Map<string, { key: KeyObject; ok: boolean }>>();

  constructor(private readonly deps: ToolTrustGateDeps) {}

  /**
   * Checks the named tools for one environment and returns those allowed only by development
   * mode. A tool whose manifest was refused at load, or that does not meet the environment's K
   * now, is refused with TOOL_UNTRUSTED. Names of tools that were never there are left to step
   * validation (UNKNOWN_TOOL).
   */
  async assertUsable(reader: TrustStoreReader, environment: string, toolNames: readonly string[]): Promise<string[]> {
    const keys = await this.#keys.current(reader);
    const unsigned: string[] = [];
    for (const name of new Set(toolNames)) {
      const tool = this.deps.tools.get(name);
      if (!tool) {
        const refused = this.deps.tools.refusalFor(name);
        if (refused) {
          throw new CountersignError('TOOL_UNTRUSTED', `tool "${name}" was refused at load: ${refused.reason}`, {
            details: { tool: name },
          });
        }
        continue;
      }
      const verdict = this.#judge(tool, keys, environment);
      if (!verdict.ok) throw new CountersignError('TOOL_UNTRUSTED', verdict.reason, { details: { tool: name, environment } });
      if (verdict.unsigned) unsigned.push(name);
    }
    return unsigned;
  }

  /** The executor's per-step check: null when the step's tool may run, else why not. */
  async stepVerdict(reader: TrustStoreReader, environment: string, toolName: string): Promise<ToolTrustVerdict> {
    const tool = this.deps.tools.get(toolName);
    if (!tool) return { ok: false, reason: `tool "${toolName}" is not loaded by this executor` };
    return this.#judge(tool, await this.#keys.current(reader), environment);
  }

  /**
   * Tools among `toolNames` that, by the signatures verified at load, fall short of the
   * environment's K: what marks a plan `unsignedTools` (only possible in development mode).
   */
  unsignedIn(environment: string, toolNames: readonly string[]): string[] {
    const k = requiredSignatures(this.deps.trust, environment);
    return [...new Set(toolNames)].filter((n) => {
      const t = this.deps.tools.get(n);
      return t !== undefined && (t.unsigned || t.signers.length < k);
    });
  }

  #judge(tool: LoadedTool, keys: ReadonlyMap<string, KeyObject>, environment: string): ToolTrustVerdict {
    let known = this.#verified.get(tool);
    if (!known) {
      known = new Map();
      this.#verified.set(tool, known);
    }
    const valid: string[] = [];
    const bad: string[] = [];
    for (const sig of tool.signatures) {
      const key = keys.get(sig.keyId);
      if (!key) continue;
      let cached = known.get(sig.keyId);
      if (cached?.key !== key) {
        cached = { key, ok: checkManifestSignatures(tool.signedText, [sig], new Map([[sig.keyId, key]])).valid.length === 1 };
        known.set(sig.keyId, cached);
      }
      if (cached.ok) {
        if (!valid.includes(sig.keyId)) valid.push(sig.keyId);
      } else bad.push(sig.keyId);
    }
    return judgeTool({
      tool: tool.manifest.name,
      environment,
      required: requiredSignatures(this.deps.trust, environment),
      valid,
      bad,
      developmentMode: this.deps.developmentMode,
    });
  }
}
