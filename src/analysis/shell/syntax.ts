import type { Node } from 'web-tree-sitter';
import type { StdinSource } from './model.ts';

/** `"$@"` as a command name: the function runs its arguments. */
export const RUN_ARGS = /^"?\$[@*]"?$/;

/** 1-based line of the first syntax error: inside an ERROR node, the first token the parser could not place. */
export function errorLine(node: Node): number {
  for (const child of node.children) {
    if (child.isMissing) return child.startPosition.row + 1;
    if (child.isError || child.hasError) return errorLine(child);
  }
  if (node.isError) {
    for (const child of node.children) if (!child.isNamed) return child.startPosition.row + 1;
  }
  return node.startPosition.row + 1;
}

/** A here-doc's text; with an unquoted delimiter bash expands it first, but its code is still what we read. */
export function heredocStdin(r: Node): StdinSource {
  const content = r.namedChildren.find((c) => c.type === 'heredoc_body');
  if (!content) return { literal: '', literalLine: null, upstream: [] };
  const text = r.text.startsWith('<<-') ? content.text.replace(/^\t+/gm, '') : content.text;
  return { literal: text, literalLine: content.startPosition.row + 1, upstream: [] };
}

/** `:(){ :|:& };:` — a function that pipes into or backgrounds itself multiplies until the host dies. */
export function isForkBomb(body: Node, name: string): boolean {
  const selfCalls = body.descendantsOfType('command').filter((c) => c.childForFieldName('name')?.text === name);
  return selfCalls.some((c) => c.parent?.type === 'pipeline' || c.nextSibling?.type === '&');
}
