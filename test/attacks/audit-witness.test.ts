// A witness (C2SP tlog-witness) cosigns audit checkpoints only when they extend the one it
// cosigned before: the log hands it checkpoints with consistency proofs over real HTTP, proofs
// then carry its cosignature, and a log that shows another history is refused with the
// protocol's status codes, even when every note is signed with the real audit key.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { leafHash, MerkleTree, signCheckpoint, verifyCosignature } from '../../src/audit/index.ts';
import { initWitness, trustLog, Witness, witnessServer } from '../../src/witness/index.ts';
import { runCli } from '../support/cli.ts';
import { ENGINES } from '../support/engines.ts';
import { echoPlan, startTestServer, type TestServer, tempDir } from '../support/server.ts';

const sqlite = ENGINES.find((e) => e.name === 'sqlite');

describe('audit checkpoints cosigned by a witness', () => {
  let s: TestServer;
  let logKey: string;
  let witness: Witness;
  let server: Server;
  let url: string;
  const wdir = join(tempDir('cs-witness-'), 'w');
  const out = tempDir('cs-witness-proofs-');
  const cli = (...args: string[]) => runCli([...args, '--dir', s.dir]);
  const post = async (body: string) => {
    const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };

  before(async () => {
    assert.ok(sqlite);
    s = await startTestServer(sqlite);
    for (let i = 0; i < 4; i++) assert.equal((await s.request('POST', '/v1/plans', { body: echoPlan(`w ${i}`) })).status, 201);
    logKey = (await cli('audit', 'verifier-key')).stdout.trim();
    initWitness(wdir, 'witness.test/w1');
    trustLog(wdir, logKey);
    witness = new Witness(wdir);
    server = witnessServer(witness);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server?.close(r));
    await s?.close();
  });

  test('the log hands its checkpoints to the witness; proofs carry and check its cosignature', async () => {
    const first = await cli('audit', 'checkpoint', '--witness', `${url},${witness.key}`, '--json');
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const r1 = JSON.parse(first.stdout);
    assert.equal(r1.cosigned, 1);
    assert.match(r1.note, /\n\u2014 witness\.test\/w1 [A-Za-z0-9+/=]{100,104}\n$/);
    assert.ok(verifyCosignature(r1.note, witness.key).time > 0);

    // The log grows; the witness answers 409 with its size, the log sends a consistency proof.
    for (let i = 0; i < 3; i++) assert.equal((await s.request('POST', '/v1/plans', { body: echoPlan(`w more ${i}`) })).status, 201);
    const second = await cli('audit', 'checkpoint', '--witness', `${url},${witness.key}`, '--json');
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.ok(JSON.parse(second.stdout).size > r1.size);
    const state = JSON.parse(readFileSync(join(wdir, 'state.json'), 'utf8'));
    assert.equal(Object.values(state as Record<string, { size: number }>)[0]?.size, JSON.parse(second.stdout).size);

    const file = join(out, 'entry-3.json');
    assert.equal((await cli('audit', 'prove', '3', '--output', file)).code, 0);
    const ok = await runCli(['audit', 'verify-proof', file, '--key', logKey, '--witness-key', witness.key]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /cosigned by witness\.test\/w1 at 20\d\d-/);
    // A proof must not pass as witnessed by a witness that did not cosign it.
    const other = initWitness(join(tempDir('cs-witness-other-'), 'w'), 'witness.test/w2');
    const no = await runCli(['audit', 'verify-proof', file, '--key', logKey, '--witness-key', other.key]);
    assert.equal(no.code, 1);
    assert.match(no.stdout, /no cosignature by witness witness\.test\/w2/);
  });

  test('another history, signed with the real audit key, is refused by the protocol', async () => {
    const held = JSON.parse(readFileSync(join(wdir, 'state.json'), 'utf8')) as Record<string, { size: number; root: string }>;
    const [origin, mine] = Object.entries(held)[0] ?? [];
    assert.ok(origin && mine);
    const privateKey = createPrivateKey(readFileSync(join(s.dir, 'keys', 'audit.key'), 'utf8'));
    const signer = { origin, privateKey, publicKey: createPublicKey(privateKey) };
    // A forged log of the same size with other entries, and a longer one built on it.
    const forged = new MerkleTree(Array.from({ length: mine.size + 5 }, (_, i) => leafHash(Buffer.from(`forged ${i}`))));
    const sameSize = signCheckpoint(forged, mine.size, signer);
    const longer = signCheckpoint(forged, mine.size + 5, signer);
    const proofLines = forged
      .consistencyProof(mine.size, mine.size + 5)
      .map((h) => `${h.toString('base64')}\n`)
      .join('');

    const twoViews = await post(`old ${mine.size}\n\n${sameSize}`);
    assert.equal(twoViews.status, 422, twoViews.text);
    assert.match(twoViews.text, /two histories/);
    const notExtending = await post(`old ${mine.size}\n${proofLines}\n${longer}`);
    assert.equal(notExtending.status, 422, notExtending.text);
    assert.match(notExtending.text, /does not extend/);
    const stale = await post(`old 1\n\n${longer}`);
    assert.equal(stale.status, 409);
    assert.equal(stale.type, 'text/x.tlog.size');
    assert.equal(stale.text, `${mine.size}\n`);
    // Nothing of the forged history was stored.
    assert.deepEqual(JSON.parse(readFileSync(join(wdir, 'state.json'), 'utf8')), held);
  });

  test('malformed, unknown, unsigned and oversized requests get the protocol answers', async () => {
    const held = JSON.parse(readFileSync(join(wdir, 'state.json'), 'utf8')) as Record<string, { size: number; root: string }>;
    const [origin, mine] = Object.entries(held)[0] ?? [];
    assert.ok(origin && mine);
    const body = `${origin}\n${mine.size}\n${mine.root}\n`;
    assert.equal((await post('hello')).status, 400);
    const unknownKey = createPrivateKey(readFileSync(join(wdir, 'witness.key'), 'utf8'));
    const tree = new MerkleTree([leafHash(Buffer.from('x'))]);
    const unknown = signCheckpoint(tree, 1, {
      origin: 'elsewhere.example/log',
      privateKey: unknownKey,
      publicKey: createPublicKey(unknownKey),
    });
    assert.equal((await post(`old 0\n\n${unknown}`)).status, 404);
    // The right origin signed by another key: no trusted signature.
    const impostor = signCheckpoint(tree, 1, { origin, privateKey: unknownKey, publicKey: createPublicKey(unknownKey) });
    assert.equal((await post(`old 0\n\n${impostor}`)).status, 403);
    // A valid note with its body edited after signing.
    const notes = readFileSync(join(s.dir, 'audit-checkpoints'), 'utf8');
    const last = `${notes.slice(notes.lastIndexOf(`${origin}\n`)).trimEnd()}\n`;
    const edited = last.replace(`\n${mine.size}\n`, `\n${mine.size + 1}\n`);
    assert.equal((await post(`old ${mine.size}\n\n${edited}`)).status, 403);
    assert.equal((await post(`old ${mine.size + 10}\n\n${last}`)).status, 400);
    assert.equal((await post(`old 0\n\n${body}\n${'x'.repeat(70_000)}`)).status, 413);
    const get = await fetch(`${url}/add-checkpoint`);
    assert.equal(get.status, 405);
  });
});
