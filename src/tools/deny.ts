import { CountersignError } from '../errors/index.ts';
import type { DenyArgv, ToolManifest } from './manifest.ts';

function tokenize(argv: readonly string[]): string[] {
  return argv.flatMap((a) => {
    const eq = a.indexOf('=');
    return a.startsWith('-') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a];
  });
}

function tokenMatches(pattern: string, token: string): boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) return new RegExp(pattern.slice(1, -1), 'u').test(token);
  return pattern === token;
}

function findSequence(tokens: readonly string[], rule: DenyArgv): boolean {
  for (let i = 0; i + rule.sequence.length <= tokens.length; i++) {
    if (rule.sequence.every((p, j) => tokenMatches(p, tokens[i + j] ?? ''))) return true;
  }
  return false;
}

/**
 * Refuses a rendered argv that contains a destructive pattern the tool or action denies
 * (issue 5 item 5). Checked at proposal and again by the executor before the step runs.
 */
export function assertArgvAllowed(manifest: ToolManifest, actionName: string, argv: readonly string[]): void {
  const action = manifest.actions[actionName];
  const rules = [...manifest.denyArgv, ...(action?.denyArgv ?? [])];
  if (rules.length === 0) return;
  const tokens = tokenize(argv);
  for (const rule of rules) {
    if (findSequence(tokens, rule)) {
      throw new CountersignError(
        'ARGUMENT_REFUSED',
        `${manifest.name}.${actionName}: the command matches the denied pattern "${rule.sequence.join(' ')}" (${rule.reason})`,
        {
          details: { pattern: rule.sequence, reason: rule.reason },
        },
      );
    }
  }
}
