import { judgeEgress, type NetTarget, targetFromHost, targetFromUrl } from '../egress.ts';
import { hasFlag, operands, optionValue } from './commands.ts';
import { label, type RuleContext, report } from './context.ts';
import type { ShellCommand, ShellWord } from './model.ts';
import { single } from './model.ts';

/** Short options that take a value, per tool, so operands (the destinations) can be told apart. */
const CURL_VALUES = 'AbcCdDeEFHKmoPQrtTuUwxXYyz';
const WGET_VALUES = 'aBDeiloOPQtTUwY';
const SSH_VALUES = 'BbcDEeFIiJLlmOopQRSWw';
const PACKAGE_VERBS: Record<string, readonly string[]> = {
  pip: ['install', 'download', 'wheel'],
  pip3: ['install', 'download', 'wheel'],
  pipx: ['install', 'run'],
  npm: ['install', 'i', 'ci', 'add', 'update', 'exec'],
  npx: [],
  yarn: ['install', 'add', 'dlx'],
  pnpm: ['install', 'i', 'add', 'dlx'],
  'apt-get': ['install', 'update', 'upgrade', 'dist-upgrade', 'download'],
  apt: ['install', 'update', 'upgrade'],
  gem: ['install'],
  go: ['get', 'install', 'mod'],
  cargo: ['install', 'fetch'],
  git: ['clone', 'fetch', 'pull', 'push', 'ls-remote', 'submodule'],
};

function urlOrHost(word: ShellWord, defaultPort: number | null): NetTarget | null {
  const v = single(word);
  if (v === null) return null;
  return targetFromUrl(v) ?? targetFromHost(v, defaultPort);
}

/** scp/rsync-style `[user@]host:path` operands name a remote; local paths do not. */
function remoteOperand(word: ShellWord, port: number | null): NetTarget | null | undefined {
  const v = single(word);
  if (v === null) return null;
  const url = targetFromUrl(v);
  if (url) return url;
  const m = /^([^/:]+):/.exec(v);
  return m?.[1] ? targetFromHost(m[1], port) : undefined;
}

function socatAddress(word: ShellWord): NetTarget | null | undefined {
  const v = single(word);
  if (v === null) return null;
  const m = /^(tcp[46]?|udp[46]?|openssl|ssl|sctp[46]?|socks[45]a?|proxy)(-connect)?:([^:,]+):(\d+)/i.exec(v);
  if (m?.[3]) return { host: m[3].toLowerCase(), port: Number(m[4]) };
  return /^(tcp|udp|openssl|ssl|sctp)[46]?-listen:/i.test(v) ? null : undefined;
}

/**
 * Destinations a network tool will reach: a list (null entries = not known statically), or
 * undefined when this command does not use the network at all.
 */
function destinations(cmd: ShellCommand, base: string): (NetTarget | null)[] | undefined {
  const args = cmd.args;
  switch (base) {
    case 'curl':
    case 'wget':
    case 'fetch':
    case 'aria2c':
    case 'http':
    case 'https':
    case 'xh':
    case 'lwp-request':
    case 'GET': {
      const ops = operands(args, base === 'curl' ? CURL_VALUES : base === 'wget' ? WGET_VALUES : '');
      const url = optionValue(args, '', '--url');
      const words = url ? [...ops, url] : ops;
      return words.length > 0 ? words.map((w) => urlOrHost(w, base === 'https' ? 443 : 80)) : [null];
    }
    case 'nc':
    case 'ncat':
    case 'netcat':
    case 'telnet': {
      if (hasFlag(args, 'l', ['--listen'])) return [null];
      const [host, port] = operands(args, 'pswiqIOxXTe');
      const t = host ? urlOrHost(host, null) : null;
      const p = port ? Number(single(port)) : Number.NaN;
      return [t && Number.isInteger(p) ? { ...t, port: p } : t];
    }
    case 'socat': {
      const found = operands(args, 'dlLTbs').map(socatAddress);
      const net = found.filter((t) => t !== undefined);
      return net.length > 0 ? net : undefined;
    }
    case 'ssh': {
      const host = operands(args, SSH_VALUES)[0];
      const port = Number(single(optionValue(args, '-p', '')) ?? 22);
      const t = host ? urlOrHost(host, port) : null;
      return [t];
    }
    case 'scp':
    case 'sftp':
    case 'rsync': {
      const port = Number(single(optionValue(args, '-P', '')) ?? 22);
      const remote = operands(args, base === 'rsync' ? 'efT' : 'cFiJloPS')
        .map((w) => remoteOperand(w, base === 'rsync' && single(w)?.includes('::') ? 873 : port))
        .filter((t) => t !== undefined);
      return remote.length > 0 ? remote : base === 'sftp' ? [null] : undefined;
    }
    case 'ftp':
    case 'tftp':
    case 'ping':
    case 'traceroute': {
      const host = operands(args, 'cisWwtp')[0];
      return [host ? urlOrHost(host, null) : null];
    }
    case 'dig':
    case 'nslookup':
    case 'host':
      // DNS leaves through the resolver: a channel out even when HTTP egress is closed.
      return [null];
    default: {
      const verbs = PACKAGE_VERBS[base];
      if (!verbs) return undefined;
      const sub = single(operands(args)[0]);
      if (verbs.length > 0 && (sub === null || !verbs.includes(sub))) return undefined;
      const named = args.map((w) => remoteOperand(w, 22)).filter((t): t is NetTarget => t !== undefined && t !== null);
      return named.length > 0 ? named : [null];
    }
  }
}

/** bash opens sockets itself for `/dev/tcp/host/port`, in any word: an argument or a redirection. */
export function devTcpTarget(path: string): NetTarget | null | undefined {
  const m = /^\/dev\/(tcp|udp)\/([^/]+)\/(\d+)/.exec(path);
  if (!m?.[2]) return undefined;
  return { host: m[2].toLowerCase(), port: Number(m[3]) };
}

export function checkNetwork(ctx: RuleContext, cmd: ShellCommand, base: string): void {
  const what = label(cmd, base);
  const dests = destinations(cmd, base);
  if (dests) {
    const verdict = judgeEgress(ctx.profile, dests);
    report(ctx, cmd, 'shell.network', verdict.severity, `${what} reaches the network: ${verdict.reason}`);
  }
  for (const a of cmd.args) {
    for (const v of a.values ?? []) {
      const t = devTcpTarget(v);
      if (t === undefined) continue;
      const verdict = judgeEgress(ctx.profile, [t]);
      report(ctx, cmd, 'shell.network', verdict.severity, `${what} opens a socket through ${v}: ${verdict.reason}`);
    }
  }
}
