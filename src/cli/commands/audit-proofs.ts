import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import { dataDirPaths, defaultDataDir } from '../../server/datadir.ts';
import type { Store } from '../../store/index.ts';
import { emit, type Io, verdict } from '../output.ts';

interface LocalOptions {
  dir: string;
  databaseUrl?: string;
  json?: boolean;
}

type AuditDomain = typeof import('../../audit/index.ts');
const auditDomain = (): Promise<AuditDomain> => import('../../audit/index.ts');

/** Signed checkpoint notes in the file, oldest first: each a body, a blank line, signature lines. */
function readCheckpoints(dir: string): string[] {
  const file = dataDirPaths(dir).checkpoints;
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const notes: string[] = [];
  let i = 0;
  const at = (n: number) => lines[n] ?? '';
  while (i < lines.length) {
    while (i < lines.length && at(i) === '') i++;
    if (i >= lines.length) break;
    const body: string[] = [];
    while (i < lines.length && at(i) !== '') body.push(at(i++));
    i++;
    const signatures: string[] = [];
    while (i < lines.length && at(i).startsWith('\u2014 ')) signatures.push(at(i++));
    notes.push(`${body.join('\n')}\n\n${signatures.join('\n')}\n`);
  }
  return notes;
}

async function configOf(dir: string) {
  const { loadConfig } = await import('../../config/index.ts');
  return loadConfig(dataDirPaths(dir).dir);
}

/** Loaded on use: the CLI's start stays free of the audit domain (issue 12). */
const auditKeys = () => import('../../server/audit-signer.ts');

function sizeOf(a: AuditDomain, note: string): number {
  return a.checkpointOf(note).size;
}

/** A witness to push checkpoints to: `URL,KEY` (its add-checkpoint prefix and its cosigner key). */
function parseWitness(spec: string): { url: string; key: string } {
  const [url, key, ...rest] = spec.split(',');
  if (!url || !key || rest.length > 0 || !/^https?:\/\//.test(url)) {
    throw new CountersignError('VALIDATION_FAILED', `--witness takes URL,KEY (the witness's submission URL and its key), got "${spec}"`);
  }
  return { url: url.replace(/\/+$/, ''), key };
}

async function withTree<T>(
  opts: LocalOptions,
  openReadOnly: (o: LocalOptions) => Promise<Store>,
  f: (a: AuditDomain, tree: import('../../audit/index.ts').AuditTree) => Promise<T>,
): Promise<T> {
  const a = await auditDomain();
  const store = await openReadOnly(opts);
  try {
    const tree = await a.buildAuditTree(store.iterateAuditForVerification()).catch((err: Error) => {
      throw new CountersignError('AUDIT_CHAIN_BROKEN', err.message);
    });
    return await f(a, tree);
  } finally {
    await store.close();
  }
}

function writeBundle(io: Io, bundle: unknown, output: string | undefined): void {
  const text = `${JSON.stringify(bundle, null, 2)}\n`;
  if (output) {
    writeFileSync(output, text, { flag: 'wx', mode: 0o644 });
    io.err(`wrote ${output}`);
  } else io.out(text.trimEnd());
}

/** `audit checkpoint | verifier-key | prove | consistency | verify-proof`: Merkle proofs of the log. */
export function registerAuditProofs(audit: Command, io: Io, openReadOnly: (o: LocalOptions) => Promise<Store>): void {
  const local = (cmd: Command) =>
    cmd
      .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
      .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)');

  local(audit.command('checkpoint'))
    .description('Sign a checkpoint (C2SP tlog-checkpoint) of the whole log with the audit key and append it to <dir>/audit-checkpoints.')
    .option(
      '--witness <url,key>',
      'hand the checkpoint to a witness for its cosignature (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
The checkpoint names the log's size and its Merkle root (RFC 9162). Keep copies elsewhere (ship
the file, or hand notes to a witness): a later checkpoint that does not extend a copied one
proves the history was rewritten (\`countersign audit consistency\`).

Examples:
  countersign audit checkpoint
  countersign audit checkpoint --json | jq -r .note
  countersign audit checkpoint --witness "https://witness.example/w1,witness.example/w1+…+BA…="
`,
    )
    .action(async (opts: LocalOptions & { witness: string[] }) => {
      const witnesses = opts.witness.map(parseWitness);
      const { checkpointAudit } = await import('../../server/host-maintenance.ts');
      const r = await checkpointAudit(opts.dir, witnesses, { databaseUrl: opts.databaseUrl });
      emit(io, Boolean(opts.json), r, () =>
        [
          `signed: ${r.size} entries, root ${r.root}`,
          ...(witnesses.length > 0 ? [`cosigned by ${r.cosigned} of ${witnesses.length} witness(es)`] : []),
          ...r.refused.map((x) => `witness refused: ${x}`),
          '',
          r.note.trimEnd(),
        ].join('\n'),
      );
      if (r.refused.length > 0) process.exitCode = 1;
    });

  audit
    .command('verifier-key')
    .description("Print the audit log's verifier key (<name>+<key hash>+<key>): what an auditor needs to check proofs.")
    .option('--dir <dir>', 'data directory (env COUNTERSIGN_DIR)', defaultDataDir())
    .action(async (opts: { dir: string }) => {
      io.out((await auditKeys()).auditVerifierKey(opts.dir, await configOf(opts.dir)));
    });

  local(audit.command('prove <seq>'))
    .description('Print an inclusion proof of one entry against a signed checkpoint: a JSON file anyone can check.')
    .option('--output <file>', 'write the proof to a new file')
    .addHelpText(
      'after',
      `
The proof bundle holds the entry, its Merkle path and the signed checkpoint (the newest, signed
now if none covers the entry yet). \`countersign audit verify-proof FILE --key KEY\` checks it, or
any implementation of docs/audit-proofs.md.

Examples:
  countersign audit prove 42 --output entry-42.json
  countersign audit verify-proof entry-42.json --key "$(countersign audit verifier-key)"
`,
    )
    .action(async (seqText: string, opts: LocalOptions & { output?: string }) => {
      const seq = Number(seqText);
      if (!Number.isSafeInteger(seq) || seq < 1)
        throw new CountersignError('VALIDATION_FAILED', `SEQ must be an entry number ≥ 1, got "${seqText}"`);
      const covering = (a: AuditDomain, size: number) =>
        readCheckpoints(opts.dir)
          .reverse()
          .find((n) => sizeOf(a, n) >= seq && sizeOf(a, n) <= size);
      const made = await withTree(opts, openReadOnly, async (a, tree) => {
        if (seq > tree.tree.size) throw new CountersignError('NOT_FOUND', `the audit log has ${tree.tree.size} entries, not ${seq}`);
        const note = covering(a, tree.tree.size);
        if (note) writeBundle(io, a.inclusionBundle(tree, seq, note), opts.output);
        return Boolean(note);
      });
      if (made) return;
      // No checkpoint covers the entry yet: sign one (the audited audit.checkpoint), then prove against it.
      const { checkpointAudit } = await import('../../server/host-maintenance.ts');
      const { note } = await checkpointAudit(opts.dir, [], { databaseUrl: opts.databaseUrl });
      await withTree(opts, openReadOnly, async (a, tree) => writeBundle(io, a.inclusionBundle(tree, seq, note), opts.output));
    });

  local(audit.command('consistency [old] [new]'))
    .description('Print a consistency proof between two signed checkpoints (by size; default: the oldest and the newest).')
    .option('--output <file>', 'write the proof to a new file')
    .action(async (oldText: string | undefined, newText: string | undefined, opts: LocalOptions & { output?: string }) => {
      await withTree(opts, openReadOnly, async (a, tree) => {
        const notes = readCheckpoints(opts.dir);
        if (notes.length === 0)
          throw new CountersignError('NOT_FOUND', 'no checkpoints yet: run `countersign audit checkpoint` (twice, some time apart)');
        const pick = (text: string | undefined, fallback: string) => {
          if (text === undefined) return fallback;
          const found = notes.find((n) => String(sizeOf(a, n)) === text);
          if (!found) throw new CountersignError('NOT_FOUND', `no checkpoint of size ${text} in ${dataDirPaths(opts.dir).checkpoints}`);
          return found;
        };
        const older = pick(oldText, notes[0] as string);
        const newer = pick(newText, notes.at(-1) as string);
        if (sizeOf(a, newer) > tree.tree.size) {
          throw new CountersignError(
            'AUDIT_CHAIN_BROKEN',
            `a checkpoint signed ${sizeOf(a, newer)} entries but the log now has ${tree.tree.size}: it was truncated`,
          );
        }
        if (!tree.tree.root(sizeOf(a, newer)).equals(a.checkpointOf(newer).root)) {
          throw new CountersignError(
            'AUDIT_CHAIN_BROKEN',
            `the log's first ${sizeOf(a, newer)} entries no longer have the root that was signed: history was rewritten`,
          );
        }
        writeBundle(io, a.consistencyBundle(tree, older, newer), opts.output);
      });
    });

  audit
    .command('verify-proof <file>')
    .description('Check an inclusion or consistency proof with nothing but the verifier key (no data directory needed).')
    .option('--key <key>', 'verifier key, or a file holding it (default: the data directory of --dir)')
    .option('--dir <dir>', 'data directory whose key to use when --key is absent (env COUNTERSIGN_DIR)', defaultDataDir())
    .option(
      '--witness-key <key>',
      'also require a cosignature by this witness on the checkpoint (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--json', 'machine-readable result')
    .action(async (file: string, opts: { key?: string; dir: string; witnessKey: string[]; json?: boolean }) => {
      const a = await auditDomain();
      const key = opts.key
        ? existsSync(opts.key)
          ? readFileSync(opts.key, 'utf8').trim()
          : opts.key
        : (await auditKeys()).auditVerifierKey(opts.dir, await configOf(opts.dir));
      let bundle: unknown;
      try {
        bundle = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new CountersignError('VALIDATION_FAILED', `${file} is not a JSON proof bundle: ${(err as Error).message}`);
      }
      let r = a.verifyBundle(bundle, key);
      const b = bundle as { checkpoint?: unknown; new?: unknown };
      for (const w of opts.witnessKey) {
        if (!r.ok) break;
        try {
          const { time } = a.verifyCosignature(String(b.checkpoint ?? b.new ?? ''), w);
          r = { ok: true, message: `${r.message}; cosigned by ${w.split('+')[0]} at ${new Date(time * 1000).toISOString()}` };
        } catch (err) {
          r = { ok: false, message: (err as Error).message };
        }
      }
      emit(io, Boolean(opts.json), r, () => `${verdict(io, r.ok, r.ok ? 'OK' : 'FAILED')}: ${r.message}`);
      if (!r.ok) process.exitCode = 1;
    });
}
