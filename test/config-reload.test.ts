// SIGHUP for countersign.yaml and the playbooks (issues 16 and 15): what may change at run time
// applies at once (request budgets, alert sources and their secrets), a changed setting that
// needs a restart is reported and left alone while the rest applies, a file that does not load
// or a secret that cannot be read changes nothing, a playbook set with one bad playbook is
// refused whole, every reload is audited as a host operation, and no one but the host may ask.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { SettingsReloader } from '../src/server/settings-reload.ts';
import { amPayload, configureAlerts, crashLabels, postAm, restartPlaybook, SECRETS } from './support/alerts.ts';
import { ENGINES } from './support/engines.ts';
import { rawSql } from './support/raw-db.ts';
import { startTestServer, type TestServer, tempDir } from './support/server.ts';
import { signManifestFile } from './support/tools.ts';

const sqlite = ENGINES.find((e) => e.name === 'sqlite')!;

describe('config and playbooks reloaded on SIGHUP', () => {
  let s: TestServer;
  let reloader: SettingsReloader;
  const lines: string[] = [];
  const secretFile = join(tempDir('cs-reload-secret-'), 'am-token');
  const configFile = () => join(s.dir, 'countersign.yaml');
  const edit = (change: (doc: ReturnType<typeof parseDocument>) => void) => {
    const doc = parseDocument(readFileSync(configFile(), 'utf8'));
    change(doc);
    writeFileSync(configFile(), doc.toString());
  };
  const writeSecret = (value: string) => {
    writeFileSync(secretFile, `${value}\n`, { mode: 0o600 });
    chmodSync(secretFile, 0o600);
  };
  const entries = (action: string) =>
    rawSql(s, 'select outcome, details from audit_log where action = ? order by seq', [action]).then((rows) =>
      rows.map((r) => ({ outcome: String(r.outcome), details: JSON.parse(String(r.details)) })),
    );
  const crash = (alertname: string, fingerprint: string) =>
    amPayload(`{}:{alertname="${alertname}",fp="${fingerprint}"}`, [{ alertname, fingerprint, labels: crashLabels() }]);

  before(async () => {
    writeSecret('am-token-first-0123456789');
    s = await startTestServer(sqlite, {
      rateLimit: true,
      env: { ...process.env, ...SECRETS },
      configure: (dir) => {
        configureAlerts(dir, null, { 'restart.yaml': restartPlaybook('restart-crashloop', 'KubePodCrashLooping') });
        const file = join(dir, 'countersign.yaml');
        const doc = parseDocument(readFileSync(file, 'utf8'));
        doc.setIn(['alerts', 'sources', 0, 'secrets'], [`file:${secretFile}`]);
        writeFileSync(file, doc.toString());
      },
    });
    reloader = new SettingsReloader({ pipeline: s.ctx.pipeline, log: (l) => lines.push(l) });
  });
  after(async () => {
    await s?.close();
    rmSync(secretFile, { force: true });
  });

  test('a lowered per-principal budget applies at once, and the reload is audited as a host operation', async () => {
    edit((d) => d.setIn(['rateLimit', 'perPrincipalPerMinute'], 3));
    const out = await reloader.reload();
    assert.deepEqual(out.config, { ok: true, applied: ['rateLimit.perPrincipalPerMinute'], restartNeeded: [] });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await s.request('GET', '/v1/whoami')).status);
    assert.deepEqual(codes, [200, 200, 200, 429]);
    const [entry] = (await entries('config.reload')).filter((e) => e.outcome === 'allowed');
    assert.deepEqual(entry?.details.applied, ['rateLimit.perPrincipalPerMinute']);
    edit((d) => d.setIn(['rateLimit', 'perPrincipalPerMinute'], 6000));
    assert.equal((await reloader.reload()).config.ok, true);
    assert.equal((await s.request('GET', '/v1/whoami')).status, 200);
  });

  test('a changed setting that needs a restart is refused with a log line, and the rest still applies', async () => {
    edit((d) => {
      d.setIn(['server', 'port'], 7999);
      d.setIn(['developmentMode'], true);
      d.setIn(['rateLimit', 'perAddressPerMinute'], 11000);
    });
    const out = await reloader.reload();
    assert.deepEqual(out.config, {
      ok: true,
      applied: ['rateLimit.perAddressPerMinute'],
      restartNeeded: ['developmentMode', 'server.port'],
    });
    assert.ok(
      lines.some((l) => /NOT applied, these need a restart.*developmentMode, server\.port/.test(l)),
      lines.join('\n'),
    );
    edit((d) => {
      d.setIn(['server', 'port'], s.ctx.config.server.port);
      d.setIn(['developmentMode'], false);
    });
    assert.deepEqual((await reloader.reload()).config, { ok: true, applied: [], restartNeeded: [] });
  });

  test('a rotated source secret file is picked up: the old secret is refused, the new one accepted', async () => {
    assert.equal((await postAm(s, crash('Unmatched', 'r1'), 'am-token-first-0123456789')).status, 202);
    writeSecret('am-token-second-0123456789');
    assert.equal((await reloader.reload()).config.ok, true);
    assert.equal((await postAm(s, crash('Unmatched', 'r2'), 'am-token-first-0123456789')).status, 401);
    assert.equal((await postAm(s, crash('Unmatched', 'r3'), 'am-token-second-0123456789')).status, 202);
  });

  test('a file that does not load, or a secret that cannot be read, changes nothing and is audited failed', async () => {
    const good = readFileSync(configFile(), 'utf8');
    writeFileSync(configFile(), `${good}\nrateLimit: [\n`);
    const broken = await reloader.reload();
    assert.equal(broken.config.ok, false);
    writeFileSync(configFile(), good);
    // Valid YAML, but its secret file is readable by everyone: refused whole, the budget change too.
    edit((d) => d.setIn(['rateLimit', 'perPrincipalPerMinute'], 1));
    chmodSync(secretFile, 0o644);
    const unreadable = await reloader.reload();
    chmodSync(secretFile, 0o600);
    assert.equal(unreadable.config.ok, false);
    assert.match(unreadable.config.ok ? '' : unreadable.config.reasons.join(' '), /am-token/);
    assert.ok(lines.some((l) => l.startsWith('config reload REFUSED, previous settings kept')));
    // The previous settings serve: the budget of 6,000 and the second secret.
    for (let i = 0; i < 3; i++) assert.equal((await s.request('GET', '/v1/whoami')).status, 200);
    assert.equal((await postAm(s, crash('Unmatched', 'r4'), 'am-token-second-0123456789')).status, 202);
    assert.equal((await entries('config.reload')).filter((e) => e.outcome === 'failed').length, 2);
    edit((d) => d.setIn(['rateLimit', 'perPrincipalPerMinute'], 6000));
  });

  test('a new signed playbook loads on reload; a set with one unsigned playbook is refused whole and the old set serves', async () => {
    const added = join(s.dir, 'playbooks', 'oom.yaml');
    writeFileSync(added, restartPlaybook('restart-oom', 'KubeOOMKilled'));
    signManifestFile(s.dir, added);
    const out = await reloader.reload();
    assert.deepEqual(out.playbooks, { ok: true, playbooks: ['restart-oom', 'restart-crashloop'] }, 'in file name order');
    const proposed = await postAm(s, crash('KubeOOMKilled', 'o1'), 'am-token-second-0123456789');
    assert.equal(proposed.body.proposed[0]?.playbook, 'restart-oom', JSON.stringify(proposed.body));

    // An attacker who can write the directory but holds no trusted key.
    writeFileSync(join(s.dir, 'playbooks', 'evil.yaml'), restartPlaybook('restart-evil', 'KubeEvil'));
    const refused = await reloader.reload();
    assert.equal(refused.playbooks.ok, false);
    assert.match(refused.playbooks.ok ? '' : refused.playbooks.reasons.join(' '), /evil\.yaml/);
    const denied = (await entries('playbook.reload')).filter((e) => e.outcome === 'denied');
    assert.equal(denied.length, 1);
    assert.equal((await postAm(s, crash('KubeEvil', 'e1'), 'am-token-second-0123456789')).body.proposed.length, 0);
    assert.equal((await postAm(s, crash('KubeOOMKilled', 'o2'), 'am-token-second-0123456789')).body.proposed[0]?.playbook, 'restart-oom');
    rmSync(join(s.dir, 'playbooks', 'evil.yaml'));
  });

  test('only the host may reload: an admin over the API channel is refused and audited', async () => {
    const admin = (await s.request('GET', '/v1/whoami')).body;
    const principal = {
      tenantId: admin.tenantId,
      id: admin.id,
      name: admin.name,
      kind: 'human' as const,
      groups: ['admin'],
      authMethod: 'api_key' as const,
    };
    for (const op of ['config.reload', 'playbook.reload']) {
      await assert.rejects(
        s.ctx.pipeline.run(op, principal, { process: 'api' }, 'api'),
        (e: Error & { code?: string }) => e.code === 'POLICY_DENIED',
      );
    }
  });
});
