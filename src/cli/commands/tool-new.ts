import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { CountersignError } from '../../errors/index.ts';
import { dataDirPaths, defaultDataDir } from '../../server/datadir.ts';
import { loadTool, type Risk, resolveExecutable, scaffoldManifest, sha256OfExecutable, toolNameFor } from '../../tools/index.ts';
import { emit, type Io } from '../output.ts';

interface NewOptions {
  dir: string;
  name?: string;
  action: string;
  arg: string[];
  risk: string;
  description: string;
  stdout?: boolean;
  json?: boolean;
}

/** The publisher key `countersign init` left in the data directory, if it is still there. */
function localPublisherKey(keysDir: string): string | null {
  if (!existsSync(keysDir)) return null;
  const name = readdirSync(keysDir).find((n) => /^publisher-[0-9a-f]{16}\.key$/.test(n));
  return name ? join(keysDir, name) : null;
}

/** What to do after scaffolding, as exact commands. */
function nextSteps(file: string, dir: string, toolsDirFile: boolean): string[] {
  const key = localPublisherKey(dataDirPaths(dir).keys);
  const sign = key
    ? [`  2. Sign it:    countersign tool sign ${file} --key ${key}`]
    : [
        '  2. Sign it with a publisher key the server trusts:',
        '       countersign tool keygen --out ~/.countersign-publisher     (once; then trust the .pub it writes:)',
        '       countersign trust add --key ~/.countersign-publisher/publisher-<id>.pub --name "<who publishes>"',
        `       countersign tool sign ${file} --key ~/.countersign-publisher/publisher-<id>.key`,
      ];
  return [
    'Next:',
    ...(toolsDirFile ? [] : [`  0. Save it as ${file}`]),
    '  1. Review it:  argv, input (patterns, lengths), risk, sandbox (egress, paths, secrets, limits);',
    '                 reference: docs/reference/manifest.md',
    ...sign,
    `  3. Check it:   countersign tool verify ${file} --dir ${dir}`,
    '  4. Load it:    kill -HUP <pid of countersign serve>   (API and executor reload tools/; or restart)',
  ];
}

export function registerToolNew(tool: Command, io: Io): void {
  tool
    .command('new <program>')
    .description('Scaffold a manifest for a program: resolves it, pins its sha256, writes <dir>/tools/<name>.yaml with one action.')
    .option('--dir <dir>', 'data directory whose tools/ to write into (env COUNTERSIGN_DIR)', defaultDataDir())
    .option('--name <name>', 'tool name (default: from the program file name)')
    .option('--action <name>', 'the one action to scaffold', 'run')
    .option(
      '--arg <field>',
      'an input field, rendered as one argv element {{field}} (repeat, in argv order)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--risk <level>', 'base risk of the action: low, medium, high, critical', 'high')
    .option('--description <text>', 'what the tool is, for proposers and reviewers', '')
    .option('--stdout', 'print the manifest instead of writing it (next steps go to stderr)')
    .option('--json', 'print {file, name, action, path, sha256, nextSteps}')
    .addHelpText(
      'after',
      `
Nothing is asked interactively: the manifest is a starting point to review, then sign.
The action's risk starts high on purpose; lower it once you have read what the tool can do.

Examples:
  countersign tool new /usr/local/bin/kubectl --action restart --arg deployment --arg namespace
  countersign tool new pg_dump --name backup --action dump --arg database --stdout > backup.yaml
`,
    )
    .action((program: string, opts: NewOptions) => {
      const exe = resolveExecutable(program);
      const name = opts.name ?? toolNameFor(exe.path);
      const text = scaffoldManifest({
        path: exe.path,
        sha256: sha256OfExecutable(exe.realPath),
        name,
        action: opts.action,
        args: opts.arg,
        risk: opts.risk as Risk,
        description: opts.description,
      });
      // What is written must be what the server accepts.
      const { manifest } = loadTool(parseYaml(text), `${name}.yaml`);
      const paths = dataDirPaths(opts.dir);
      const file = join(paths.tools, `${name}.yaml`);
      if (!opts.stdout) {
        if (!existsSync(paths.tools)) {
          throw new CountersignError(
            'NOT_INITIALIZED',
            `${paths.tools} does not exist: run \`countersign init --dir ${opts.dir}\` or use --stdout`,
          );
        }
        try {
          writeFileSync(file, text, { mode: 0o644, flag: 'wx' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new CountersignError('CONFLICT', `${file} already exists; choose another --name, or edit that manifest`);
          }
          throw err;
        }
      }
      const steps = nextSteps(file, paths.dir, !opts.stdout);
      const summary = {
        file: opts.stdout ? null : file,
        name,
        action: opts.action,
        path: exe.path,
        sha256: manifest.executable.sha256,
        nextSteps: steps,
      };
      if (opts.stdout) {
        io.out(text.trimEnd());
        if (opts.json) io.err(JSON.stringify(summary, null, 2));
        else io.err(steps.join('\n'));
        return;
      }
      emit(io, Boolean(opts.json), summary, () =>
        [`Wrote ${file}: tool ${name}, action ${opts.action}, ${exe.path} (sha256 ${manifest.executable.sha256}).`, ...steps].join('\n'),
      );
    });
}
