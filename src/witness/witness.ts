import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointOf, cosign, cosignerKey, EMPTY_ROOT, openNote, parseCheckpoint, verifyConsistency } from '../audit/index.ts';

/**
 * A witness (C2SP tlog-witness): it keeps, for each log it trusts, the newest checkpoint it
 * cosigned, and cosigns a new one only if a consistency proof shows it extends that one. A log
 * that showed two histories would need two witnessed views that cannot both be consistent.
 * State lives in a directory: `witness.key` (0600), `logs.json` (origin → the log's verifier
 * key) and `state.json` (origin → size and root), replaced atomically.
 */
export interface WitnessAnswer {
  status: number;
  contentType: string;
  body: string;
}

interface LogState {
  size: number;
  root: string;
}

export interface WitnessInit {
  name: string;
  /** The witness's verifier key, for logs and auditors. */
  key: string;
}

const paths = (dir: string) => ({
  key: join(dir, 'witness.key'),
  meta: join(dir, 'witness.json'),
  logs: join(dir, 'logs.json'),
  state: join(dir, 'state.json'),
});

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export function initWitness(dir: string, name: string): WitnessInit {
  if (!/^[\x21-\x7e]+$/.test(name) || name.includes('+'))
    throw new Error('a witness name is one word of printable ASCII without "+", e.g. witness.example.com/w1');
  const p = paths(dir);
  if (existsSync(p.key)) throw new Error(`${dir} already holds a witness`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(p.key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  writeAtomic(p.meta, `${JSON.stringify({ name })}\n`);
  writeAtomic(p.logs, '{}\n');
  writeAtomic(p.state, '{}\n');
  return { name, key: cosignerKey(name, createPublicKey(privateKey)) };
}

/** Trusts a log: its origin and its verifier key (`countersign audit verifier-key`). */
export function trustLog(dir: string, logKey: string): string {
  const origin = logKey.split('+')[0] ?? '';
  if (!origin) throw new Error('not a verifier key');
  const logs = JSON.parse(readFileSync(paths(dir).logs, 'utf8')) as Record<string, string>;
  logs[origin] = logKey.trim();
  writeAtomic(paths(dir).logs, `${JSON.stringify(logs, null, 2)}\n`);
  return origin;
}

export class Witness {
  readonly name: string;
  readonly key: string;
  readonly #dir: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #now: () => Date;
  /** Check-and-store runs one request at a time: no interleaving can roll a log back. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(dir: string, now: () => Date = () => new Date()) {
    const p = paths(dir);
    this.#dir = dir;
    this.#privateKey = createPrivateKey(readFileSync(p.key, 'utf8'));
    this.#publicKey = createPublicKey(this.#privateKey);
    this.name = (JSON.parse(readFileSync(p.meta, 'utf8')) as { name: string }).name;
    this.key = cosignerKey(this.name, this.#publicKey);
    this.#now = now;
  }

  addCheckpoint(request: string): Promise<WitnessAnswer> {
    const run = this.#chain.then(() => this.#add(request));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #add(request: string): WitnessAnswer {
    const text = (status: number, body: string): WitnessAnswer => ({ status, contentType: 'text/plain; charset=utf-8', body: `${body}\n` });
    const m = /^old (0|[1-9][0-9]*)\n((?:[A-Za-z0-9+/]{43}=\n){0,63})\n([\s\S]+)$/.exec(request);
    if (!m) return text(400, 'malformed request: an "old <size>" line, proof lines, an empty line, then the checkpoint');
    const oldSize = Number(m[1]);
    const proof = (m[2] ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => Buffer.from(l, 'base64'));
    const note = m[3] ?? '';
    let origin: string;
    try {
      origin = checkpointOf(note).origin;
    } catch (err) {
      return text(400, `malformed checkpoint: ${(err as Error).message}`);
    }
    const p = paths(this.#dir);
    const logs = JSON.parse(readFileSync(p.logs, 'utf8')) as Record<string, string>;
    const logKey = logs[origin];
    if (!logKey) return text(404, `unknown log ${origin}`);
    let body: string;
    try {
      body = openNote(note, logKey);
    } catch (err) {
      return text(403, (err as Error).message);
    }
    const cp = parseCheckpoint(body);
    if (oldSize > cp.size) return text(400, `old size ${oldSize} is larger than the checkpoint's ${cp.size}`);
    const state = JSON.parse(readFileSync(p.state, 'utf8')) as Record<string, LogState>;
    const known = state[origin] ?? { size: 0, root: EMPTY_ROOT.toString('base64') };
    if (oldSize !== known.size) return { status: 409, contentType: 'text/x.tlog.size', body: `${known.size}\n` };
    if (cp.size === 0 && !cp.root.equals(EMPTY_ROOT)) return text(422, 'a checkpoint of size 0 must have the empty root');
    if (oldSize === 0 && proof.length > 0) return text(422, 'no consistency proof is needed from size 0');
    if (oldSize === cp.size && cp.root.toString('base64') !== known.root)
      return text(422, 'same size, another root: the log shows two histories');
    if (oldSize > 0 && oldSize < cp.size && !verifyConsistency(oldSize, cp.size, Buffer.from(known.root, 'base64'), cp.root, proof)) {
      return text(422, `the checkpoint of ${cp.size} entries does not extend the one of ${oldSize} this witness cosigned`);
    }
    state[origin] = { size: cp.size, root: cp.root.toString('base64') };
    writeAtomic(p.state, `${JSON.stringify(state, null, 2)}\n`);
    const time = Math.floor(this.#now().getTime() / 1000);
    return {
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      body: cosign(body, this.name, this.#privateKey, this.#publicKey, time),
    };
  }
}
