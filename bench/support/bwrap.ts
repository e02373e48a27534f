// The bare bubblewrap floor shared by the sandbox and end-to-end figures.
import { type StdioOptions, spawn } from 'node:child_process';
import { nowMs } from '../lib.ts';

export function timedSpawn(cmd: string, args: string[], stdio: StdioOptions = 'ignore'): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = nowMs();
    const child = spawn(cmd, args, { stdio });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(nowMs() - start) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/** The minimal bubblewrap of DESIGN.md's measurement: /usr and its symlinks, everything unshared. */
export const BARE_BWRAP = [
  '--unshare-all',
  '--die-with-parent',
  '--new-session',
  '--clearenv',
  '--ro-bind',
  '/usr',
  '/usr',
  '--symlink',
  'usr/bin',
  '/bin',
  '--symlink',
  'usr/lib',
  '/lib',
  '--symlink',
  'usr/lib64',
  '/lib64',
  '--symlink',
  'usr/sbin',
  '/sbin',
  '--proc',
  '/proc',
  '--dev',
  '/dev',
  '--tmpfs',
  '/tmp',
  '/bin/true',
];
