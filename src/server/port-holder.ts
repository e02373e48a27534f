import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A process found listening on a TCP port. */
export interface PortHolder {
  pid: number;
  command: string;
}

/** Inodes of sockets listening (state 0A) on `port`, from /proc/net/tcp and tcp6. */
function listeningInodes(port: number, procRoot: string): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] !== '0A' || !f[9]) continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && f[9] !== '0') inodes.add(f[9]);
    }
  }
  return inodes;
}

/**
 * Who listens on `port` on this host, when /proc lets us see it (Linux; another user's
 * processes only as root). Empty when nothing is found or nothing can be read: the caller
 * then says "another process". Reads only; a vanished process is skipped.
 */
export function findPortHolders(port: number, procRoot = '/proc'): PortHolder[] {
  const inodes = listeningInodes(port, procRoot);
  if (inodes.size === 0) return [];
  const targets = new Set([...inodes].map((i) => `socket:[${i}]`));
  const holders: PortHolder[] = [];
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        return targets.has(readlinkSync(`${procRoot}/${pid}/fd/${fd}`));
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let command = '';
    try {
      command = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      // The process ended while we looked; its pid still says who it was.
    }
    holders.push({ pid: Number(pid), command: command.length > 120 ? `${command.slice(0, 117)}...` : command });
  }
  return holders;
}

/** "pid 1234 (nginx: master process)" or "another process", for an error message. */
export function describePortHolders(holders: readonly PortHolder[]): string {
  if (holders.length === 0) return 'another process';
  return holders.map((h) => `pid ${h.pid}${h.command ? ` (${h.command})` : ''}`).join(', ');
}
