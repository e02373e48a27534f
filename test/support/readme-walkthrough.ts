// The README's first hour, run as written: the ```sh blocks of its Quickstart (and, for
// PostgreSQL, the marked blocks of docs/postgresql.md until the README carries them) are read
// from the files at test time, so the test cannot drift from what users are told to type.
// test/readme.test.ts runs it on SQLite and test/readme-postgres.test.ts on PostgreSQL: two
// files, so the runner can run them side by side.
//
// Stated mappings — the only places the commands differ from what a user types:
// - the checkout is a temporary "clone": bin/ and package.json copied, node_modules linked, and
//   dist/bundle/ built with scripts/build-cli.mjs (what `npm ci` runs as `prepare`; a whole
//   `npm test` run builds it once and the clone links it); the test never runs `npm ci` itself;
// - `npm ci && npm start` runs `node bin/countersign.js up --port 0` (package.json's `start`);
//   `npm test` is skipped (it is this suite); `countersign serve` gets `--port 0`;
// - the free port the server printed replaces 127.0.0.1:7400 in commands, and
//   COUNTERSIGN_SERVER points the CLI at it;
// - placeholders are filled the way a user fills them, from earlier output: `csk_…` with the
//   admin key init printed, `csk_…alice…` with the key `principal add alice` printed, `pln_…`
//   with the id of the plan proposed last; a postgres:// URL with a fresh test database;
// - each command runs in a pseudo-terminal (as typed in a terminal), `y` typed when asked [y/N].
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ENGINES } from './engines.ts';
import { commands, markedBlock, type ShellCommand, section, shBlocks } from './readme-commands.ts';
import { tempDir } from './server.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const PG_DOC = readFileSync(join(REPO, 'docs', 'postgresql.md'), 'utf8');
export const README_TIMEOUT = 1_200_000;

/** What the README promises each command shows (the command must also exit 0). */
const EXPECTATIONS: { name: string; command: RegExp; output: RegExp }[] = [
  { name: 'healthz', command: /curl -s http:\S+\/healthz/, output: /"ok"/ },
  { name: 'propose over HTTP', command: /curl -s -X POST \S+\/v1\/plans \\\n[\s\S]*"message":"hello"/, output: /"status":"approved"/ },
  { name: 'plan show', command: /countersign plan show pln_/, output: /\/bin\/echo/ },
  { name: 'execute --wait', command: /countersign execute pln_\S+ --wait/, output: /succeeded/ },
  { name: 'principal add', command: /countersign principal add alice/, output: /csk_/ },
  { name: 'plan propose', command: /countersign plan propose hello\.yaml/, output: /pending_approval/ },
  { name: 'approve', command: /countersign approve pln_/, output: /approve/i },
  { name: 'audit verify', command: /countersign audit verify/, output: /OK: audit log intact/ },
  { name: 'doctor', command: /countersign doctor/, output: /\*\*PASS\*\*/ },
];

const KEY = /csk_[0-9a-z]+_[A-Za-z0-9_-]{20,}/;

/** A temporary clone: what `git clone` + `npm ci` leave, built from this checkout. */
async function makeClone(): Promise<string> {
  const clone = tempDir('cs-readme-');
  mkdirSync(join(clone, 'bin'));
  copyFileSync(join(REPO, 'bin', 'countersign.js'), join(clone, 'bin', 'countersign.js'));
  chmodSync(join(clone, 'bin', 'countersign.js'), 0o755);
  copyFileSync(join(REPO, 'package.json'), join(clone, 'package.json'));
  symlinkSync(realpathSync(join(REPO, 'node_modules')), join(clone, 'node_modules'));
  // A whole run has just built dist/ from this checkout (scripts/test.mjs): use it as is.
  if (process.env.COUNTERSIGN_TEST_CLI === 'dist') {
    symlinkSync(join(REPO, 'dist'), join(clone, 'dist'));
    return clone;
  }
  const args = [join(REPO, 'scripts', 'build-cli.mjs'), '--outdir', join(clone, 'dist', 'bundle')];
  const build = await finished(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  assert.equal(build.code, 0, `build failed:\n${build.output}`);
  return clone;
}

function finished(child: ChildProcess, onOutput?: (all: string) => void): Promise<{ code: number | null; output: string }> {
  let output = '';
  const add = (d: Buffer) => {
    output += d.toString().replace(/\r/g, '');
    onOutput?.(output);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

/** One user's terminal: exports and aliases carry over from command to command. */
class Session {
  readonly #state = ['shopt -s expand_aliases'];
  readonly #keys = new Map<string, string>();
  readonly #work: string;
  readonly env: NodeJS.ProcessEnv;
  adminKey: string | undefined;
  #port: string | undefined;
  #plan: string | undefined;
  #server: { stop(): Promise<number | null>; output(): string } | undefined;
  #n = 0;
  readonly ran: { command: string; output: string }[] = [];

  constructor(
    readonly clone: string,
    readonly databaseUrl: string | undefined,
  ) {
    this.#work = tempDir('cs-readme-sh-');
    this.env = { ...process.env };
    for (const k of Object.keys(this.env)) if (k.startsWith('COUNTERSIGN_') || k.startsWith('NODE_TEST')) delete this.env[k];
  }

  substitute(text: string): string {
    const need = (v: string | undefined, what: string) => {
      assert.ok(v, `the README uses ${what} before any command printed it`);
      return v;
    };
    let t = text;
    if (this.#port) t = t.replaceAll('127.0.0.1:7400', `127.0.0.1:${this.#port}`);
    t = t.replace(/csk_…([A-Za-z0-9_-]+)…/g, (_, name: string) => need(this.#keys.get(name), `${name}'s key`));
    t = t.replace(/csk_…/g, () => need(this.adminKey, 'the admin key'));
    t = t.replace(/pln_…/g, () => need(this.#plan, 'a plan id'));
    if (this.databaseUrl) t = t.replace(/postgres:\/\/[^\s"']+/g, this.databaseUrl);
    return t;
  }

  #capture(command: string, output: string): void {
    if (!this.adminKey && /\b(init|up)\b/.test(command)) this.adminKey = KEY.exec(output)?.[0];
    const principal = /countersign principal add (\S+)/.exec(command)?.[1];
    if (principal) this.#keys.set(principal, KEY.exec(output)?.[0] ?? '');
    if (/-X POST \S+\/v1\/plans\b(?!\/)/.test(command) || /countersign plan propose/.test(command)) {
      this.#plan = /pln_[0-9a-z]+/.exec(output)?.[0] ?? this.#plan;
    }
  }

  #script(body: string): string {
    const file = join(this.#work, `cmd-${++this.#n}.sh`);
    writeFileSync(file, `${[...this.#state, body].join('\n')}\n`);
    return file;
  }

  /** Runs one command in a pseudo-terminal, as typed; answers `y` to a confirmation. */
  async run(command: ShellCommand): Promise<{ code: number | null; output: string; text: string }> {
    const text = this.substitute(command.text);
    const file = this.#script(text);
    const child = spawn('script', ['-qec', `bash --noprofile --norc ${file}`, '/dev/null'], { cwd: this.clone, env: this.env });
    // `y` is typed when a confirmation is asked, as a user would: input written before and never
    // read made `script` wait two seconds after each command.
    child.stdin?.on('error', () => undefined);
    let answered = 0;
    const raw = await finished(child, (all) => {
      // A terminal prompt ends in cursor movements (readline's refresh): the words are what count.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences
      const plain = all.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
      // Each question gets its answer once, however many the command asks.
      const asked = plain.match(/\[y\/N\] /g)?.length ?? 0;
      if (asked > answered && /\[y\/N\] $/.test(plain)) {
        answered = asked;
        child.stdin?.write('y\n');
      }
    });
    child.stdin?.end();
    // A terminal shows colour; the expectations are about the words, so the escapes are removed.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences
    const r = { ...raw, output: raw.output.replace(/\u001b\[[0-9;]*m/g, '') };
    if (r.code === 0 && /^(export|alias|cd|unset) /.test(text)) this.#state.push(text);
    this.#capture(text, r.output);
    this.ran.push({ command: text, output: r.output });
    return { ...r, text };
  }

  /** Starts a long-running command (the server) in the background, ready when the API listens and the executor started. */
  async background(text: string): Promise<void> {
    const pidFile = join(this.#work, 'server.pid');
    const file = this.#script(`${text} &\necho $! > ${pidFile}\nwait $!`);
    const child = spawn('bash', ['--noprofile', '--norc', file], { cwd: this.clone, env: this.env });
    let output = '';
    let ready: (() => void) | undefined;
    const exited = finished(child, (all) => {
      output = all;
      if (/listening on http:\/\/127\.0\.0\.1:\d+/.test(all) && /executor .* started/.test(all)) ready?.();
    });
    await new Promise<void>((resolve, reject) => {
      ready = resolve;
      void exited.then((r) => reject(new Error(`${text} exited early (${r.code}):\n${r.output}`)));
    });
    this.#port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
    this.env.COUNTERSIGN_SERVER = `http://127.0.0.1:${this.#port}`;
    this.#capture(text, output);
    let stopping: Promise<number | null> | undefined;
    this.#server = {
      output: () => output,
      stop() {
        stopping ??= (async () => {
          process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
          return (await exited).code;
        })();
        return stopping;
      },
    };
  }

  async stopServer(): Promise<{ code: number | null; output: string }> {
    assert.ok(this.#server, 'no server was started');
    const code = await this.#server.stop();
    return { code, output: this.#server.output() };
  }

  /** What ran so far, for failure messages. */
  transcript(): string {
    return this.ran.map((r) => `$ ${r.command}\n${r.output}`).join('\n');
  }

  /** Stops a server left running by a failed step, then removes the session's scripts. */
  async remove(): Promise<void> {
    await this.#server?.stop();
    rmSync(this.#work, { recursive: true, force: true });
  }
}

/** Runs `list` in order, mapping the server commands; returns the names of the expectations met. */
async function runAll(s: Session, list: ShellCommand[]): Promise<Set<string>> {
  const met = new Set<string>();
  for (const c of list) {
    if (/^npm test\b/.test(c.text)) continue;
    if (/^npm ci && npm start\b/.test(c.text)) {
      await s.background('node bin/countersign.js up --port 0');
      continue;
    }
    if (/^countersign (serve|up)\b/.test(c.text)) {
      await s.background(`${s.substitute(c.text.replace(/\s+#.*$/, ''))} --port 0`);
      continue;
    }
    const r = await s.run(c);
    assert.equal(r.code, 0, `README command failed (exit ${r.code}):\n$ ${r.text}\n${r.output}`);
    if (c.expectErrorCode) assert.match(r.output, new RegExp(`"code":"${c.expectErrorCode}"`), `$ ${r.text}\n${r.output}`);
    for (const e of EXPECTATIONS) {
      if (!e.command.test(r.text)) continue;
      assert.match(r.output, e.output, `${e.name}: $ ${r.text}\n${r.output}\n--- earlier:\n${s.transcript()}`);
      met.add(e.name);
    }
  }
  return met;
}

const quickstartBlocks = shBlocks(section(README, /^## Quickstart/), { skipMarked: true });
const quickstart = commands(quickstartBlocks.join('\n'));

/** The README's first hour; `countersign doctor` is added at the end while the Quickstart lacks it (reported). */
function withDoctor(list: ShellCommand[], diagnostic: (m: string) => void): ShellCommand[] {
  if (list.some((c) => /countersign doctor/.test(c.text))) return list;
  diagnostic('the README Quickstart has no `countersign doctor` line; running `countersign doctor` after it');
  return [...list, { text: 'countersign doctor' }];
}

/** The parser's own check (test/readme.test.ts runs it). */
export function parserFindsTheCommands(): void {
  const md =
    '## Quickstart\n```sh\necho a \\\n  b\n# {"error":{"code":"X_Y"}}\n```\n<!-- readme-test postgres:start -->\n```sh\necho pg\n```\n## Next\n```sh\necho c\n```\n';
  const blocks = shBlocks(section(md, /^## Quickstart/), { skipMarked: true });
  assert.deepEqual(blocks, ['echo a \\\n  b\n# {"error":{"code":"X_Y"}}\n']);
  assert.deepEqual(commands(blocks[0] ?? ''), [{ text: 'echo a \\\n  b', expectErrorCode: 'X_Y' }]);
  assert.equal(markedBlock(md, 'postgres:start'), 'echo pg\n');
  assert.ok(quickstart.some((c) => /^npm ci && npm start/.test(c.text)));
  assert.ok(
    quickstart.some((c) => /<<'YAML'[\s\S]*\nYAML$/.test(c.text)),
    'the here-document stays one command',
  );
  assert.ok(
    quickstart.some((c) => c.expectErrorCode),
    'the documented error answer is read',
  );
}

/** The walk-through on one engine, in its own clone: call inside the test file's describe (README_TIMEOUT). */
export function walkThrough(engineName: 'sqlite' | 'postgres'): void {
  let clone: string;
  before(
    async () => {
      clone = await makeClone();
    },
    { timeout: README_TIMEOUT },
  );
  after(() => {
    if (clone) rmSync(clone, { recursive: true, force: true });
  });

  for (const engine of ENGINES.filter((e) => e.name === engineName)) {
    test(`on ${engine.name}: init → serve → the walk-through → audit verify → doctor`, {
      skip: engine.skip,
      timeout: README_TIMEOUT,
    }, async (t) => {
      const db = await engine.fresh();
      const s = new Session(clone, db.databaseUrl);
      const data = join(clone, engine.name === 'sqlite' ? '.countersign' : 'pgdata');
      try {
        let list: ShellCommand[];
        if (engine.name === 'sqlite') list = withDoctor(quickstart, (m) => t.diagnostic(m));
        else {
          const source = markedBlock(README, 'postgres:start') ? README : PG_DOC;
          t.diagnostic(`PostgreSQL blocks read from ${source === README ? 'README.md' : 'docs/postgresql.md'}`);
          const start = markedBlock(source, 'postgres:start');
          const end = markedBlock(source, 'postgres:end');
          assert.ok(start && end, 'the marked PostgreSQL blocks are missing');
          // The walk-through is the Quickstart without the block that installs and starts (npm ci && npm start).
          const walkThrough = commands(quickstartBlocks.filter((b) => !/^npm ci\b/m.test(b)).join('\n'));
          list = [...commands(start), ...walkThrough, ...commands(end)];
          assert.ok(
            list.some((c) => /--database-url postgres:\/\//.test(c.text)),
            'the PostgreSQL path must init with --database-url',
          );
        }
        const met = await runAll(s, list);
        for (const e of EXPECTATIONS) assert.ok(met.has(e.name), `no README command showed: ${e.name}`);
        assert.ok(statSync(join(clone, 'audit.jsonl')).size > 0, 'audit export wrote nothing');
        const config = readFileSync(join(data, 'countersign.yaml'), 'utf8');
        assert.match(config, new RegExp(`engine: ${engine.name}`));
        if (engine.name === 'postgres') assert.ok(!existsSync(join(data, 'countersign.db')), 'a SQLite store appeared beside PostgreSQL');
        const stopped = await s.stopServer();
        assert.equal(stopped.code, 0, stopped.output);
      } finally {
        await s.remove();
        for (const f of ['.countersign', 'pgdata', 'hello.yaml', 'audit.jsonl']) rmSync(join(clone, f), { recursive: true, force: true });
        await db.drop();
      }
    });
  }
}
