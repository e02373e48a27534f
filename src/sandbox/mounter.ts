import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/**
 * The mounts a runner makes for the work directories' size-limited disks (work-disk.ts), made by
 * a helper process that calls mount(2) and umount2(2) itself, started once per runner.
 *
 * Why not util-linux's mount and umount: each of those execs took 7–16 ms on these machines
 * (libmount reads fstab and mountinfo, canonicalizes, writes utab), four per execution — about
 * 40 ms of every execution's first step and teardown, for syscalls that take 0.02–0.1 ms. Node
 * cannot make the syscalls, so Debian's python3, already needed for the seccomp filter, makes
 * them through ctypes. The helper is root like the executor, reads one JSON request per line on
 * its stdin and answers one per line; it accepts only these four shapes, and the paths are the
 * runner's own. It ends when its stdin closes (the executor exited or disposed its runner).
 */
export interface Mounts {
  /** A tmpfs at `target`, nosuid and nodev, with `data` (size, nr_inodes, mode); `source` names it in mountinfo. */
  tmpfs(source: string, target: string, data: string): Promise<void>;
  /** Changes a tmpfs's `data` (size, nr_inodes) in place, keeping it nosuid and nodev. */
  resize(target: string, data: string): Promise<void>;
  /** Binds `source` at `target`. */
  bind(source: string, target: string): Promise<void>;
  /** Detaches the mount at `target` (lazily: a process still inside keeps only its own view). */
  detach(target: string): Promise<void>;
  close(): Promise<void>;
}

// <linux/mount.h> and <sys/mount.h>
const MS_NOSUID = 2;
const MS_NODEV = 4;
const MS_REMOUNT = 32;
const MS_BIND = 4096;
const MNT_DETACH = 2;

/** The helper's whole program: `python3 -I -c HELPER`. */
const HELPER = `
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
libc.mount.restype = ctypes.c_int
libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
libc.umount2.restype = ctypes.c_int
def b(v):
    return None if v is None else v.encode()
sys.stdout.write('{"ready":true}\\n')
sys.stdout.flush()
for line in sys.stdin:
    r = json.loads(line)
    ctypes.set_errno(0)
    if r["op"] == "mount":
        rc = libc.mount(b(r["source"]), b(r["target"]), b(r["fstype"]), r["flags"], b(r["data"]))
    elif r["op"] == "umount":
        rc = libc.umount2(b(r["target"]), r["flags"])
    else:
        rc = -1
        ctypes.set_errno(22)
    e = ctypes.get_errno() if rc != 0 else 0
    sys.stdout.write(json.dumps({"id": r["id"], "errno": e, "message": os.strerror(e) if e else ""}) + "\\n")
    sys.stdout.flush()
`;

/** A request the helper takes too long to answer fails, and the helper is replaced. */
const REQUEST_TIMEOUT_MS = 30_000;

type Request =
  | { op: 'mount'; source: string | null; target: string; fstype: string | null; flags: number; data: string | null }
  | { op: 'umount'; target: string; flags: number };

interface Waiting {
  resolve: () => void;
  reject: (err: Error) => void;
  what: string;
  timer: NodeJS.Timeout;
}

export class MountHelper implements Mounts {
  readonly #python: string;
  #child: ChildProcessWithoutNullStreams | null = null;
  #buffer = '';
  #stderr = '';
  #next = 1;
  readonly #waiting = new Map<number, Waiting>();
  #closed = false;

  /** @param python Debian's python3 (the seccomp filter's interpreter). */
  constructor(python: string) {
    this.#python = python;
  }

  tmpfs(source: string, target: string, data: string): Promise<void> {
    return this.#request({ op: 'mount', source, target, fstype: 'tmpfs', flags: MS_NOSUID | MS_NODEV, data }, `mount tmpfs on ${target}`);
  }

  resize(target: string, data: string): Promise<void> {
    // A remount clears every flag it is not given: nosuid and nodev are given again.
    return this.#request(
      { op: 'mount', source: null, target, fstype: null, flags: MS_REMOUNT | MS_NOSUID | MS_NODEV, data },
      `remount ${target}`,
    );
  }

  bind(source: string, target: string): Promise<void> {
    return this.#request({ op: 'mount', source, target, fstype: null, flags: MS_BIND, data: null }, `bind ${source} on ${target}`);
  }

  detach(target: string): Promise<void> {
    return this.#request({ op: 'umount', target, flags: MNT_DETACH }, `umount ${target}`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Held open until it has exited (it was unreferenced while idle).
    child.ref();
    child.stdin.end();
    await exited;
  }

  #request(request: Request, what: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${what}: the mount helper is closed`));
    return new Promise<void>((resolve, reject) => {
      let child: ChildProcessWithoutNullStreams;
      try {
        child = this.#running();
      } catch (err) {
        reject(new Error(`${what}: the mount helper could not start: ${(err as Error).message}`, { cause: err }));
        return;
      }
      const id = this.#next++;
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${what}: no answer from the mount helper within ${REQUEST_TIMEOUT_MS / 1000} s`));
        child.kill('SIGKILL');
      }, REQUEST_TIMEOUT_MS);
      this.#waiting.set(id, { resolve, reject, what, timer });
      child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  /** The helper, started now if it is not running (at the first request, or after it died). */
  #running(): ChildProcessWithoutNullStreams {
    if (this.#child !== null) return this.#child;
    const child = spawn(this.#python, ['-I', '-c', HELPER], { env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#buffer = '';
    this.#stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.#read(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-2000);
    });
    child.stdin.on('error', () => undefined);
    const gone = (why: string) => {
      if (this.#child === child) this.#child = null;
      this.#failAll(why);
    };
    child.on('error', (err) => gone(err.message));
    child.on('exit', (code, signal) => gone(`it exited (${signal ?? `code ${code}`})${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`));
    // Pending requests hold the process open with their timers; an idle helper does not.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
    return child;
  }

  #read(chunk: string): void {
    this.#buffer += chunk;
    let newline = this.#buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      newline = this.#buffer.indexOf('\n');
      let answer: { id?: unknown; errno?: unknown; message?: unknown; ready?: unknown };
      try {
        answer = JSON.parse(line);
      } catch {
        this.#child?.kill('SIGKILL');
        return;
      }
      if (answer.ready === true) continue;
      const waiting = typeof answer.id === 'number' ? this.#waiting.get(answer.id) : undefined;
      if (waiting === undefined) continue;
      this.#waiting.delete(answer.id as number);
      clearTimeout(waiting.timer);
      if (answer.errno === 0) waiting.resolve();
      else waiting.reject(new Error(`${waiting.what}: ${String(answer.message)} (errno ${String(answer.errno)})`));
    }
  }

  #failAll(why: string): void {
    for (const [id, waiting] of this.#waiting) {
      this.#waiting.delete(id);
      clearTimeout(waiting.timer);
      waiting.reject(new Error(`${waiting.what}: the mount helper failed: ${why}`));
    }
  }
}
