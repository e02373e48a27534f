import type { CallEvent, Literal } from './protocol.ts';

/** POSIX shell quoting, so an argv list from Python can be handed to the shell analysis as one command. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_/.,:=+@%-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function strings(list: Literal | undefined): string[] | null {
  if (!Array.isArray(list)) return null;
  return list.every((x): x is string => typeof x === 'string') ? list : null;
}

const SHELL_STRING = new Set([
  'os.system',
  'os.popen',
  'subprocess.getoutput',
  'subprocess.getstatusoutput',
  'commands.getoutput',
  'commands.getstatusoutput',
  'platform.popen',
  'asyncio.create_subprocess_shell',
]);
const SUBPROCESS = /^subprocess\.(run|call|check_call|check_output|Popen)$/;

/**
 * The shell command a process-running call executes, when its arguments are literal: a shell
 * string (`os.system('…')`, `shell=True`) as is, an argv list quoted into one command line.
 * null when the call runs something known only at run time.
 */
export function commandLine(call: CallEvent): string | null {
  const name = call.name ?? '';
  const a = call.args;
  const first = a[0] ?? call.kw.args ?? call.kw.command ?? call.kw.cmd;
  if (SHELL_STRING.has(name)) return typeof first === 'string' ? first : null;
  if (SUBPROCESS.test(name)) {
    if (typeof first === 'string') return call.kw.shell === true ? first : shellQuote([first]);
    const argv = strings(first);
    if (!argv) return null;
    return call.kw.shell === true ? (argv[0] ?? null) : shellQuote(argv);
  }
  if (name === 'asyncio.create_subprocess_exec') {
    const argv = strings(a);
    return argv && call.nargs === a.length ? shellQuote(argv) : null;
  }
  if (name === 'pty.spawn') {
    const argv = typeof first === 'string' ? [first] : strings(first);
    return argv ? shellQuote(argv) : null;
  }
  const exec = /^os\.(exec|spawn|posix_spawn)([lv]?)(p?)(e?)$/.exec(name);
  if (exec) {
    const spawnMode = exec[1] === 'spawn' ? 1 : 0;
    const program = a[spawnMode];
    const rest = exec[2] === 'l' ? strings(a.slice(spawnMode + 2, exec[4] ? -1 : undefined)) : strings(a[spawnMode + 1])?.slice(1);
    return typeof program === 'string' && rest ? shellQuote([program, ...rest]) : null;
  }
  return null;
}

/** How a call touches a path: write or change, delete one entry, or delete a whole tree. */
export type PathEffect = 'write' | 'delete' | 'tree';

export interface PathTouch {
  /** The literal path, or null when it is computed at run time. */
  path: string | null;
  effect: PathEffect;
}

const WRITE_MODE = /[wax+]/;
const PATH_WRITE_METHODS = new Set(['write_text', 'write_bytes', 'touch', 'mkdir', 'symlink_to', 'hardlink_to', 'chmod', 'lchmod']);
const OS_WRITE = new Set([
  'os.chmod',
  'os.chown',
  'os.lchown',
  'os.truncate',
  'os.mkdir',
  'os.makedirs',
  'os.mkfifo',
  'os.mknod',
  'os.utime',
]);

function str(x: Literal | undefined): string | null {
  return typeof x === 'string' ? x : null;
}

/** Paths a call writes or deletes, by the conventions of the standard library. */
export function pathTouches(call: CallEvent): PathTouch[] {
  const name = call.name ?? '';
  const a = call.args;
  const arg = (i: number, kw: string) => str(a[i] ?? call.kw[kw]);
  const touch = (path: string | null, effect: PathEffect): PathTouch => ({ path, effect });
  if (name === 'open' || name === 'io.open' || name === 'codecs.open') {
    const mode = a[1] ?? call.kw.mode ?? 'r';
    return typeof mode === 'string' && WRITE_MODE.test(mode) ? [touch(arg(0, 'file'), 'write')] : [];
  }
  if (name === 'os.open') return /O_(WRONLY|RDWR|CREAT|APPEND|TRUNC)/.test(call.text) ? [touch(arg(0, 'path'), 'write')] : [];
  const method = /^pathlib\.Path\.(\w+)$/.exec(name)?.[1];
  if (method && call.recv !== null) {
    if (PATH_WRITE_METHODS.has(method)) return [touch(call.recv, 'write')];
    if (method === 'unlink' || method === 'rmdir') return [touch(call.recv, 'delete')];
    if (method === 'rename' || method === 'replace') return [touch(call.recv, 'delete'), touch(arg(0, 'target'), 'write')];
    if (method === 'open') {
      const mode = a[0] ?? call.kw.mode ?? 'r';
      return typeof mode === 'string' && WRITE_MODE.test(mode) ? [touch(call.recv, 'write')] : [];
    }
    return [];
  }
  if (name === 'shutil.rmtree') return [touch(arg(0, 'path'), 'tree')];
  if (/^shutil\.(copy|copy2|copyfile|copytree|copymode|copystat)$/.test(name)) return [touch(arg(1, 'dst'), 'write')];
  if (name === 'shutil.move') return [touch(arg(0, 'src'), 'tree'), touch(arg(1, 'dst'), 'write')];
  if (/^os\.(remove|unlink|rmdir|removedirs)$/.test(name)) return [touch(arg(0, 'path'), 'delete')];
  if (/^os\.(rename|replace|renames)$/.test(name)) return [touch(arg(0, 'src'), 'delete'), touch(arg(1, 'dst'), 'write')];
  if (name === 'os.symlink' || name === 'os.link') return [touch(arg(1, 'dst'), 'write')];
  if (OS_WRITE.has(name)) return [touch(arg(0, 'path'), 'write')];
  return [];
}
