import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../../src/runtime.ts';
import { systemRuntime } from '../../src/runtime.ts';

/** Appends a `console` section to an initialized data directory's countersign.yaml (JSON is YAML). */
export function writeConsoleConfig(dir: string, section: Record<string, unknown>): void {
  appendFileSync(join(dir, 'countersign.yaml'), `console: ${JSON.stringify(section)}\n`);
}

/** A clock a test can move forward, for session expiry. */
export function movableClock(): Runtime & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    newId: (prefix) => systemRuntime.newId(prefix),
    advance(ms) {
      offset += ms;
    },
  };
}

/** The `name=value` of a Set-Cookie header, and its attributes in lower case. */
export function parseSetCookie(header: string): { name: string; value: string; attributes: string[] } {
  const [pair = '', ...attributes] = header.split(';').map((p) => p.trim());
  const eq = pair.indexOf('=');
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes: attributes.map((a) => a.toLowerCase()) };
}
