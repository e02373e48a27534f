import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CountersignError } from '../../errors/index.ts';
import { dataDirPaths, defaultDataDir } from '../../server/datadir.ts';
import { emit, type Io, table, verdict } from '../output.ts';
import { registerToolNew } from './tool-new.ts';

/** The tools domain (manifests, signatures) loads when a tool command runs, not when the CLI starts. */
const toolsDomain = () => import('../../tools/index.ts');

async function readManifest(file: string): Promise<{ doc: unknown; text: string }> {
  const [{ parse: parseYaml }, { loadTool, manifestSigningText }] = await Promise.all([import('yaml'), toolsDomain()]);
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CountersignError('BAD_REQUEST', `cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(raw);
  } catch (err) {
    throw new CountersignError('MANIFEST_INVALID', `${file}: not valid YAML: ${(err as Error).message}`);
  }
  // A publisher signs only a manifest the server would accept.
  loadTool(doc, file);
  return { doc, text: manifestSigningText(doc) };
}

export function registerTool(program: Command, io: Io): void {
  const tool = program
    .command('tool')
    .description('Tool manifests: scaffold one from a program, hash a program, publisher keys, signatures, verification.')
    .addHelpText(
      'after',
      `
A manifest loads only with enough valid signatures from keys in the installation's trust store
(config trust.required, per environment trust.environments). Signatures cover the manifest's
RFC 8785 canonical form (its parsed YAML): any change to a value needs a new signature.

A running \`countersign serve\` loads a new or changed manifest on SIGHUP (API and executor);
if any manifest in tools/ fails to verify, the whole new set is refused and the old one stays.
Field reference: docs/reference/manifest.md.

Examples:
  countersign tool new /usr/local/bin/kubectl --action restart --arg deployment
  countersign tool hash /usr/local/bin/kubectl
  countersign tool keygen --out ~/.countersign-publisher
  countersign tool sign tools/deploy.yaml --key ~/.countersign-publisher/publisher-1a2b….key
  countersign trust add --key ~/.countersign-publisher/publisher-1a2b….pub --name "platform team"
  countersign tool verify tools/deploy.yaml
`,
    );

  registerToolNew(tool, io);

  tool
    .command('hash <program>')
    .description('Print the sha256 a manifest pins for a program (what `executable.sha256` needs), like sha256sum.')
    .option('--json', 'print {path, realPath, sha256}')
    .action(async (program: string, opts: { json?: boolean }) => {
      const { resolveExecutable, sha256OfExecutable } = await toolsDomain();
      const exe = resolveExecutable(program);
      const sha256 = sha256OfExecutable(exe.realPath);
      emit(io, Boolean(opts.json), { ...exe, sha256 }, () => `${sha256}  ${exe.path}`);
    });

  tool
    .command('keygen')
    .description('Write a new Ed25519 publisher key pair: publisher-<id>.key (0600, keep it secret) and publisher-<id>.pub.')
    .requiredOption('--out <dir>', 'directory to write the key pair into (created 0700 if absent)')
    .option('--json', 'print {keyId, privateKey, publicKey} paths as JSON')
    .action(async (opts: { out: string; json?: boolean }) => {
      const { generatePublisherKeyPair, publisherKeyFiles } = await toolsDomain();
      const dir = resolve(opts.out);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
      const pair = generatePublisherKeyPair();
      const files = publisherKeyFiles(pair.keyId);
      const privateKey = join(dir, files.privateKey);
      const publicKey = join(dir, files.publicKey);
      writeFileSync(privateKey, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
      writeFileSync(publicKey, pair.publicKeyPem, { mode: 0o644, flag: 'wx' });
      const out = { keyId: pair.keyId, privateKey, publicKey };
      emit(io, Boolean(opts.json), out, () =>
        [
          `Publisher key ${pair.keyId}`,
          `  private: ${privateKey} (0600: whoever holds it can publish tools your servers trust)`,
          `  public:  ${publicKey}`,
          '',
          `Trust it:  countersign trust add --key ${publicKey} --name "<who publishes>"`,
          `Sign with: countersign tool sign <manifest.yaml> --key ${privateKey}`,
        ].join('\n'),
      );
    });

  tool
    .command('sign <manifest>')
    .description('Sign a manifest with a publisher key; the signature is added to <manifest>.sig (replacing that key’s old one).')
    .requiredOption('--key <file>', 'the publisher private key (publisher-<id>.key, mode 0600)')
    .option('--json', 'print the signature as JSON')
    .addHelpText('after', '\nExamples:\n  countersign tool sign .countersign/tools/echo.yaml --key .countersign/keys/publisher-1a2b….key\n')
    .action(async (manifest: string, opts: { key: string; json?: boolean }) => {
      const { formatSignatureFile, mergeSignature, readPublisherPrivateKey, readSignaturesBeside, SIGNATURE_SUFFIX, signManifestText } =
        await toolsDomain();
      const { text } = await readManifest(manifest);
      const signature = signManifestText(text, readPublisherPrivateKey(opts.key));
      const existing = readSignaturesBeside(manifest);
      const all = mergeSignature(existing, signature);
      writeFileSync(`${manifest}${SIGNATURE_SUFFIX}`, formatSignatureFile(all), { mode: 0o644 });
      emit(
        io,
        Boolean(opts.json),
        { manifest, sigFile: `${manifest}${SIGNATURE_SUFFIX}`, ...signature, signatures: all.length },
        () =>
          `Signed ${manifest} with key ${signature.keyId} (${all.length} signature${all.length === 1 ? '' : 's'} in ${manifest}${SIGNATURE_SUFFIX}).`,
      );
    });

  tool
    .command('verify <manifest>')
    .description("Check a manifest's signatures against the data directory's trust store and K-of-N policy; exit 5 if it would not load.")
    .option('--dir <dir>', 'data directory whose trust store to use (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--database-url <url>', 'PostgreSQL URL (env COUNTERSIGN_DATABASE_URL)')
    .option('--environment <env>', 'judge against this environment’s K instead of the load threshold')
    .option('--json', 'machine-readable report')
    .action(async (manifest: string, opts: { dir: string; databaseUrl?: string; environment?: string; json?: boolean }) => {
      const [{ checkManifestSignatures, readSignaturesBeside, SIGNATURE_SUFFIX }, { loadThreshold, requiredSignatures, TrustedKeyCache }] =
        await Promise.all([toolsDomain(), import('../../trust/index.ts')]);
      const [{ loadConfig }, { openStore }] = await Promise.all([import('../../config/index.ts'), import('../../server/store-binding.ts')]);
      const { text } = await readManifest(manifest);
      const signatures = readSignaturesBeside(manifest);
      const paths = dataDirPaths(opts.dir);
      const config = loadConfig(paths.dir);
      const store = await openStore(paths.dir, config, { databaseUrl: opts.databaseUrl }, 'read');
      let keys: Map<string, KeyObject>;
      try {
        keys = await new TrustedKeyCache().current(store.scope('-').installationTrust);
      } finally {
        await store.close();
      }
      const check = checkManifestSignatures(text, signatures, keys);
      const required = opts.environment ? requiredSignatures(config.trust, opts.environment) : loadThreshold(config.trust);
      const environments = ['(default)', ...Object.keys(config.trust.environments)];
      const perEnvironment = environments.map((e) => {
        const k = e === '(default)' ? config.trust.required : requiredSignatures(config.trust, e);
        return { environment: e, required: k, ok: check.bad.length === 0 && check.valid.length >= k };
      });
      const ok = check.bad.length === 0 && check.valid.length >= required;
      const report = { manifest, ok, required, valid: check.valid, bad: check.bad, untrusted: check.untrusted, perEnvironment };
      emit(io, Boolean(opts.json), report, () => {
        const rows = [['KEY', 'SIGNATURE']];
        for (const k of check.valid) rows.push([k, 'valid (trusted)']);
        for (const k of check.bad) rows.push([k, 'BAD: the manifest changed after this key signed it']);
        for (const k of check.untrusted) rows.push([k, 'not counted: key not in the trust store']);
        return [
          `${verdict(io, ok, ok ? 'OK' : 'REFUSED')}: ${manifest} has ${check.valid.length} valid signature(s) from trusted keys; ${opts.environment ?? 'loading'} requires ${required}.`,
          signatures.length > 0 ? table(rows) : `No signatures: ${manifest}${SIGNATURE_SUFFIX} is missing or empty.`,
          `Per environment: ${perEnvironment.map((p) => `${p.environment} ${p.ok ? 'ok' : 'REFUSED'} (K=${p.required})`).join(', ')}`,
        ].join('\n');
      });
      if (!ok) process.exitCode = 5;
    });
}
