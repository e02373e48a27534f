// A high-risk plan's grant waits for the witnesses (issue 17): the plan runs only once the audit
// entries that decided it are in a checkpoint the log signed and a quorum of trusted witnesses
// cosigned. The server pushes checkpoints to a real witness over HTTP; a witness that refuses,
// a forged or unsigned "witnessed" row written straight into the database, or a genuine but
// older witnessed checkpoint does not release the grant. Both engines.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { AuditTreeBuilder, cosign, signCheckpoint, verifyCosignature } from '../../src/audit/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { auditNoteSigner, auditVerifierKey } from '../../src/server/audit-signer.ts';
import { initWitness, trustLog, Witness, witnessServer } from '../../src/witness/index.ts';
import { runCli } from '../support/cli.ts';
import { ENGINES } from '../support/engines.ts';
import { addPrincipal } from '../support/principals.ts';
import { rawSql } from '../support/raw-db.ts';
import { echoPlan, startTestServer, type TestServer, tempDir } from '../support/server.ts';

for (const engine of ENGINES) {
  describe(`grants of held plans wait for the witnesses (${engine.name})`, () => {
    let s: TestServer;
    let witness: Witness;
    let server: Server;
    let logKey = '';
    const wdir = join(tempDir('cs-hold-witness-'), 'w');
    const reviewers: { id: string; key: string }[] = [];
    // The witness forgets the log: it answers 404 and cosigns nothing.
    const distrust = () => writeFileSync(join(wdir, 'logs.json'), '{}\n');

    before(async () => {
      initWitness(wdir, 'witness.test/hold');
      witness = new Witness(wdir);
      server = witnessServer(witness);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      s = await startTestServer(engine, {
        configure: (dir) => {
          logKey = auditVerifierKey(dir, loadConfig(dir));
          const file = join(dir, 'countersign.yaml');
          const doc = parseDocument(readFileSync(file, 'utf8'));
          // echo plans are medium in prod: hold those (no step-up involved at medium risk).
          doc.setIn(['audit', 'witnesses'], [{ url, key: witness.key }]);
          doc.setIn(['audit', 'holdGrantsForRisks'], ['medium', 'high', 'critical']);
          doc.setIn(['audit', 'witnessEverySeconds'], 3600);
          writeFileSync(file, doc.toString());
        },
      });
      reviewers.push(await addPrincipal(s, 'alice', 'human', ['approvers']), await addPrincipal(s, 'bob', 'human', ['approvers']));
    });
    after(async () => {
      await s?.close();
      await new Promise((r) => server?.close(r));
      rmSync(dirname(wdir), { recursive: true, force: true });
    });

    /** A prod plan (medium risk), approved by both reviewers. */
    const approvedProdPlan = async (message: string) => {
      const plan = (await s.request('POST', '/v1/plans', { body: echoPlan(message, 'prod') })).body as {
        id: string;
        hash: string;
        risk: string;
      };
      assert.equal(plan.risk, 'medium');
      for (const r of reviewers) {
        const res = await s.request('POST', `/v1/plans/${plan.id}/approvals`, {
          key: r.key,
          body: { decision: 'approve', planHash: plan.hash },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      return plan;
    };
    const execute = (planId: string) => s.request('POST', `/v1/plans/${planId}/executions`, { body: {} });

    test('no witness cosigns: the grant waits (WITNESS_PENDING, audited); once one does, the plan runs', async () => {
      const plan = await approvedProdPlan('held');
      const publisher = s.ctx.publisher;
      assert.ok(publisher);
      const refused = await publisher.kick();
      assert.equal(refused?.witnessed, false);
      assert.match(refused?.refused[0]?.reason ?? '', /HTTP 404: unknown log/);
      const pending = await execute(plan.id);
      assert.equal(pending.status, 409, JSON.stringify(pending.body));
      assert.equal(pending.body.error.code, 'WITNESS_PENDING');
      assert.equal(pending.body.error.details.witnessed, 0);
      const denied = await rawSql(
        s,
        "select details from audit_log where action = 'plan.execute' and outcome = 'denied' and resource = ?",
        [`plan:${plan.id}`],
      );
      assert.equal(JSON.parse(denied[0].details).code, 'WITNESS_PENDING');
      assert.equal((await s.request('GET', `/v1/plans/${plan.id}`)).body.status, 'approved');

      // A low-risk dev plan is not held.
      const dev = (await s.request('POST', '/v1/plans', { body: echoPlan('not held') })).body as { id: string; status: string };
      assert.equal(dev.status, 'approved');
      assert.equal((await execute(dev.id)).status, 201);

      trustLog(wdir, logKey);
      const done = await publisher.kick();
      assert.equal(done?.witnessed, true);
      assert.deepEqual(done?.cosignedBy, ['witness.test/hold']);
      const stored = (await s.ctx.store.witnessed.latest(1))[0];
      assert.ok(stored && stored.size === done?.size);
      assert.ok(verifyCosignature(stored.note, witness.key).time > 0);
      const ran = await execute(plan.id);
      assert.equal(ran.status, 201, JSON.stringify(ran.body));
      // The append-only file holds the signed head too.
      assert.match(readFileSync(join(s.dir, 'audit-checkpoints'), 'utf8'), new RegExp(`\\n${done?.size}\\n`));
    });

    test('forged, unsigned or older "witnessed" rows written into the database release nothing', async () => {
      distrust();
      const plan = await approvedProdPlan('forged');
      const genuineOld = (await s.ctx.store.witnessed.latest(1))[0];
      assert.ok(genuineOld);
      // Rebuild the real tree as a database writer could, to sign checkpoints of the right size and root.
      const builder = new AuditTreeBuilder();
      for await (const e of s.ctx.store.iterateAuditForVerification()) builder.add(e);
      const size = builder.size;
      const real = auditNoteSigner(s.dir, loadConfig(s.dir));
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const impostor = { ...real, privateKey, publicKey };
      const fakeWitness = generateKeyPairSync('ed25519');
      const bodyOf = (note: string) => note.slice(0, note.indexOf('\n\n') + 1);
      const fakeCosig = (note: string) =>
        cosign(bodyOf(note), 'witness.test/hold', fakeWitness.privateKey, fakeWitness.publicKey, Math.floor(Date.now() / 1000));
      const forgedLog = signCheckpoint(builder.tree, size, impostor);
      const genuineUncosigned = signCheckpoint(builder.tree, size, real);
      for (const [n, note] of [
        [size + 1000, `${forgedLog}${fakeCosig(forgedLog)}`], // not signed by this log
        [size + 2000, genuineUncosigned], // the log's, but no witness
        [size + 3000, `${genuineUncosigned}${fakeCosig(genuineUncosigned)}`], // a witness name with another key
      ] as const) {
        await s.ctx.store.witnessed.insert({ size: n, note, witnesses: ['witness.test/hold'], createdAt: new Date().toISOString() });
      }
      const res = await execute(plan.id);
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'WITNESS_PENDING');
      // Only the genuine, older checkpoint counts, and it does not cover these approvals.
      assert.equal(res.body.error.details.witnessed, genuineOld.size);
      assert.ok(res.body.error.details.needed > genuineOld.size);
      await rawSql(s, 'delete from witnessed_checkpoints where size > ?', [genuineOld.size]);
      trustLog(wdir, logKey);
    });

    test('`countersign execute` waits for the cosignature with a progress line, then runs', async () => {
      distrust();
      const plan = await approvedProdPlan('cli waits');
      const env = { COUNTERSIGN_SERVER: s.url, COUNTERSIGN_TOKEN: s.init.adminKey };
      const run = runCli(['execute', plan.id, '--witness-timeout', '30'], { env });
      await new Promise((r) => setTimeout(r, 1500));
      trustLog(wdir, logKey);
      const r = await run;
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stderr, /Waiting for the witnesses to cosign the approvals of this plan/);
      assert.match(r.stdout, /Execution exe_[0-9a-z]+ is queued/);
    });
  });
}
