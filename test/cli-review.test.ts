// Reviewing through the CLI: principals and keys, the inbox, approve/reject bound to the hash shown.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { type Confirm, registerApprovals } from '../src/cli/commands/approvals.ts';
import { type Io, reportError } from '../src/cli/output.ts';
import { sha256Hex } from '../src/plans/document.ts';
import { runCli } from './support/cli.ts';
import { ENGINES } from './support/engines.ts';
import { rawSql } from './support/raw-db.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const engine = ENGINES[0]!;

/** The review commands in this process, with a stand-in for the terminal prompt. */
async function reviewInProcess(args: string[], confirm: Confirm | null) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), isTty: true };
  const program = new Command('countersign').exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  registerApprovals(program, io, confirm);
  const saved = process.exitCode;
  process.exitCode = undefined;
  let code: number;
  try {
    await program.parseAsync(args, { from: 'user' });
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    code = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : reportError(io, false, e);
  } finally {
    process.exitCode = saved;
  }
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('countersign review commands against a real server (SQLite)', () => {
  let s: TestServer;
  let alice: { id: string; key: string; keyId: string };
  let bot: { id: string; key: string; keyId: string };
  let planId = '';
  let planHash = '';
  const as = (key: string) => ({ COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: key });
  const admin = () => as(s.init.adminKey);

  before(async () => {
    s = await startTestServer(engine);
  });
  after(async () => s?.close());

  test('principal add prints the new key once with a warning; list shows both principals', async () => {
    const [human, agent] = await Promise.all([
      runCli(['principal', 'add', 'alice', '--kind', 'human', '--group', 'approvers', '--group', 'operator'], { env: admin() }),
      runCli(['principal', 'add', 'deploy-bot', '--kind', 'agent', '--group', 'agent', '--json'], { env: admin() }),
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /alice \(human\)\s+groups: approvers, operator/);
    assert.match(human.stdout, /shown once/);
    const key = /^\s+(csk_\S+)$/m.exec(human.stdout)?.[1];
    assert.ok(key, human.stdout);
    const keyId = /API key (key_\S+) for alice/.exec(human.stdout)?.[1];
    const id = /^Created (prn_\S+)/m.exec(human.stdout)?.[1];
    assert.ok(keyId && id, human.stdout);
    alice = { id, key, keyId };

    assert.equal(agent.code, 0, agent.stderr);
    const a = JSON.parse(agent.stdout);
    assert.equal(a.kind, 'agent');
    assert.deepEqual(a.groups, ['agent']);
    assert.match(a.key, /^csk_/);
    bot = { id: a.id, key: a.key, keyId: a.keyId };

    const [listed, keys, badKind] = await Promise.all([
      runCli(['principal', 'list', '--json'], { env: admin() }),
      runCli(['key', 'list', '--principal', alice.id], { env: admin() }),
      runCli(['principal', 'add', 'carol', '--kind', 'robot'], { env: admin() }),
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    const names = JSON.parse(listed.stdout).principals.map((p: { name: string }) => p.name);
    assert.ok(names.includes('alice') && names.includes('deploy-bot'), names.join(','));
    // The secret is never shown again: not in the list of principals nor in the list of keys.
    assert.ok(!listed.stdout.includes(alice.key.slice(-20)));
    assert.equal(keys.code, 0, keys.stderr);
    assert.match(keys.stdout, new RegExp(`${alice.keyId}\\s+active`));
    assert.ok(!keys.stdout.includes(alice.key.slice(-20)));
    assert.equal(badKind.code, 2);
    assert.match(badKind.stderr, /--kind must be human or agent/);
  });

  test('an agent proposes a staging plan and it appears in the approver’s inbox', async () => {
    const body = JSON.stringify({
      intent: 'Greet staging',
      environment: 'staging',
      steps: [{ tool: 'echo', action: 'say', input: { message: 'hi staging' } }],
    });
    const proposed = await runCli(['plan', 'propose', '-', '--json'], { env: as(bot.key), input: body });
    assert.equal(proposed.code, 0, proposed.stderr);
    const plan = JSON.parse(proposed.stdout);
    assert.equal(plan.status, 'pending_approval');
    planId = plan.id;
    planHash = plan.hash;

    const [inbox, inboxJson, botInbox] = await Promise.all([
      runCli(['approvals'], { env: as(alice.key) }),
      runCli(['approvals', '--json'], { env: as(alice.key) }),
      runCli(['approvals'], { env: as(bot.key) }),
    ]);
    assert.equal(inbox.code, 0, inbox.stderr);
    assert.match(inbox.stdout, /ID\s+ENV\s+RISK\s+PROPOSER\s+NEEDS\s+INTENT/);
    assert.match(inbox.stdout, new RegExp(`${planId}\\s+staging\\s+low\\s+deploy-bot\\s+1 approvers\\s+Greet staging`));
    assert.deepEqual(
      JSON.parse(inboxJson.stdout).plans.map((p: { id: string }) => p.id),
      [planId],
    );
    assert.equal(botInbox.code, 0, botInbox.stderr);
    assert.match(botInbox.stdout, /Nothing to review/);
  });

  test('approve refuses without a terminal unless --yes; the agent is refused; reject needs --reason', async () => {
    const [noYes, agentApprove, noReason, help] = await Promise.all([
      runCli(['approve', planId], { env: as(alice.key) }),
      runCli(['approve', planId, '--yes'], { env: as(bot.key) }),
      runCli(['reject', planId, '--yes'], { env: as(alice.key) }),
      runCli(['approve', '--help']),
    ]);
    assert.equal(noYes.code, 2, noYes.stderr);
    assert.match(noYes.stderr, /pass --yes/);
    // The summary was shown, and nothing was recorded.
    assert.match(noYes.stdout, new RegExp(planHash));
    assert.equal(agentApprove.code, 5, agentApprove.stderr);
    assert.match(agentApprove.stderr, /POLICY_DENIED|SELF_APPROVAL/);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:/);
    const shown = await s.request('GET', `/v1/plans/${planId}`);
    assert.equal(shown.body.status, 'pending_approval');
    assert.equal(shown.body.approvals.length, 0);
  });

  test('approve --yes shows hash, risk reasons and steps, then sends that hash through the cli channel', async () => {
    const r = await runCli(['approve', planId, '--yes', '--comment', 'looks right'], { env: as(alice.key) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`hash:\\s+${planHash}`));
    assert.match(r.stdout, /risk:\s+low\n\s+- step 1: echo\.say base low/);
    assert.match(r.stdout, /1\. echo\.say/);
    assert.match(r.stdout, /hi staging/);
    assert.match(r.stdout, /intent:\s+Greet staging/);
    assert.match(r.stdout, /still needed: needs 1 more approval from group approvers/);
    assert.match(r.stdout, /Approval recorded\. Plan \S+ is now approved\./);
    const shown = await s.request('GET', `/v1/plans/${planId}`);
    assert.equal(shown.body.status, 'approved');
    assert.equal(shown.body.approvals[0].planHash, planHash);
    assert.equal(shown.body.approvals[0].channel, 'cli');
    assert.equal(shown.body.approvals[0].comment, 'looks right');

    // Reviewing a plan that is no longer pending fails before asking, with the conflict code.
    const again = await runCli(['reject', planId, '--reason', 'too late', '--yes', '--json'], { env: as(alice.key) });
    assert.equal(again.code, 7, again.stderr);
    assert.equal(JSON.parse(again.stderr.trim().split('\n').at(-1) ?? '{}').error.code, 'PLAN_INVALID_TRANSITION');
  });

  const propose = async (intent: string) => {
    const r = await s.request('POST', '/v1/plans', {
      key: bot.key,
      body: { intent, environment: 'staging', steps: [{ tool: 'echo', action: 'say', input: { message: intent } }] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };

  test('on a terminal approve asks first; "no" records nothing; the hash sent is the one shown, never re-fetched', async () => {
    const id = await propose('ask me first');
    const remote = ['--server', s.url, '--token', alice.key];
    const questions: string[] = [];
    const declined = await reviewInProcess(['approve', id, ...remote], async (q) => {
      questions.push(q);
      return false;
    });
    assert.equal(declined.code, 1, declined.stderr);
    assert.match(declined.stderr, /Not sent/);
    const shown = await s.request('GET', `/v1/plans/${id}`);
    assert.match(questions[0] ?? '', new RegExp(`^Approve plan ${id} at hash ${shown.body.hash.slice(0, 12)}…\\? \\[y/N\\] $`));
    assert.equal(shown.body.approvals.length, 0);

    // While the reviewer reads the prompt, the stored plan becomes a different, self-consistent
    // plan: a CLI that re-fetched would approve what was never shown. It must send the old hash.
    const swapped = await reviewInProcess(['approve', id, ...remote], async () => {
      const [row] = await rawSql(s, 'select document from plans where id = ?', [id]);
      const document = String(row.document).replace('ask me first', 'rm everything');
      await rawSql(s, 'update plans set document = ?, hash = ? where id = ?', [document, sha256Hex(document), id]);
      return true;
    });
    assert.equal(swapped.code, 7, swapped.stderr);
    assert.match(swapped.stderr, /PLAN_HASH_MISMATCH/);
    assert.match(swapped.stdout, /ask me first/);
    assert.equal((await s.request('GET', `/v1/plans/${id}`)).body.status, 'pending_approval');
  });

  test('reject --json prints the server answer; cancel records its reason', async () => {
    const [toReject, toCancel] = await Promise.all([propose('reject me'), propose('cancel me')]);
    const [rejected, cancelled] = await Promise.all([
      runCli(['reject', toReject, '--reason', 'wrong target', '--yes', '--json'], { env: as(alice.key) }),
      runCli(['cancel', toCancel, '--reason', 'superseded'], { env: as(alice.key) }),
    ]);
    assert.equal(rejected.code, 0, rejected.stderr);
    const answer = JSON.parse(rejected.stdout);
    assert.equal(answer.plan.status, 'rejected');
    assert.equal(answer.tally.rejectedBy, alice.id);
    assert.match(rejected.stderr, /hash:/, 'with --json the summary goes to stderr');
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, /Cancelled plan \S+: superseded/);
  });

  test('key create prints a new key once; key revoke makes the old one unauthenticated (exit 4)', async () => {
    const created = await runCli(['key', 'create', '--principal', bot.id, '--description', 'rotation', '--json'], { env: admin() });
    assert.equal(created.code, 0, created.stderr);
    const newKey = JSON.parse(created.stdout);
    assert.match(newKey.key, /^csk_/);
    const revoked = await runCli(['key', 'revoke', bot.keyId], { env: admin() });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`Revoked key ${bot.keyId}`));
    const oldKey = await runCli(['plan', 'list'], { env: as(bot.key) });
    assert.equal(oldKey.code, 4, oldKey.stderr);
    assert.match(oldKey.stderr, /hint:/);
    assert.equal((await s.request('GET', '/v1/plans', { key: newKey.key })).status, 200);
  });

  test('principal disable stops its keys; enable restores them', async () => {
    const disabled = await runCli(['principal', 'disable', alice.id], { env: admin() });
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /DISABLED/);
    assert.equal((await s.request('GET', '/v1/approvals', { key: alice.key })).status, 401);
    const enabled = await runCli(['principal', 'enable', alice.id, '--json'], { env: admin() });
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal(JSON.parse(enabled.stdout).disabled, false);
    assert.equal((await s.request('GET', '/v1/approvals', { key: alice.key })).status, 200);
  });
});
