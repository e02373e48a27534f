// CONVENTIONS: domains import each other through their index.ts only, and never in a circle.
// This test reads every import of src/ and fails printing the cycle, or the offending import.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

interface Edge {
  from: string;
  to: string;
  file: string;
  target: string;
}

/** Every relative import or re-export between two top-level folders of src/, type imports included. */
function crossDomainImports(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const from = relative(SRC, file).split('/')[0]!;
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+['"](\.[^'"]+)['"]/g)) {
      const target = relative(SRC, resolve(dirname(file), m[1]!));
      const to = target.split('/')[0]!;
      // A top-level file (runtime.ts, cli.ts, index.ts) is a module of its own, not a domain.
      if (to === from || !target.includes('/')) continue;
      edges.push({ from, to, file: relative(SRC, file), target });
    }
  }
  return edges;
}

/** One cycle of the folder graph, as a path, or null. */
function findCycle(edges: Edge[]): string[] | null {
  const next = new Map<string, Set<string>>();
  for (const e of edges) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to));
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, 'open');
    path.push(node);
    for (const n of next.get(node) ?? []) {
      if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
      if (!state.has(n)) {
        const found = visit(n);
        if (found) return found;
      }
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of [...next.keys()].sort()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return null;
}

test('the folder import graph of src/ has no cycle', () => {
  const edges = crossDomainImports();
  const cycle = findCycle(edges);
  if (cycle) {
    const witnesses = cycle.slice(1).map((to, i) => {
      const e = edges.find((x) => x.from === cycle[i] && x.to === to)!;
      return `  ${e.file} → ${e.target}`;
    });
    assert.fail(`import cycle between folders: ${cycle.join(' → ')}\n${witnesses.join('\n')}`);
  }
});

test('a domain is reached through its index.ts, never through the files behind it', () => {
  const internal = crossDomainImports().filter((e) => !e.target.endsWith('/index.ts'));
  assert.deepEqual(
    internal.map((e) => `${e.file} → ${e.target}`),
    [],
    'import these through the domain index.ts (add the name to its explicit export list)',
  );
});

test('the cycle finder finds a planted cycle (the test can fail)', () => {
  const planted: Edge[] = [
    { from: 'a', to: 'b', file: 'a/x.ts', target: 'b/index.ts' },
    { from: 'b', to: 'c', file: 'b/y.ts', target: 'c/index.ts' },
    { from: 'c', to: 'a', file: 'c/z.ts', target: 'a/index.ts' },
  ];
  assert.deepEqual(findCycle(planted), ['a', 'b', 'c', 'a']);
  assert.equal(findCycle(planted.slice(0, 2)), null);
});
