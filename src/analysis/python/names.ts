/** What a resolved dotted name is, for the rules. */
export type NameKind = 'exec' | 'eval' | 'dynamic-import' | 'native' | 'deserialize' | 'privilege' | 'network' | 'socket' | 'indirect';

const EXACT: Record<string, NameKind> = {
  'os.system': 'exec',
  'os.popen': 'exec',
  'os.startfile': 'exec',
  'os.fork': 'exec',
  'os.forkpty': 'exec',
  'pty.spawn': 'exec',
  'commands.getoutput': 'exec',
  'commands.getstatusoutput': 'exec',
  'platform.popen': 'exec',
  'asyncio.create_subprocess_exec': 'exec',
  'asyncio.create_subprocess_shell': 'exec',
  eval: 'eval',
  exec: 'eval',
  compile: 'eval',
  execfile: 'eval',
  'code.interact': 'eval',
  'code.InteractiveInterpreter': 'eval',
  'runpy.run_path': 'eval',
  'runpy.run_module': 'eval',
  __import__: 'dynamic-import',
  'importlib.import_module': 'dynamic-import',
  'importlib.__import__': 'dynamic-import',
  'pickle.loads': 'deserialize',
  'pickle.load': 'deserialize',
  'pickle.Unpickler': 'deserialize',
  '_pickle.loads': 'deserialize',
  'cPickle.loads': 'deserialize',
  'shelve.open': 'deserialize',
  'dill.loads': 'deserialize',
  'dill.load': 'deserialize',
  'cloudpickle.loads': 'deserialize',
  'cloudpickle.load': 'deserialize',
  'joblib.load': 'deserialize',
  'yaml.load': 'deserialize',
  'yaml.unsafe_load': 'deserialize',
  'jsonpickle.decode': 'deserialize',
  'os.setuid': 'privilege',
  'os.setgid': 'privilege',
  'os.seteuid': 'privilege',
  'os.setegid': 'privilege',
  'os.setreuid': 'privilege',
  'os.setregid': 'privilege',
  'os.setresuid': 'privilege',
  'os.setresgid': 'privilege',
  'os.setgroups': 'privilege',
  'os.initgroups': 'privilege',
  'os.chroot': 'privilege',
  'operator.attrgetter': 'indirect',
  'operator.methodcaller': 'indirect',
};

const SUBPROCESS_FUNCTIONS = new Set(['run', 'call', 'check_call', 'check_output', 'Popen', 'getoutput', 'getstatusoutput']);

/** Modules whose whole purpose is one of the kinds: any use counts. */
const MODULE_PREFIXES: ReadonlyArray<[string, NameKind]> = [
  ['ctypes', 'native'],
  ['_ctypes', 'native'],
  ['cffi', 'native'],
  ['marshal', 'deserialize'],
  ['socket', 'socket'],
  ['socketserver', 'socket'],
  ['ssl', 'socket'],
  ['asyncio.open_connection', 'socket'],
  ['asyncio.start_server', 'socket'],
  ['urllib.request', 'network'],
  ['urllib2', 'network'],
  ['urllib3', 'network'],
  ['requests', 'network'],
  ['httpx', 'network'],
  ['aiohttp', 'network'],
  ['httplib2', 'network'],
  ['pycurl', 'network'],
  ['http.client', 'network'],
  ['http.server', 'network'],
  ['ftplib', 'network'],
  ['smtplib', 'network'],
  ['poplib', 'network'],
  ['imaplib', 'network'],
  ['nntplib', 'network'],
  ['telnetlib', 'network'],
  ['xmlrpc.client', 'network'],
  ['xmlrpc.server', 'network'],
  ['paramiko', 'network'],
  ['websocket', 'network'],
  ['websockets', 'network'],
];

function under(name: string, prefix: string): boolean {
  return name === prefix || name.startsWith(`${prefix}.`);
}

/**
 * The kind of a resolved name, or undefined when it is not one the rules care about. Only the
 * functions of `subprocess` count, so `subprocess.PIPE` is not a command.
 */
export function kindOf(name: string): NameKind | undefined {
  const exact = EXACT[name];
  if (exact) return exact;
  if (/^os\.(exec[lv]p?e?|spawn[lv]p?e?|posix_spawnp?)$/.test(name)) return 'exec';
  const sub = /^subprocess\.([A-Za-z_]+)$/.exec(name);
  if (sub?.[1] && SUBPROCESS_FUNCTIONS.has(sub[1])) return 'exec';
  return moduleKind(name);
}

/** The kind a name has because of the module it belongs to (`ctypes`, `socket`, `requests`), if any. */
export function moduleKind(name: string): NameKind | undefined {
  for (const [prefix, kind] of MODULE_PREFIXES) if (under(name, prefix)) return kind;
  return undefined;
}

/** The module part of a name for messages about modules (`socket.socket` → `socket`). */
export function moduleOf(name: string): string {
  for (const [prefix] of MODULE_PREFIXES) if (under(name, prefix)) return prefix;
  return name;
}

export const KIND_MESSAGE: Record<NameKind, string> = {
  exec: 'runs an operating-system command',
  eval: 'runs a string as Python code',
  'dynamic-import': 'imports a module by name at run time',
  native: 'calls native code the analysis cannot follow',
  deserialize: 'deserializes data in a way that can run arbitrary code',
  privilege: 'changes process identity or root',
  network: 'uses the network',
  socket: 'opens raw network sockets',
  indirect: 'looks attributes up by string at run time',
};
