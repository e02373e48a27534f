import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { VERSION } from '../server/version.ts';
import { registerApprovals } from './commands/approvals.ts';
import { registerAudit } from './commands/audit.ts';
// scale-out
import { registerBackup } from './commands/backup.ts';
import { registerChat } from './commands/chat.ts';
import { registerCompletion } from './commands/completion.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerExecute } from './commands/execute.ts';
import { registerExecutor } from './commands/executor.ts';
import { registerInit } from './commands/init.ts';
import { registerKey } from './commands/key.ts';
import { registerMcp } from './commands/mcp.ts';
import { registerOverride } from './commands/override.ts';
import { registerPlan } from './commands/plan.ts';
import { registerPlaybook } from './commands/playbook.ts';
import { registerPolicy } from './commands/policy.ts';
import { registerPrincipal } from './commands/principal.ts';
import { registerServe } from './commands/serve.ts';
import { registerStatus } from './commands/status.ts';
import { registerTenant } from './commands/tenant.ts';
import { registerTool } from './commands/tool.ts';
import { registerTrust } from './commands/trust.ts';
import { registerWitness } from './commands/witness.ts';
import { EXIT_CODES_HELP, type Io, processIo, reportError } from './output.ts';

export function buildProgram(io: Io): Command {
  const program = new Command('countersign')
    .description('Countersign: agents propose, humans countersign, a sandboxed executor runs exactly what was approved.')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .addHelpText(
      'after',
      `
Environment:
  COUNTERSIGN_DIR           data directory for local commands (default ./.countersign)
  COUNTERSIGN_DATABASE_URL  postgres://… to use PostgreSQL instead of embedded SQLite
  COUNTERSIGN_SERVER        server URL for remote commands (default http://127.0.0.1:7400)
  COUNTERSIGN_TOKEN         API key for remote commands
${EXIT_CODES_HELP}`,
    );
  registerInit(program, io);
  registerServe(program, io);
  registerExecutor(program, io);
  registerExecute(program, io);
  registerPlan(program, io);
  registerApprovals(program, io);
  registerPrincipal(program, io);
  registerKey(program, io);
  registerPolicy(program, io);
  registerAudit(program, io);
  registerTool(program, io);
  registerTrust(program, io);
  registerWitness(program, io);
  registerOverride(program, io);
  registerDoctor(program, io);
  registerMcp(program, io);
  registerStatus(program, io);
  registerCompletion(program, io);
  // scale-out
  registerBackup(program, io);
  // alerts: playbook sign and dry-run, plan origin
  registerPlaybook(program, io);
  // ---- chat (issue 14) ----
  registerChat(program, io);
  // ---- replicas: tenant provisioning on the host ----
  registerTenant(program, io);
  return program;
}

/** The long-running processes: they keep V8's optimizing WebAssembly tier for Cedar and fetch. */
const LONG_RUNNING = new Set(['serve', 'api', 'up', 'executor']);

/**
 * One-shot commands compile WebAssembly (fetch's HTTP parser, Cedar) with V8's baseline
 * compiler only: otherwise V8 finishes optimizing those modules in the background before the
 * process may exit, which added ~200 ms to every remote command. Call before anything compiles
 * WebAssembly, i.e. before the first fetch or Cedar import.
 */
export function baselineWasmForOneShotCommands(argv: readonly string[]): void {
  const command = argv.find((a) => !a.startsWith('-'));
  if (command !== undefined && LONG_RUNNING.has(command)) return;
  setFlagsFromString('--liftoff-only');
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors exit 2 (commander already printed why).
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportError(io, json, err);
  }
}
