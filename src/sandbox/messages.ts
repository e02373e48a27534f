/**
 * bubblewrap's complaint names host paths; a step error says which place failed, not where the
 * executor keeps it (the work root, the runner directory with its pid).
 */
export function withoutHostPaths(text: string, places: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [path, name] of Object.entries(places).sort((a, b) => b[0].length - a[0].length)) out = out.replaceAll(path, name);
  return out;
}

/** The first non-empty line of a tool's stderr, bounded, for an error message. */
export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim().length > 0) ?? 'no message';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
