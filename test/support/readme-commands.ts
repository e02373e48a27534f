/**
 * Reads the shell commands a document tells a user to type, so a test can run exactly those:
 * the ```sh fences of a section (by heading) or of a block marked `<!-- readme-test NAME -->`.
 */

export interface ShellCommand {
  /** The command as written (continuations and here-documents kept). */
  text: string;
  /** An error code the document shows as the answer, from a following `# {"error":{"code":"X"…` comment. */
  expectErrorCode?: string;
}

/** The text of the section whose heading matches, up to the next heading of the same or a higher level. */
export function section(markdown: string, heading: RegExp): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^#{1,6} /.test(l) && heading.test(l));
  if (start < 0) throw new Error(`no heading matching ${heading}`);
  const level = /^(#+)/.exec(lines[start] ?? '')?.[1]?.length ?? 1;
  let end = lines.length;
  let fenced = false;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (l.startsWith('```')) fenced = !fenced;
    const m = /^(#{1,6}) /.exec(l);
    if (!fenced && m?.[1] && m[1].length <= level) {
      end = i;
      break;
    }
  }
  return lines.slice(start, end).join('\n');
}

/**
 * The bodies of the ```sh fences in `text`, in order. With `skipMarked`, fences right after a
 * `<!-- readme-test … -->` marker are left out (they belong to another path, e.g. PostgreSQL).
 */
export function shBlocks(text: string, options: { skipMarked?: boolean } = {}): string[] {
  return [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)]
    .filter((m) => !options.skipMarked || !/<!-- readme-test [^>]*-->\s*$/.test(text.slice(0, m.index)))
    .map((m) => m[1] ?? '');
}

/** The ```sh block right after `<!-- readme-test NAME -->`, or null when the marker is absent. */
export function markedBlock(markdown: string, name: string): string | null {
  const at = markdown.indexOf(`<!-- readme-test ${name} -->`);
  if (at < 0) return null;
  return shBlocks(markdown.slice(at))[0] ?? null;
}

/** Splits a block into commands: `\` continuations and here-documents stay with their command; comment lines are dropped. */
export function commands(block: string): ShellCommand[] {
  const lines = block.split('\n');
  const out: ShellCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    if (line.trim() === '') continue;
    if (line.trimStart().startsWith('#')) {
      const code = /"error":\s*\{\s*"code":\s*"([A-Z_]+)"/.exec(line)?.[1];
      const last = out.at(-1);
      if (code && last) last.expectErrorCode = code;
      continue;
    }
    let text = line;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = lines[++i] ?? '';
      text += `\n${line}`;
    }
    const heredoc = /<<-?\s*(['"]?)([A-Za-z_]+)\1/.exec(text);
    if (heredoc?.[2]) {
      const word = heredoc[2];
      while (i + 1 < lines.length) {
        const next = lines[++i] ?? '';
        text += `\n${next}`;
        if (next.trim() === word) break;
      }
    }
    out.push({ text });
  }
  return out;
}
