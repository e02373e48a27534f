/**
 * Issue 5, Must show: 50 steps at once, each in its own sandbox, finish with no cross-talk —
 * each sees only its own work directory and its own injected secret.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, it } from 'node:test';
import { profile, SandboxHarness } from './harness.ts';

let h: SandboxHarness;
before(async () => {
  h = await SandboxHarness.create();
});
after(() => h.dispose());

it('runs 50 steps at once, each seeing only its own work directory and secret', async () => {
  const steps = Array.from({ length: 50 }, (_, i) => {
    const workDir = h.workDir();
    writeFileSync(join(workDir, 'mine.txt'), `work-${i}`);
    return { i, workDir, secret: `secret-of-step-${i}-${process.pid}` };
  });
  const others = steps.map((s) => s.workDir);
  const script = [
    'cat "$HOME/mine.txt"; echo',
    // Every other step's directory, by absolute path: none exists in this sandbox.
    `for d in ${others.join(' ')}; do if [ "$d" != "$HOME" ] && ls "$d" >/dev/null 2>&1; then echo "SAW $d"; fi; done`,
    `ls ${h.base}`,
    'printf %s "$STEP_SECRET" > got-secret.txt',
    'env',
  ].join('\n');
  const results = await Promise.all(
    steps.map((s) => h.sh(script, profile({ limits: { wallSeconds: 60 } }), { workDir: s.workDir, secrets: { STEP_SECRET: s.secret } })),
  );
  for (const [i, r] of results.entries()) {
    const step = steps[i];
    assert.ok(step);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], `work-${i}`);
    assert.doesNotMatch(r.stdout, /SAW /, `step ${i} saw another step's directory`);
    // Under the shared work root only its own directory exists inside its sandbox.
    assert.equal(lines[1], basename(step.workDir));
    assert.equal(readFileSync(join(step.workDir, 'got-secret.txt'), 'utf8'), step.secret);
    // Its own secret is redacted from its output; no other step's secret appears at all.
    assert.match(r.stdout, /STEP_SECRET=\[REDACTED\]/);
    for (const other of steps) assert.ok(!r.stdout.includes(other.secret), `step ${i} output holds the secret of step ${other.i}`);
  }
});
