/**
 * The runner's contract around the sandbox: tool integrity (issue 5, item 4), output limits
 * and redaction (invariant 12), abort, cgroups, and refusing — never weakening — on any setup
 * problem (invariant 9).
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BubblewrapRunner, checkSandboxHost, runUnsandboxedForDevelopment, type UnsandboxedRunEvent } from '../../src/sandbox/index.ts';
import { profile, SandboxHarness, SH, sha256Of } from './harness.ts';

let h: SandboxHarness;
before(async () => {
  h = await SandboxHarness.create();
});
after(() => h.dispose());

describe('tool integrity', () => {
  it('refuses an executable whose sha256 does not match its pin, before anything runs', async () => {
    const workDir = h.workDir();
    const spec = {
      executable: SH,
      expectedSha256: sha256Of('/usr/bin/true'),
      argv: ['-c', 'touch ran'],
      profile: profile(),
      workDir,
      secrets: {},
    };
    await assert.rejects(h.runner.run(spec), { code: 'TOOL_INTEGRITY' });
    assert.equal(existsSync(join(workDir, 'ran')), false);
  });

  it('re-hashes a swapped binary and refuses it; runs a pinned tool from outside /usr', async () => {
    const tools = join(h.base, 'tools');
    mkdirSync(tools, { mode: 0o755 });
    const tool = join(tools, 'mytool');
    copyFileSync('/usr/bin/echo', tool);
    chmodSync(tool, 0o755);
    const pinned = sha256Of(tool);
    const spec = {
      executable: tool,
      expectedSha256: pinned,
      argv: ['from', 'outside'],
      profile: profile(),
      workDir: h.workDir(),
      secrets: {},
    };
    const ok = await h.runner.run(spec);
    assert.equal(ok.stdout, 'from outside\n');
    copyFileSync('/usr/bin/false', tool);
    await assert.rejects(h.runner.run(spec), { code: 'TOOL_INTEGRITY' });
  });
});

describe('output', () => {
  it('caps output at limits.outputKB and says it truncated', async () => {
    const r = await h.sh('head -c 20000 /dev/zero | tr "\\0" x; echo; echo err >&2', profile({ limits: { outputKB: 1 } }));
    assert.equal(r.truncated, true);
    assert.ok(Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr) <= 1024);
    assert.equal(r.exitCode, 0);
  });

  it('redacts the step secrets and their encodings, also when split across writes and live', async () => {
    const secret = 'tok-9f8e7d6c5b4a';
    const live: string[] = [];
    const script = [
      'import base64, sys, time, os',
      's = os.environ["TOKEN"]',
      'sys.stdout.write("exact " + s[:6]); sys.stdout.flush(); time.sleep(0.05)',
      'sys.stdout.write(s[6:] + "\\n"); sys.stdout.flush()',
      'print("b64 " + base64.b64encode(s.encode()).decode())',
      'print("hex " + s.encode().hex(), file=sys.stderr)',
    ].join('\n');
    const r = await h.python(script, profile(), { secrets: { TOKEN: secret }, onOutput: (_s, chunk) => live.push(chunk) });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'exact [REDACTED]\nb64 [REDACTED]\n');
    assert.equal(r.stderr, 'hex [REDACTED]\n');
    assert.ok(!live.join('').includes(secret.slice(0, 10)));
  });
});

describe('lifecycle', () => {
  it('kills the whole sandbox when aborted', async () => {
    const controller = new AbortController();
    const pending = h.sh('echo started; sleep 30 & sleep 30', profile(), {
      signal: controller.signal,
      onOutput: () => controller.abort(),
    });
    const r = await pending;
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.timedOut, false);
    assert.equal(r.exitCode, null);
  });

  it('places the step in its own memory and pids cgroups where the host allows', async (t) => {
    if (h.runner.cgroupVersion === null) return t.skip('no usable cgroup driver on this host');
    const r = await h.sh('cat /proc/self/cgroup');
    if (h.runner.cgroupVersion === 'v1') {
      assert.match(r.stdout, /:memory:.*countersign-step-/);
      assert.match(r.stdout, /:pids:.*countersign-step-/);
    } else {
      assert.match(r.stdout, /^0::.*countersign-step-/m);
    }
  });
});

describe('checkSandboxHost', () => {
  it('reports each capability the runner relies on, tested for real', async () => {
    const report = await checkSandboxHost();
    assert.deepEqual(
      report.items.map((i) => i.name),
      [
        'bubblewrap',
        'prlimit',
        'socat (egress forwarder)',
        'seccomp filter (python3-seccomp)',
        'disk budget',
        'user namespaces',
        'cgroup memory and pids limits',
        'inherited descriptors',
      ],
    );
    const seccomp = report.items.find((i) => i.name.startsWith('seccomp'));
    assert.match(seccomp?.detail ?? '', /^\d+-byte program: \d+ syscalls refused/);
    // This suite only runs where a sandbox works (before() created a runner), so the host is ok.
    assert.equal(report.ok, true);
    assert.equal(report.cgroupVersion, h.runner.cgroupVersion);
    const missing = await checkSandboxHost({ bwrapPath: '/nonexistent/bwrap' });
    assert.equal(missing.ok, false);
    assert.match(missing.items[0]?.detail ?? '', /apt-get install -y bubblewrap/);
  });
});

describe('fail closed', () => {
  it('refuses when bubblewrap is missing, saying how to install it', async () => {
    await assert.rejects(BubblewrapRunner.create({ bwrapPath: '/nonexistent/bwrap' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SANDBOX_UNAVAILABLE');
      assert.match(err.message, /apt-get install -y bubblewrap/);
      return true;
    });
  });

  it('refuses a missing read-only path, a bind over protected paths, the root, and a missing work directory', async () => {
    await assert.rejects(h.sh('true', profile({ readOnlyPaths: ['/nonexistent/tool-config'] })), { code: 'SANDBOX_UNAVAILABLE' });
    await assert.rejects(h.sh('true', profile({ readOnlyPaths: [h.dataDir] })), { code: 'SANDBOX_UNAVAILABLE' });
    await assert.rejects(h.sh('true', profile({ readOnlyPaths: [h.base] })), { code: 'SANDBOX_UNAVAILABLE' });
    await assert.rejects(h.sh('true', profile({ writablePaths: ['/'] })), { code: 'SANDBOX_UNAVAILABLE' });
    await assert.rejects(h.sh('true', profile({ readOnlyPaths: ['/proc/1'] })), { code: 'SANDBOX_UNAVAILABLE' });
    await assert.rejects(h.sh('true', profile(), { workDir: join(h.base, 'never-created') }), { code: 'SANDBOX_UNAVAILABLE' });
  });
});

describe('runUnsandboxedForDevelopment', () => {
  it('needs the explicit flag and an audit callback', () => {
    assert.throws(() => runUnsandboxedForDevelopment({} as never), { code: 'SANDBOX_UNAVAILABLE' });
    assert.throws(() => runUnsandboxedForDevelopment({ iUnderstandThisIsUnsandboxed: true } as never), { code: 'SANDBOX_UNAVAILABLE' });
  });

  it('still pins sha256, clears the environment, audits every run and refuses when the audit fails', async () => {
    const events: UnsandboxedRunEvent[] = [];
    const dev = runUnsandboxedForDevelopment({ iUnderstandThisIsUnsandboxed: true, onUnsandboxedRun: (e) => events.push(e) });
    try {
      assert.equal(dev.kind, 'unsandboxed-development');
      const workDir = h.workDir();
      const spec = {
        executable: SH,
        expectedSha256: sha256Of(SH),
        argv: ['-c', 'env | sort'],
        profile: profile(),
        workDir,
        secrets: { K: 'dev-secret-1' },
      };
      const r = await dev.run(spec);
      assert.deepEqual(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split('=')[0]),
        ['HOME', 'K', 'LANG', 'PATH', 'PWD'],
      );
      assert.match(r.stdout, /K=\[REDACTED\]/);
      assert.equal(events.length, 1);
      await assert.rejects(dev.run({ ...spec, expectedSha256: sha256Of('/usr/bin/true') }), { code: 'TOOL_INTEGRITY' });
      const refusing = runUnsandboxedForDevelopment({
        iUnderstandThisIsUnsandboxed: true,
        onUnsandboxedRun: () => {
          throw new Error('audit store down');
        },
      });
      await assert.rejects(refusing.run({ ...spec, argv: ['-c', 'touch ran'] }), /audit store down/);
      await refusing.dispose();
      assert.equal(existsSync(join(workDir, 'ran')), false);
    } finally {
      await dev.dispose();
    }
  });
});
