import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Language, Parser } from 'web-tree-sitter';

/**
 * Loads the tree-sitter runtime and the bash grammar once, on first use, and keeps one Parser.
 * Parsing is synchronous and the analysis never yields between parse and walk, so one Parser
 * serves every caller of this process.
 */
export class BashParserLoader {
  #parser: Promise<Parser> | undefined;

  get(): Promise<Parser> {
    if (!this.#parser) {
      this.#parser = this.#load();
      // A failed load (missing wasm) must not stick forever: the next call tries again.
      this.#parser.catch(() => {
        this.#parser = undefined;
      });
    }
    return this.#parser;
  }

  async #load(): Promise<Parser> {
    await Parser.init();
    const require = createRequire(import.meta.url);
    // The grammar package's `main` is its native binding; the wasm sits beside package.json.
    const wasm = join(dirname(require.resolve('tree-sitter-bash/package.json')), 'tree-sitter-bash.wasm');
    const language = await Language.load(wasm);
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  }
}

/**
 * The process-wide loader: the tree-sitter runtime is one wasm instance per process anyway, and
 * analysis never yields between parse and walk, so every analyser can share one Parser.
 */
export const bashParser = new BashParserLoader();
