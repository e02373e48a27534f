import { DETACHERS, DISK_DESTROYERS, operands, POWER, PRIVILEGE_TOOLS } from './commands.ts';
import { label, type RuleContext, report } from './context.ts';
import type { ShellCommand } from './model.ts';
import { single } from './model.ts';

const PRIVILEGE_WHY: Record<string, string> = {
  sudo: 'runs a command as another user',
  su: 'switches user',
  doas: 'runs a command as another user',
  pkexec: 'runs a command as another user',
  runuser: 'runs a command as another user',
  setcap: 'grants file capabilities',
  setpriv: 'changes process privileges',
  capsh: 'changes capabilities',
  nsenter: 'enters other namespaces',
  unshare: 'creates namespaces',
  chroot: 'changes the root directory',
  mount: 'mounts a filesystem',
  umount: 'unmounts a filesystem',
  insmod: 'loads a kernel module',
  modprobe: 'loads a kernel module',
  rmmod: 'unloads a kernel module',
  visudo: 'edits sudo rules',
  passwd: 'changes a password',
  useradd: 'creates a user',
  usermod: 'changes a user',
};

/** `chmod +s`, `u+s`, `4755`: a set-id bit hands the file's owner privileges to whoever runs it. */
function setsIdBit(mode: string): boolean {
  if (/^[0-7]{4,}$/.test(mode)) return /[2-7]/.test(mode.slice(-4, -3));
  return mode.split(',').some((clause) => /^[ugoa]*[+=][rwxXst]*s/.test(clause));
}

function values(cmd: ShellCommand): string[] {
  return cmd.args.map((a) => single(a) ?? '');
}

export function checkSystem(ctx: RuleContext, cmd: ShellCommand, base: string): void {
  const what = label(cmd, base);
  const args = values(cmd);

  if (DISK_DESTROYERS.test(base)) {
    report(ctx, cmd, 'shell.destructive', 'deny', `${what} creates or erases filesystems or partitions`);
  }
  if (POWER.has(base)) report(ctx, cmd, 'shell.destructive', 'deny', `${what} stops or restarts the host`);
  if ((base === 'init' || base === 'telinit') && ['0', '6'].includes(args[0] ?? '')) {
    report(ctx, cmd, 'shell.destructive', 'deny', `${what} ${args[0]} stops or restarts the host`);
  }
  if (base === 'systemctl' && args.some((a) => ['poweroff', 'reboot', 'halt', 'kexec', 'rescue', 'emergency'].includes(a))) {
    report(ctx, cmd, 'shell.destructive', 'deny', `${what} stops or restarts the host`);
  }
  // `kill -9 -1` signals every process the user may signal.
  if ((base === 'kill' || base === 'pkill') && args.slice(1).includes('-1')) {
    report(ctx, cmd, 'shell.destructive', 'deny', `${what} -1 signals every process`);
  }

  if (PRIVILEGE_TOOLS.has(base)) {
    report(ctx, cmd, 'shell.privilege', 'high', `${what} ${PRIVILEGE_WHY[base] ?? 'changes privileges'}`);
  }
  if (base === 'chmod') {
    const mode = single(operands(cmd.args)[0]);
    if (mode !== null && setsIdBit(mode)) report(ctx, cmd, 'shell.privilege', 'high', `${what} ${mode} sets a set-user/group-id bit`);
  }
  if (base === 'sysctl' && args.some((a) => a === '-w' || /^[a-z0-9_.]+=/.test(a))) {
    report(ctx, cmd, 'shell.privilege', 'high', `${what} changes kernel parameters`);
  }

  if (DETACHERS.has(base)) {
    report(ctx, cmd, 'shell.detach', 'warning', `${what} leaves work running after the step (the sandbox kills it at step end)`);
  }
}
