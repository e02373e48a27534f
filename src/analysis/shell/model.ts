/**
 * A shell word after static resolution. `values` lists what the word can be when that is known
 * from literals alone (a few candidates, e.g. a `for` loop variable); null means it depends on
 * run time (an unknown variable, a command substitution).
 */
export interface ShellWord {
  /** The source text, for messages. */
  text: string;
  /** 1-based line where the word starts in the code being walked (absent for synthetic words). */
  line?: number;
  values: string[] | null;
  /**
   * The value if every unknown expansion were empty, or null when the word has none: this is how
   * `rm -rf "$DIR"/*` with DIR unset becomes `rm -rf /*`.
   */
  ifUnsetEmpty: string | null;
  /** The literal was assembled from quotes, escapes or concatenation (`r''m`, `\rm`, `$'\x72m'`). */
  quoted: boolean;
  /** The word contained an unquoted brace expansion, so it stands for several words. */
  braced: boolean;
  /** The word's value comes from a variable or substitution (even if we resolved it). */
  expanded: boolean;
  /** Contains `<(…)` / `>(…)`: the word is a file name the shell makes for a command's output. */
  processSubstitution: boolean;
  /** Commands run inside `$(…)`, backticks or `<(…)` of this word: a downloader here feeds the outer command. */
  inner: ShellCommand[];
}

/** What a command reads on standard input, as far as the syntax shows. */
export interface StdinSource {
  /** The literal text (a here-doc, here-string or `echo '…' |`), when known. */
  literal: string | null;
  /** 1-based line where the literal text starts (a here-doc's first line), when known. */
  literalLine: number | null;
  /** The whole pipeline or redirection, shown to reviewers for findings about what flows in. */
  snippet?: string;
  /** Every command upstream of it in a pipeline or feeding a here-string / `< <(…)`. */
  upstream: ShellCommand[];
}

/** One simple command after unwrapping, with what it runs and where it is in the script. */
export interface ShellCommand {
  name: ShellWord;
  args: ShellWord[];
  /** 1-based line within the code being walked. */
  line: number;
  snippet: string;
  /** Wrappers that led to it, outermost first (`sudo`, `timeout`). */
  via: string[];
  stdin: StdinSource;
}

export const NO_STDIN: StdinSource = { literal: null, literalLine: null, upstream: [] };

/** A word known to be a fixed literal, for synthetic arguments (`{}` placeholders, stdin args of xargs). */
export function literalWord(value: string): ShellWord {
  return {
    text: value,
    values: [value],
    ifUnsetEmpty: null,
    quoted: false,
    braced: false,
    expanded: false,
    processSubstitution: false,
    inner: [],
  };
}

/** A word whose value is only known at run time. */
export function dynamicWord(text: string, inner: ShellCommand[] = []): ShellWord {
  return { ...literalWord(text), values: null, ifUnsetEmpty: '', expanded: true, inner };
}

/** The single literal value of a word, or null if it is dynamic or ambiguous. */
export function single(word: ShellWord | undefined): string | null {
  return word?.values?.length === 1 ? (word.values[0] ?? null) : null;
}
