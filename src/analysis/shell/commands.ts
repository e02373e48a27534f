import type { ShellCommand, ShellWord } from './model.ts';
import { single } from './model.ts';

/** The program a name runs: `/usr/bin/rm` and `rm` are the same for the rules. */
export function baseName(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash >= 0 ? name.slice(slash + 1) : name;
}

export const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'mksh', 'yash', 'posh', 'rbash']);

export function isPython(name: string): boolean {
  return /^(python|pypy)(\d+(\.\d+)*)?$/.test(name);
}

/** Interpreters whose code the analysis does not parse, with the flags that take inline code. */
export const OTHER_INTERPRETERS: Record<string, readonly string[]> = {
  perl: ['-e', '-E'],
  ruby: ['-e'],
  node: ['-e', '--eval', '-p', '--print'],
  nodejs: ['-e', '--eval', '-p', '--print'],
  php: ['-r'],
  lua: ['-e'],
  tclsh: [],
  Rscript: ['-e'],
  osascript: ['-e'],
  pwsh: ['-c', '-Command'],
};

export const AWKS = new Set(['awk', 'gawk', 'mawk', 'nawk', 'busybox-awk']);

/** Commands whose output may be bytes fetched from the network. */
export const DOWNLOADERS = new Set([
  'curl',
  'wget',
  'fetch',
  'aria2c',
  'http',
  'https',
  'xh',
  'nc',
  'ncat',
  'netcat',
  'socat',
  'lwp-request',
  'GET',
]);

/** A command that turns opaque data into something else: its output piped into a shell hides what runs. */
export function isDecoder(cmd: ShellCommand, name: string): boolean {
  const args = cmd.args.map((a) => single(a) ?? '');
  const has = (...flags: string[]) =>
    args.some((a) => flags.includes(a) || (/^-[a-zA-Z]+$/.test(a) && flags.some((f) => f.length === 2 && a.includes(f[1] ?? ''))));
  switch (name) {
    case 'base64':
    case 'base32':
    case 'basenc':
      return has('-d', '--decode', '-D');
    case 'xxd':
      return has('-r', '-revert');
    case 'openssl':
      return args.some((a) => ['enc', 'base64', 'aes-256-cbc', 'des3'].includes(a)) && has('-d');
    case 'gzip':
    case 'bzip2':
    case 'xz':
    case 'zstd':
    case 'lzma':
      return has('-d', '--decompress', '--uncompress');
    case 'gunzip':
    case 'zcat':
    case 'bunzip2':
    case 'bzcat':
    case 'unxz':
    case 'xzcat':
    case 'unzstd':
    case 'zstdcat':
    case 'uudecode':
      return true;
    default:
      return false;
  }
}

/** Commands a reviewer should read as "leaves a process behind the step". */
export const DETACHERS = new Set(['nohup', 'setsid', 'disown', 'daemonize', 'at', 'batch', 'crontab']);

export const PRIVILEGE_TOOLS = new Set([
  'sudo',
  'su',
  'doas',
  'pkexec',
  'runuser',
  'setcap',
  'setpriv',
  'capsh',
  'nsenter',
  'unshare',
  'chroot',
  'mount',
  'umount',
  'insmod',
  'modprobe',
  'rmmod',
  'visudo',
  'passwd',
  'useradd',
  'usermod',
]);

export const DISK_DESTROYERS = /^(mkfs(\..+)?|mke2fs|mkswap|wipefs|fdisk|sfdisk|cfdisk|parted|sgdisk|gdisk|blkdiscard)$/;
export const POWER = new Set(['shutdown', 'reboot', 'halt', 'poweroff']);

/** Split argv into operands, skipping options; `withValue` lists short options that consume the next word. */
export function operands(args: readonly ShellWord[], withValue = '', longWithValue: readonly string[] = []): ShellWord[] {
  const out: ShellWord[] = [];
  let endOfOptions = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg) continue;
    const v = single(arg);
    if (endOfOptions || v === null || v === '-' || !v.startsWith('-')) {
      out.push(arg);
      continue;
    }
    if (v === '--') {
      endOfOptions = true;
    } else if (v.startsWith('--')) {
      if (!v.includes('=') && longWithValue.includes(v)) i++;
    } else {
      const last = v.length - 1;
      for (let k = 1; k <= last; k++) {
        if (withValue.includes(v[k] ?? '')) {
          if (k === last) i++;
          break;
        }
      }
    }
  }
  return out;
}

/** The value of a short or long option (`-o file`, `-ofile`, `--output=file`, `--output file`). */
export function optionValue(args: readonly ShellWord[], short: string, long: string): ShellWord | undefined {
  for (let i = 0; i < args.length; i++) {
    const v = single(args[i]);
    if (v === null) continue;
    if (v === '--') return undefined;
    if ((short && v === short) || (long && v === long)) return args[i + 1];
    if (long && v.startsWith(`${long}=`)) return { ...(args[i] as ShellWord), values: [v.slice(long.length + 1)] };
    if (short && v.startsWith(short) && v.length > short.length && !v.startsWith('--')) {
      return { ...(args[i] as ShellWord), values: [v.slice(short.length)] };
    }
  }
  return undefined;
}

/** True when a short flag letter appears in any cluster (`-rf` has r) or the long flag is present. */
export function hasFlag(args: readonly ShellWord[], letters: string, long: readonly string[] = []): boolean {
  for (const a of args) {
    const v = single(a);
    if (v === null) continue;
    if (v === '--') return false;
    if (long.includes(v)) return true;
    if (/^-[a-zA-Z0-9]+$/.test(v) && [...letters].some((l) => v.slice(1).includes(l))) return true;
  }
  return false;
}

/**
 * `tmp=$(mktemp -d)`: the path mktemp prints is under /tmp (or its `-p DIR`), which lets
 * `rm -rf "$tmp"` be judged as the harmless cleanup it is rather than an unknown delete.
 */
export function mktempPath(cmd: ShellCommand): string | null {
  if (baseName(single(cmd.name) ?? '') !== 'mktemp') return null;
  const dirWord = optionValue(cmd.args, '-p', '--tmpdir');
  const dir = dirWord ? single(dirWord) : '/tmp';
  return dir === null ? null : `${dir.replace(/\/+$/, '')}/tmp.XXXXXXXXXX`;
}
