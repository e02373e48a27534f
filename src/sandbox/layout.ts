import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What the sandbox's root is made of on this host, computed once per runner.
 *
 * Only /usr is bound from the host. The top-level /bin, /lib, /lib64, /sbin (and the rarer
 * /lib32, /libx32) are reproduced as the host has them: a symlink into /usr on merged-/usr
 * systems (Debian 12), a read-only bind of the real directory otherwise.
 */
export type RootEntry = { kind: 'symlink'; path: string; target: string } | { kind: 'dir'; path: string };

const ROOT_ENTRIES = ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'] as const;

export function hostRootEntries(): RootEntry[] {
  const out: RootEntry[] = [];
  for (const path of ROOT_ENTRIES) {
    let info: ReturnType<typeof lstatSync>;
    try {
      info = lstatSync(path);
    } catch {
      continue;
    }
    if (info.isSymbolicLink()) {
      const target = readlinkSync(path);
      // Only links that stay inside /usr are reproduced; anything else is not part of the layout.
      const resolved = target.startsWith('/') ? target : `/${target}`;
      if (resolved === '/usr' || resolved.startsWith('/usr/')) out.push({ kind: 'symlink', path, target });
    } else if (info.isDirectory()) {
      out.push({ kind: 'dir', path });
    }
  }
  return out;
}

/**
 * The few /etc files a tool needs, generated instead of bound: the host's /etc holds shadow,
 * keys and configuration that a step must never see. The step runs as `nobody`; root is listed
 * only so file owners print as names. HOME is set through the environment.
 */
const ETC_FILES: Readonly<Record<string, string>> = {
  passwd: 'root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  group: 'root:x:0:\nnogroup:x:65534:\n',
  hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n',
  'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n',
};

/** Public, non-secret host files bound read-only when present (dynamic linker cache). */
export const HOST_ETC_ALWAYS = ['/etc/ld.so.cache'] as const;
/** Certificate stores a TLS client needs; bound only for steps that may reach the network. */
export const HOST_ETC_FOR_EGRESS = ['/etc/ssl', '/etc/ca-certificates', '/etc/pki'] as const;

/**
 * A private directory for the runner: generated /etc files and egress sockets. Mode 0711 so the
 * unprivileged uid bubblewrap runs as can reach the files it is given by exact name, and list
 * nothing.
 */
export class RuntimeDir {
  readonly path: string;
  readonly etcFiles: ReadonlyArray<{ source: string; dest: string }>;

  private constructor(path: string, etcFiles: ReadonlyArray<{ source: string; dest: string }>) {
    this.path = path;
    this.etcFiles = etcFiles;
  }

  static create(parent: string = tmpdir()): RuntimeDir {
    RuntimeDir.sweepStale(parent);
    const path = mkdtempSync(join(parent, `countersign-sandbox-${process.pid}-`));
    chmodSync(path, 0o711);
    const etc = join(path, 'etc');
    mkdirSync(etc, { mode: 0o711 });
    const etcFiles: Array<{ source: string; dest: string }> = [];
    for (const [name, content] of Object.entries(ETC_FILES)) {
      const source = join(etc, name);
      writeFileSync(source, content, { mode: 0o444 });
      etcFiles.push({ source, dest: `/etc/${name}` });
    }
    return new RuntimeDir(path, etcFiles);
  }

  /**
   * Removes runtime directories of executor processes that no longer exist (a crash skips
   * dispose). Only directories this uid owns and named by a dead pid; rmSync never follows links.
   */
  static sweepStale(parent: string): void {
    let names: string[];
    try {
      names = readdirSync(parent);
    } catch {
      return;
    }
    for (const name of names) {
      const pid = /^countersign-sandbox-(\d+)-/.exec(name)?.[1];
      if (pid === undefined || Number(pid) === process.pid) continue;
      try {
        process.kill(Number(pid), 0);
        continue;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPERM') continue;
      }
      const path = join(parent, name);
      try {
        const info = lstatSync(path);
        if (info.isDirectory() && info.uid === process.getuid?.()) rmSync(path, { recursive: true, force: true });
      } catch {
        // Gone meanwhile, or not ours to remove.
      }
    }
  }

  /** An empty work directory for the runner's start-up probe. */
  probeWorkDir(): string {
    const path = join(this.path, 'probe-work');
    rmSync(path, { recursive: true, force: true });
    mkdirSync(path, { mode: 0o700 });
    return path;
  }

  socketPath(id: string): string {
    return join(this.path, `egress-${id}.sock`);
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Is `child` equal to or inside `parent`? Both must already be canonical. */
export function isWithin(child: string, parent: string): boolean {
  if (parent === '/') return true;
  return child === parent || child.startsWith(`${parent}/`);
}
