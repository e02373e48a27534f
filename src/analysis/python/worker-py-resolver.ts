/**
 * Python source, part 1 of the analysis worker (see worker-source.ts): constants, and the
 * Resolver that folds constant strings (`'sys' + 'tem'`, f-strings, `''.join`, slicing, base64 of
 * a literal) and resolves dotted names through import aliases, assignments, `getattr`,
 * `__import__`, `importlib`, `globals()`, `vars()`, `sys.modules` and `__builtins__`. Each
 * resolution carries `via`: the tricks used to reach the name, which the rules report.
 */
// biome-ignore lint/complexity/noUselessStringRaw: Python source; raw keeps any backslash escape for Python, not for JS.
export const PYTHON_RESOLVER = String.raw`import ast
import base64
import binascii
import builtins
import codecs
import json
import sys

MAX_EVENTS = 10000
MAX_STR = 4096
MAX_LIST = 64
BUILTIN_NAMES = frozenset(dir(builtins))
# Bare names worth a reference event even when not called: passing them around hides the call.
REF_BUILTINS = frozenset(['eval', 'exec', 'compile', '__import__', 'getattr', 'open', '__builtins__',
                          'globals', 'locals', 'vars', 'breakpoint', 'setattr', 'delattr'])
NAMESPACES = frozenset(['__builtins__', 'builtins', '<globals>', 'sys.modules'])
INTROSPECTION = frozenset(['__subclasses__', '__globals__', '__builtins__', '__code__', '__mro__', '__bases__',
                           '__base__', '__closure__', '__getattribute__', '__reduce__', '__reduce_ex__',
                           'f_globals', 'f_locals', 'f_back', 'f_builtins', 'gi_frame', 'cr_frame', 'tb_frame',
                           'func_globals', '__loader__', '__spec__'])
PATH_TYPES = frozenset(['pathlib.Path', 'pathlib.PurePath', 'pathlib.PosixPath', 'Path', 'PosixPath'])


def norm(name):
    if name is None:
        return None
    for prefix in ('builtins.', '__builtins__.'):
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    return name


class Resolver:
    """Constant strings and dotted names, resolved through aliases, getattr, __import__ and namespaces."""

    def __init__(self):
        self.aliases = {}
        self.consts = {}
        self.paths = {}
        self.shadowed = set()
        self.stars = []

    # ---- constant strings: literals and the ways scripts build them -------------------------
    def const(self, n, depth=0):
        if depth > 40:
            return None
        d = depth + 1
        if isinstance(n, ast.Constant):
            if isinstance(n.value, str):
                return n.value
            if isinstance(n.value, bytes):
                return n.value.decode('latin-1')
            return None
        if isinstance(n, ast.Name):
            return self.consts.get(n.id)
        if isinstance(n, ast.BinOp):
            left = self.const(n.left, d)
            if isinstance(n.op, ast.Add):
                right = self.const(n.right, d)
                return self.bound(left + right) if left is not None and right is not None else None
            if isinstance(n.op, ast.Mult) and left is not None and isinstance(n.right, ast.Constant) and isinstance(n.right.value, int):
                return self.bound(left * n.right.value) if 0 <= n.right.value and len(left) * n.right.value <= MAX_STR else None
            if isinstance(n.op, ast.Mod) and left is not None:
                items = n.right.elts if isinstance(n.right, ast.Tuple) else [n.right]
                vals = [self.const(e, d) for e in items]
                if None in vals:
                    return None
                try:
                    return self.bound(left % tuple(vals))
                except (TypeError, ValueError):
                    return None
            return None
        if isinstance(n, ast.JoinedStr):
            out = []
            for part in n.values:
                v = self.const(part.value if isinstance(part, ast.FormattedValue) else part, d)
                if v is None:
                    return None
                out.append(v)
            return self.bound(''.join(out))
        if isinstance(n, ast.Subscript):
            base = self.const(n.value, d)
            if base is None:
                return None
            s = n.slice
            try:
                if isinstance(s, ast.Slice):
                    parts = [None if p is None else self.intval(p) for p in (s.lower, s.upper, s.step)]
                    if any(p == 'bad' for p in parts) or parts[2] == 0:
                        return None
                    return base[slice(*parts)]
                i = self.intval(s)
                return None if i == 'bad' or i is None else base[i]
            except IndexError:
                return None
        if isinstance(n, ast.Call):
            return self.const_call(n, d)
        return None

    def intval(self, n):
        if isinstance(n, ast.Constant) and isinstance(n.value, int) and not isinstance(n.value, bool):
            return n.value
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub) and isinstance(n.operand, ast.Constant) and isinstance(n.operand.value, int):
            return -n.operand.value
        return 'bad'

    def bound(self, s):
        return s if len(s) <= MAX_STR else None

    def const_call(self, n, d):
        args = n.args
        f = n.func
        if isinstance(f, ast.Name) and f.id in ('chr', 'str') and len(args) == 1:
            if f.id == 'chr':
                i = self.intval(args[0])
                return chr(i) if isinstance(i, int) and 0 <= i < 0x110000 else None
            return self.const(args[0], d)
        if not isinstance(f, ast.Attribute):
            return None
        name = norm(self.resolve(f)[0]) or ''
        if name in ('base64.b64decode', 'base64.b32decode', 'base64.b16decode', 'base64.urlsafe_b64decode', 'binascii.unhexlify', 'bytes.fromhex', 'codecs.decode') and args:
            src = self.const(args[0], d)
            if src is None:
                return None
            try:
                if name == 'codecs.decode':
                    enc = self.const(args[1], d) if len(args) > 1 else 'utf-8'
                    return self.bound(str(codecs.decode(src, enc))) if enc in ('rot13', 'rot_13') else None
                fn = {'base64.b64decode': base64.b64decode, 'base64.b32decode': base64.b32decode,
                      'base64.b16decode': base64.b16decode, 'base64.urlsafe_b64decode': base64.urlsafe_b64decode,
                      'binascii.unhexlify': binascii.unhexlify, 'bytes.fromhex': bytes.fromhex}[name]
                return self.bound(fn(src).decode('latin-1'))
            except (ValueError, TypeError, LookupError, binascii.Error):
                return None
        recv = self.const(f.value, d)
        if recv is None:
            return None
        m = f.attr
        if m == 'join' and len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple)) and len(args[0].elts) <= MAX_LIST:
            parts = [self.const(e, d) for e in args[0].elts]
            return None if None in parts else self.bound(recv.join(parts))
        if m in ('lower', 'upper', 'strip', 'lstrip', 'rstrip', 'title', 'swapcase', 'decode', 'encode') and not args:
            return recv if m in ('decode', 'encode') else getattr(recv, m)()
        if m == 'replace' and len(args) == 2:
            a, b = self.const(args[0], d), self.const(args[1], d)
            return None if a is None or b is None or not a else self.bound(recv.replace(a, b))
        if m == 'format':
            vals = [self.const(a, d) for a in args]
            if None in vals or n.keywords:
                return None
            try:
                return self.bound(recv.format(*vals))
            except (IndexError, KeyError, ValueError):
                return None
        return None

    # ---- names: what a call or attribute really refers to -----------------------------------
    def resolve(self, n, depth=0):
        """(dotted name or None, tricks used to reach it)."""
        if depth > 40:
            return None, ()
        d = depth + 1
        if isinstance(n, ast.Name):
            if n.id in self.aliases:
                return self.aliases[n.id]
            if n.id in self.shadowed:
                return None, ()
            if n.id == '__builtins__':
                return n.id, ('__builtins__',)
            return n.id, ()
        if isinstance(n, ast.Attribute):
            base, via = self.resolve(n.value, d)
            if base is None:
                return None, ()
            if base in ('builtins', '__builtins__') and '__builtins__' not in via:
                via = via + ('__builtins__',)
            return base + '.' + n.attr, via
        if isinstance(n, ast.Call):
            fname, via = self.resolve(n.func, d)
            fname = norm(fname)
            args = n.args
            if fname in ('__import__', 'importlib.import_module', 'importlib.__import__') and args:
                mod = self.const(args[0], d)
                if mod is None:
                    return None, ()
                top = fname != 'importlib.import_module' and len(args) < 4 and not n.keywords
                return (mod.split('.')[0] if top else mod), via + ('__import__',)
            if fname == 'getattr' and len(args) >= 2:
                base, bvia = self.resolve(args[0], d)
                attr = self.const(args[1], d)
                if base is None or attr is None:
                    return None, ()
                return self.member(base, attr), via + bvia + ('getattr',)
            if fname in ('globals', 'locals') and not args:
                return '<globals>', via
            if fname is not None and fname.endswith('.get') and args:
                return self.lookup(fname[: -len('.get')], self.const(args[0], d), via, d)
            if fname == 'vars' and len(args) == 1:
                base, bvia = self.resolve(args[0], d)
                return (None, ()) if base is None else (base + '.__dict__', via + bvia)
            return None, ()
        if isinstance(n, ast.Subscript):
            base, via = self.resolve(n.value, d)
            return self.lookup(base, self.const(n.slice, d), via, d)
        return None, ()

    def lookup(self, base, key, via, d):
        """namespace[key] or namespace.get(key) for the namespaces that hold modules and builtins."""
        if base is None or key is None:
            return None, ()
        if base == '<globals>':
            name, kvia = self.resolve(ast.Name(id=key), d)
            return name, via + kvia + ('globals()',)
        if base == 'sys.modules':
            return key, via + ('sys.modules',)
        if base in ('__builtins__', 'builtins') or base.endswith('.__dict__'):
            return self.member(base, key), via + ('namespace lookup',)
        return None, ()

    def member(self, base, attr):
        if base.endswith('.__dict__'):
            base = base[: -len('.__dict__')]
        return norm(base + '.' + attr) if base in ('__builtins__', 'builtins') else base + '.' + attr

    def path_of(self, n):
        if isinstance(n, ast.Name):
            return self.paths.get(n.id)
        if isinstance(n, ast.Call) and norm(self.resolve(n.func)[0]) in PATH_TYPES and len(n.args) == 1:
            return self.const(n.args[0])
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div):
            left, right = self.path_of(n.left), self.const(n.right)
            return None if left is None or right is None else left.rstrip('/') + '/' + right
        return None

    def lit(self, n):
        if isinstance(n, ast.Constant) and isinstance(n.value, (bool, int, float)):
            return n.value
        if isinstance(n, (ast.List, ast.Tuple)) and len(n.elts) <= MAX_LIST:
            return [self.lit(e) for e in n.elts]
        return self.const(n)

`;
