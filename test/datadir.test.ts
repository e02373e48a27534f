// A data directory is bound to the store init created: every command opens that store (no URL
// repeated), refuses any other engine or database, and no read command ever creates a store.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { runCli } from './support/cli.ts';
import { ENGINES, freshPostgresDatabase, PG_URL } from './support/engines.ts';
import { serveRefusal, startServe } from './support/serve-process.ts';
import { tempDir } from './support/server.ts';

const roots: string[] = [];
const drops: (() => Promise<void>)[] = [];
after(async () => {
  for (const d of drops) await d();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function newRoot(): string {
  const r = tempDir('cs-datadir-');
  roots.push(r);
  return r;
}

/** Names, sizes and content hashes of every file under `dir` (empty when absent). */
function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        out.push(`${prefix}${name}/`);
        walk(p, `${prefix}${name}/`);
      } else out.push(`${prefix}${name} ${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}`);
    }
  };
  walk(dir, '');
  return out;
}

/** The tables of a PostgreSQL database (the proof that nothing was created or migrated in it). */
async function pgTables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query("select tablename from pg_tables where schemaname = 'public' order by 1");
    return r.rows.map((x: { tablename: string }) => x.tablename);
  } finally {
    await client.end();
  }
}

async function freshPg(): Promise<string> {
  const db = await freshPostgresDatabase();
  drops.push(db.drop);
  return db.databaseUrl;
}

async function init(dir: string, databaseUrl: string | undefined, extra: string[] = [], env: Record<string, string> = {}) {
  const r = await runCli(['init', '--dir', dir, '--json', ...(databaseUrl ? ['--database-url', databaseUrl] : []), ...extra], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { adminKey: string; installationId: string; store: string; database: string; passwordFile?: string };
}

/** The CLI with no COUNTERSIGN_DATABASE_URL inherited: only what the directory records. */
const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(args, { env: { COUNTERSIGN_DATABASE_URL: undefined, ...env } });

for (const engine of ENGINES) {
  describe(`a data directory on ${engine.name} opens the store init recorded`, { skip: engine.skip }, () => {
    test('init → serve → the admin key works → audit verify and doctor work without repeating the URL', async () => {
      const databaseUrl = engine.name === 'postgres' ? await freshPg() : undefined;
      const dir = join(newRoot(), 'data');
      const r = await init(dir, databaseUrl);
      assert.equal(r.store, engine.name);
      const config = readFileSync(join(dir, 'countersign.yaml'), 'utf8');
      assert.match(config, new RegExp(`engine: ${engine.name}`));
      assert.match(config, new RegExp(`installationId: ${r.installationId}`));
      if (databaseUrl) {
        // The URL is recorded, its password is not: it sits in a 0600 file beside the keys.
        const password = new URL(databaseUrl).password;
        assert.ok(password, 'the test database URL carries a password');
        assert.ok(!config.includes(`:${password}@`) && !/password: "(?!\$\{env:)/.test(config), 'a clear password in countersign.yaml');
        assert.match(config, /url: "postgres:\/\/countersign@/);
        assert.equal(statSync(join(dir, 'keys', 'database.password')).mode & 0o777, 0o600);
        assert.equal(readFileSync(join(dir, 'keys', 'database.password'), 'utf8').trim(), password);
      }

      const server = await startServe(dir, [], { COUNTERSIGN_DATABASE_URL: undefined });
      try {
        assert.match(server.output(), new RegExp(`"store": "${engine.name}"`));
        const whoami = await fetch(`${server.url}/v1/whoami`, { headers: { authorization: `Bearer ${r.adminKey}` } });
        assert.equal(whoami.status, 200, await whoami.text());
        // The example tools are trusted in this store (a wrong store would refuse them).
        const plan = await fetch(`${server.url}/v1/plans`, {
          method: 'POST',
          headers: { authorization: `Bearer ${r.adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ intent: 'hi', environment: 'dev', steps: [{ tool: 'echo', action: 'say', input: { message: 'hi' } }] }),
        });
        assert.equal(plan.status, 201, await plan.text());
      } finally {
        assert.equal(await server.stop(), 0, server.output());
      }

      // serve's API and executor close their SQLite connections at the same moment, so neither may
      // be the last to close and the WAL can stay behind; the next connection's close folds it in.
      // One read first, so the listing compared below is the store at rest.
      assert.equal((await cli(['audit', 'verify', '--dir', dir])).code, 0);
      const before = listing(dir);
      const verify = await cli(['audit', 'verify', '--dir', dir]);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout, /^OK: audit log intact/);
      const doctor = await cli(['doctor', '--dir', dir, '--json']);
      assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
      assert.equal(JSON.parse(doctor.stdout).store, engine.name);
      assert.deepEqual(listing(dir), before, 'read commands changed the data directory');
      if (databaseUrl) assert.ok(!existsSync(join(dir, 'countersign.db')), 'a PostgreSQL directory grew a SQLite file');
    });

    test('doctor and audit verify on a missing or empty directory fail as not initialized and create nothing', async () => {
      const root = newRoot();
      const missing = join(root, 'missing');
      const empty = join(root, 'empty');
      mkdirSync(empty);
      for (const dir of [missing, empty]) {
        for (const args of [['doctor'], ['audit', 'verify'], ['audit', 'export']]) {
          const res = await cli([...args, '--dir', dir]);
          assert.equal(res.code, 3, `${args.join(' ')}: ${res.stderr}`);
          assert.match(res.stderr, /NOT_INITIALIZED/);
          assert.match(res.stderr, /countersign init/);
        }
      }
      assert.equal(existsSync(missing), false);
      assert.deepEqual(listing(empty), []);
    });
  });
}

describe('a SQLite directory is bound to its own file', () => {
  test('a SQLite directory refuses a PostgreSQL URL from the flag or the environment, and touches nothing there', {
    skip: !PG_URL,
  }, async () => {
    const dir = join(newRoot(), 'data');
    const r = await init(dir, undefined);
    const other = await freshPg();
    for (const args of [
      ['audit', 'verify', '--dir', dir, '--database-url', other],
      ['doctor', '--dir', dir, '--database-url', other],
    ]) {
      const res = await cli(args);
      assert.equal(res.code, 3, res.stderr);
      assert.match(res.stderr, /STORE_BINDING_MISMATCH/);
      assert.match(res.stderr, new RegExp(`bound to its embedded SQLite store \\(installation ${r.installationId}\\)`));
      assert.ok(!res.stderr.includes(`:${new URL(other).password}@`), 'the message must not show the password');
    }
    const refused = await runCli(['doctor', '--dir', dir], { env: { COUNTERSIGN_DATABASE_URL: other } });
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /STORE_BINDING_MISMATCH/);
    const serve = await serveRefusal(dir, ['--database-url', other]);
    assert.equal(serve.code, 3, serve.output);
    assert.match(serve.output, /STORE_BINDING_MISMATCH/);
    assert.deepEqual(await pgTables(other), [], 'serve migrated a database that is not its store');
  });

  test('a missing store is an error naming init; no command recreates it, serve included', async () => {
    const dir = join(newRoot(), 'data');
    await init(dir, undefined);
    rmSync(join(dir, 'countersign.db'));
    const before = listing(dir);
    for (const args of [['doctor'], ['audit', 'verify']]) {
      const res = await cli([...args, '--dir', dir]);
      assert.equal(res.code, 3, res.stderr);
      assert.match(res.stderr, /the store of .* is missing .*countersign\.db/);
    }
    const serve = await serveRefusal(dir);
    assert.equal(serve.code, 3, serve.output);
    assert.match(serve.output, /NOT_INITIALIZED/);
    assert.deepEqual(listing(dir), before);
  });

  test('another installation’s SQLite file copied in is refused, and so is editing the binding out of the config', async () => {
    const a = join(newRoot(), 'data');
    const b = join(newRoot(), 'data');
    const ra = await init(a, undefined);
    const rb = await init(b, undefined);
    writeFileSync(join(a, 'countersign.db'), readFileSync(join(b, 'countersign.db')));
    const res = await cli(['audit', 'verify', '--dir', a]);
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, new RegExp(`bound to installation ${ra.installationId}.*holds installation ${rb.installationId}`));
    // Without engine and installationId the directory looks like one made before bindings; the
    // store still names its own installation, so it is refused all the same.
    const file = join(a, 'countersign.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace(/^ {2}engine: .*\n/m, '')
        .replace(/^ {2}installationId: .*\n/m, ''),
    );
    const unbound = await cli(['doctor', '--dir', a]);
    assert.equal(unbound.code, 3, unbound.stderr);
    assert.match(unbound.stderr, new RegExp(`belongs to installation ${rb.installationId}`));
  });
});

describe('a PostgreSQL directory is bound to its database', { skip: !PG_URL }, () => {
  test('refuses another database (empty, or another installation’s) and never migrates it', async () => {
    const dir = join(newRoot(), 'data');
    const r = await init(dir, await freshPg());
    const empty = await freshPg();
    const res = await cli(['audit', 'verify', '--dir', dir, '--database-url', empty]);
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, new RegExp(`bound to installation ${r.installationId} \\(PostgreSQL postgres://countersign@`));
    assert.match(res.stderr, /holds no Countersign installation/);
    const serve = await serveRefusal(dir, ['--database-url', empty]);
    assert.equal(serve.code, 3, serve.output);
    assert.deepEqual(await pgTables(empty), [], 'a refused serve created tables');

    const otherDir = join(newRoot(), 'data');
    const otherUrl = await freshPg();
    const other = await init(otherDir, otherUrl);
    const cross = await runCli(['doctor', '--dir', dir], { env: { COUNTERSIGN_DATABASE_URL: otherUrl } });
    assert.equal(cross.code, 3, cross.stderr);
    assert.match(cross.stderr, new RegExp(`holds installation ${other.installationId}`));
    // init itself refuses a database that already belongs to an installation.
    const again = await runCli(['init', '--dir', join(newRoot(), 'data'), '--database-url', otherUrl]);
    assert.equal(again.code, 3, again.stderr);
    assert.match(again.stderr, new RegExp(`already belongs to installation ${other.installationId}`));
  });

  test('does not fall back to SQLite: without its URL or with the engine edited it refuses and creates no file', async () => {
    const dir = join(newRoot(), 'data');
    await init(dir, await freshPg());
    const file = join(dir, 'countersign.yaml');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace(/^ {2}url: .*\n/m, '  url: ""\n'));
    const noUrl = await cli(['doctor', '--dir', dir]);
    assert.equal(noUrl.code, 3, noUrl.stderr);
    assert.match(noUrl.stderr, /bound to a PostgreSQL store .* but no URL is set/);
    writeFileSync(file, original.replace(/^ {2}engine: postgres/m, '  engine: sqlite').replace(/^ {2}(url|passwordFile): .*\n/gm, ''));
    const asSqlite = await cli(['audit', 'verify', '--dir', dir]);
    assert.equal(asSqlite.code, 3, asSqlite.stderr);
    assert.match(asSqlite.stderr, /NOT_INITIALIZED/);
    assert.ok(!existsSync(join(dir, 'countersign.db')));
  });

  test('--database-password-env records ${env:NAME}: nothing secret on disk, and the variable is required', async () => {
    const url = new URL(await freshPg());
    const password = url.password;
    url.password = '';
    const dir = join(newRoot(), 'data');
    await init(dir, url.toString(), ['--database-password-env', 'CS_TEST_DB_PASSWORD'], { CS_TEST_DB_PASSWORD: password });
    const config = readFileSync(join(dir, 'countersign.yaml'), 'utf8');
    assert.match(config, /password: "\$\{env:CS_TEST_DB_PASSWORD\}"/);
    assert.ok(!config.includes(`:${password}@`) && !config.includes(`"${password}"`));
    assert.ok(!existsSync(join(dir, 'keys', 'database.password')));
    const without = await cli(['audit', 'verify', '--dir', dir]);
    assert.equal(without.code, 3, without.stderr);
    assert.match(without.stderr, /CS_TEST_DB_PASSWORD is not set/);
    const withIt = await cli(['audit', 'verify', '--dir', dir], { CS_TEST_DB_PASSWORD: password });
    assert.equal(withIt.code, 0, withIt.stderr);
  });

  test('a clear password written into countersign.yaml, or a password file others can read, is refused', async () => {
    const databaseUrl = await freshPg();
    const dir = join(newRoot(), 'data');
    await init(dir, databaseUrl);
    const file = join(dir, 'countersign.yaml');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace(/^ {2}url: .*\n/m, `  url: "${databaseUrl}"\n`));
    const inUrl = await cli(['doctor', '--dir', dir]);
    assert.equal(inUrl.code, 3, inUrl.stderr);
    assert.match(inUrl.stderr, /database\.url holds a password in clear/);
    writeFileSync(file, original.replace(/^ {2}passwordFile: .*\n/m, `  password: "${new URL(databaseUrl).password}"\n`));
    const inField = await cli(['doctor', '--dir', dir]);
    assert.equal(inField.code, 3, inField.stderr);
    assert.match(inField.stderr, /database\.password must be a reference/);
    writeFileSync(file, original);
    chmodSync(join(dir, 'keys', 'database.password'), 0o644);
    const loose = await cli(['audit', 'verify', '--dir', dir]);
    assert.equal(loose.code, 3, loose.stderr);
    assert.match(loose.stderr, /readable by others; run `chmod 600/);
  });
});
