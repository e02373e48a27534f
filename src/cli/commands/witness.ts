import type { Command } from 'commander';
import { emit, type Io } from '../output.ts';

const witnessDomain = () => import('../../witness/index.ts');

/** `countersign witness init | trust-log | serve`: a C2SP witness, run on another machine. */
export function registerWitness(program: Command, io: Io): void {
  const witness = program
    .command('witness')
    .description("Run a witness that cosigns another installation's audit checkpoints (C2SP tlog-witness).")
    .addHelpText(
      'after',
      `
A witness remembers the newest checkpoint it cosigned for each log and cosigns a new one only if
a consistency proof shows it extends that one: a log that rewrote its history, or showed two
histories, cannot get both witnessed. Run it on a machine the log's operators cannot write to.

Examples:
  countersign witness init --dir /var/lib/witness --name witness.example.com/w1
  countersign witness trust-log --dir /var/lib/witness --key "$(countersign audit verifier-key)"
  countersign witness serve --dir /var/lib/witness --port 7480
  countersign audit checkpoint --witness "http://witness.example.com:7480,witness.example.com/w1+…"
`,
    );

  witness
    .command('init')
    .description('Create a witness key and state directory; prints the witness key that logs and auditors use.')
    .requiredOption('--dir <dir>', 'witness directory (created, mode 0700)')
    .requiredOption('--name <name>', 'witness name, e.g. witness.example.com/w1')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dir: string; name: string; json?: boolean }) => {
      const { initWitness } = await witnessDomain();
      const r = initWitness(opts.dir, opts.name);
      emit(
        io,
        Boolean(opts.json),
        r,
        () => `witness ${r.name} created in ${opts.dir}\nits key (give it to the logs and their auditors):\n${r.key}`,
      );
    });

  witness
    .command('trust-log')
    .description("Trust a log: its verifier key (the log's `countersign audit verifier-key`).")
    .requiredOption('--dir <dir>', 'witness directory')
    .requiredOption('--key <key>', "the log's verifier key")
    .action(async (opts: { dir: string; key: string }) => {
      const { trustLog } = await witnessDomain();
      io.out(`trusting log ${trustLog(opts.dir, opts.key)}`);
    });

  witness
    .command('serve')
    .description('Serve POST /add-checkpoint until stopped.')
    .requiredOption('--dir <dir>', 'witness directory')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '7480')
    .action(async (opts: { dir: string; host: string; port: string }) => {
      const { Witness, witnessServer } = await witnessDomain();
      const w = new Witness(opts.dir);
      const server = witnessServer(w);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(opts.port), opts.host, () => resolve());
      });
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      io.err(`witness ${w.name} listening on http://${opts.host}:${port}`);
      io.out(JSON.stringify({ url: `http://${opts.host}:${port}`, key: w.key }));
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
