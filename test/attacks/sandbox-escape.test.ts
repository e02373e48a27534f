/**
 * Invariant 9 (sandbox or nothing): an escape battery, each attempt made from inside a real
 * bubblewrap step, each expected to fail. The host side then checks that nothing changed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_HOST_USERS } from '../../src/sandbox/index.ts';
import { hostCommandLines, profile, SandboxHarness, sha256Of } from '../sandbox/harness.ts';

let h: SandboxHarness;

before(async () => {
  h = await SandboxHarness.create();
});
after(() => h.dispose());

describe('sandbox escape battery', () => {
  it('cannot read the data directory or the host /etc/shadow', async () => {
    const r = await h.sh(`cat ${h.dataDir}/secret.txt; cat /etc/shadow; ls ${h.base}; cat /proc/1/root${h.dataDir}/secret.txt`);
    assert.notEqual(r.exitCode, 0);
    assert.ok(!r.stdout.includes(h.dataSecret), 'the data directory secret leaked');
    assert.ok(!r.stdout.includes('root:'), '/etc/shadow leaked');
    assert.match(r.stderr, /secret\.txt: No such file or directory/);
    assert.match(r.stderr, /\/etc\/shadow: No such file or directory/);
    // Only this step's own work directory exists under the shared work root.
    assert.doesNotMatch(r.stdout, /data/);
  });

  it('cannot write outside its work directory', async () => {
    const marker = `escape-write-${process.pid}`;
    const script = [
      'import json, os',
      'out = {}',
      `for p in ["/usr/${marker}", "/etc/${marker}", "/${marker}", "${h.dataDir}/${marker}", "/proc/${marker}", "/dev/${marker}"]:`,
      '    try:',
      '        open(p, "w").write("x"); out[p] = "written"',
      '    except OSError as e:',
      '        out[p] = e.strerror',
      `open("${marker}", "w").write("inside")`,
      'print(json.dumps(out))',
    ].join('\n');
    const workDir = h.workDir();
    const r = await h.python(script, profile(), { workDir });
    assert.equal(r.exitCode, 0, r.stderr);
    const attempts = JSON.parse(r.stdout) as Record<string, string>;
    for (const [path, outcome] of Object.entries(attempts)) assert.notEqual(outcome, 'written', `${path} was writable`);
    assert.equal(existsSync(join(h.dataDir, marker)), false);
    assert.equal(existsSync(`/usr/${marker}`), false);
    assert.equal(existsSync(`/${marker}`), false);
    // The work directory is the one place it can write, and the file is not owned by host root.
    const written = statSync(join(workDir, marker));
    if (process.getuid?.() === 0) {
      assert.ok(written.uid >= DEFAULT_HOST_USERS.first && written.uid < DEFAULT_HOST_USERS.first + DEFAULT_HOST_USERS.count);
    }
  });

  it('cannot follow a symlink planted to escape', async () => {
    const workDir = h.workDir();
    symlinkSync(join(h.dataDir, 'secret.txt'), join(workDir, 'planted-secret'));
    symlinkSync('/etc/shadow', join(workDir, 'planted-shadow'));
    symlinkSync('../data', join(workDir, 'planted-up'));
    const r = await h.sh(
      'cat planted-secret; cat planted-shadow; ls planted-up/; ln -s /proc/1/root/etc/hostname made-inside; cat made-inside; echo done',
      profile(),
      { workDir },
    );
    assert.ok(!r.stdout.includes(h.dataSecret));
    assert.match(r.stdout, /done/);
    assert.match(r.stderr, /planted-secret: No such file or directory/);
    assert.match(r.stderr, /planted-shadow: No such file or directory/);
    // The symlink the step made is inert on the host side too: it points at a path, not a file.
    assert.equal(lstatSync(join(workDir, 'made-inside')).isSymbolicLink(), true);
  });

  it('cannot connect to host loopback services or abstract Unix sockets', async () => {
    let connections = 0;
    const tcp: Server = createServer((s) => {
      connections += 1;
      s.end('hello from the host');
    });
    const abstractName = `countersign-test-${process.pid}`;
    const unix: Server = createServer((s) => {
      connections += 1;
      s.end('hello from the host');
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => unix.listen(`\0${abstractName}`, resolve));
    const { port } = tcp.address() as { port: number };
    try {
      const script = [
        'import socket',
        'def attempt(family, addr):',
        '    s = socket.socket(family, socket.SOCK_STREAM); s.settimeout(3)',
        '    try:',
        '        s.connect(addr); return "connected:" + s.recv(100).decode()',
        '    except OSError as e:',
        '        return type(e).__name__',
        `print(attempt(socket.AF_INET, ("127.0.0.1", ${port})))`,
        `print(attempt(socket.AF_UNIX, "\\0${abstractName}"))`,
      ].join('\n');
      const r = await h.python(script);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /connected/);
      assert.equal(connections, 0);
    } finally {
      tcp.close();
      unix.close();
    }
  });

  it('cannot reach the cloud metadata address', async () => {
    const r = await h.python(
      [
        'import socket',
        's = socket.socket(); s.settimeout(3)',
        'try:',
        '    s.connect(("169.254.169.254", 80)); print("connected")',
        'except OSError as e:',
        '    print("refused", e.errno)',
      ].join('\n'),
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^refused/);
  });

  it('contains a fork bomb within its process limit', async () => {
    const script = [
      'import os, time',
      'n = 0',
      'while n < 10000:',
      '    try:',
      '        pid = os.fork()',
      '    except OSError:',
      '        break',
      '    if pid == 0:',
      '        time.sleep(60); os._exit(0)',
      '    n += 1',
      'print(n)',
    ].join('\n');
    const r = await h.python(script, profile({ limits: { processes: 16 } }));
    assert.equal(r.exitCode, 0, r.stderr);
    const forked = Number(r.stdout.trim());
    assert.ok(forked < 16, `forked ${forked} processes under a limit of 16`);
    // The classic shell bomb ends with the step, leaving nothing behind.
    const bomb = await h.sh('b(){ b|b& }; b; echo countersign-bomb-lit', profile({ limits: { processes: 16, wallSeconds: 5 } }));
    assert.equal(bomb.timedOut, false);
    assert.equal(hostCommandLines().filter((c) => c.includes('countersign-bomb')).length, 0);
  });

  it('stops a memory bomb at its memory limit', async () => {
    const r = await h.python(
      'try:\n    b = bytearray(1 << 30)\n    print("allocated")\nexcept MemoryError:\n    print("MemoryError")',
      profile({ limits: { memoryMB: 128 } }),
    );
    assert.match(r.stdout, /MemoryError/);
    assert.doesNotMatch(r.stdout, /allocated/);
  });

  it('kills an infinite loop at the wall-clock timeout and at the CPU limit', async () => {
    const wall = await h.sh('while :; do :; done', profile({ limits: { wallSeconds: 1, cpuSeconds: 60 } }));
    assert.equal(wall.timedOut, true);
    assert.equal(wall.signal, 'SIGKILL');
    assert.equal(wall.exitCode, null);
    const cpu = await h.sh('while :; do :; done', profile({ limits: { wallSeconds: 30, cpuSeconds: 1 } }));
    assert.equal(cpu.timedOut, false);
    assert.equal(cpu.exitCode, 128 + 9, 'RLIMIT_CPU kills the tool with SIGKILL');
  });

  it('stops a huge file at the file size limit', async () => {
    const workDir = h.workDir();
    const r = await h.python(
      'import errno\ntry:\n    open("big", "wb").write(b"x" * (5 << 20)); print("wrote")\nexcept OSError as e:\n    print(errno.errorcode[e.errno])',
      profile({ limits: { fileSizeMB: 1 } }),
      { workDir },
    );
    assert.match(r.stdout, /EFBIG/);
    assert.ok(statSync(join(workDir, 'big')).size <= 1 << 20);
  });

  it('leaves no background process alive after the step', async () => {
    const script = [
      'setsid sleep 987.6541 &',
      'nohup sleep 987.6542 >/dev/null 2>&1 &',
      'python3 -c "import os,time\nif os.fork(): os._exit(0)\nos.setsid()\nif os.fork(): os._exit(0)\ntime.sleep(987.6543)" &',
      'sleep 0.2; echo started',
    ].join('\n');
    const r = await h.sh(script);
    assert.match(r.stdout, /started/);
    assert.deepEqual(
      hostCommandLines().filter((c) => c.includes('987.654')),
      [],
    );
  });

  it('holds no capability and does not run as uid 0', async () => {
    const r = await h.sh('id -u; id -g; grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status; unshare -U true 2>&1 || echo no-userns');
    assert.equal(r.exitCode, 0, r.stderr);
    const [uid, gid] = r.stdout.split('\n');
    assert.notEqual(uid, '0');
    assert.equal(uid, '65534');
    assert.equal(gid, '65534');
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
      assert.match(r.stdout, new RegExp(`${cap}:\\s+0000000000000000`), `${cap} is not empty`);
    }
    assert.match(r.stdout, /no-userns/);
  });

  it('cannot see or signal host processes', async () => {
    const r = await h.sh(`kill -0 ${process.pid} 2>&1 || echo cannot-signal; ls /proc | grep -c '^[0-9]'`);
    assert.match(r.stdout, /cannot-signal/);
    // Only the step's own few processes are visible.
    const visible = Number(r.stdout.trim().split('\n').pop());
    assert.ok(visible < 5, `saw ${visible} processes`);
  });

  it('gets a clean environment with only what the profile injects', async () => {
    process.env.COUNTERSIGN_TEST_EXECUTOR_ONLY = 'executor-env-value';
    try {
      const r = await h.sh('env | sort', profile({ env: { TOOL_MODE: 'safe' } }), { secrets: { API_TOKEN: 'tok-123456789' } });
      const names = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=')[0]);
      assert.deepEqual(names, ['API_TOKEN', 'HOME', 'LANG', 'PATH', 'PWD', 'TOOL_MODE']);
      assert.doesNotMatch(r.stdout, /executor-env-value/);
      assert.match(r.stdout, /API_TOKEN=\[REDACTED\]/);
    } finally {
      delete process.env.COUNTERSIGN_TEST_EXECUTOR_ONLY;
    }
  });

  it('does not pass a descriptor the executor inherited into the step', async () => {
    // An executor started with an open directory descriptor (from a supervisor or a careless
    // parent) must not hand it to a tool: openat() on it would bypass every mount namespace.
    const child = join(h.base, 'inherited-fd-child.mts');
    const sandboxIndex = new URL('../../src/sandbox/index.ts', import.meta.url).pathname;
    const manifest = new URL('../../src/tools/manifest.ts', import.meta.url).pathname;
    writeFileSync(
      child,
      [
        `import { BubblewrapRunner } from ${JSON.stringify(sandboxIndex)};`,
        `import { SandboxProfileSchema } from ${JSON.stringify(manifest)};`,
        'const runner = await BubblewrapRunner.create({ cgroups: "off" });',
        `const r = await runner.run({ executable: "/bin/sh", expectedSha256: ${JSON.stringify(sha256Of('/bin/sh'))}, argv: ["-c", "ls -l /proc/self/fd/; cat /proc/self/fd/100/secret.txt"], profile: SandboxProfileSchema.parse({}), workDir: ${JSON.stringify(h.workDir())}, secrets: {} });`,
        'await runner.dispose();',
        'process.stdout.write(JSON.stringify(r));',
      ].join('\n'),
    );
    // Node marks descriptors 0-15 close-on-exec at start; a sparse high one stays inheritable.
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('/bin/bash', ['-c', 'exec 100<"$1"; exec "$2" --import tsx "$3"', 'child', h.dataDir, process.execPath, child], {
        cwd: new URL('../..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      p.stdout?.on('data', (d: Buffer) => {
        text += d.toString();
      });
      p.on('error', reject);
      p.on('close', () => resolve(text));
    });
    const r = JSON.parse(out) as { stdout: string; stderr: string };
    assert.ok(!r.stdout.includes(h.dataSecret), 'the inherited directory descriptor leaked the data directory');
    assert.match(r.stdout, / 100 -> \/dev\/null/);
    for (const line of r.stdout.split('\n').filter((l) => /^l/.test(l))) {
      const fd = Number(/ (\d+) -> /.exec(line)?.[1]);
      if (fd > 3) assert.match(line, /-> \/dev\/null$/, `descriptor ${fd} reached the step: ${line}`);
    }
  });
});
