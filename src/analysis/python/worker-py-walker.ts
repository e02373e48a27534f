/**
 * Python source, part 2 of the analysis worker (see worker-source.ts): the AST walk that emits
 * events (imports, calls with literal arguments, references, unresolvable lookups, interpreter
 * internals) and the JSON-lines loop. Parsing never executes the script: `ast.parse` only.
 */
export const PYTHON_WALKER = String.raw`class Facts(Resolver, ast.NodeVisitor):
    def __init__(self, source):
        Resolver.__init__(self)
        # ast counts lines at \n, \r\n and \r only; str.splitlines() also splits at \f, \x1c and others.
        self.lines = source.replace('\r\n', '\n').replace('\r', '\n').split('\n')
        self.events = []
        self.truncated = False

    def emit(self, kind, node, **fields):
        if len(self.events) >= MAX_EVENTS:
            self.truncated = True
            return
        fields['k'] = kind
        fields['line'] = getattr(node, 'lineno', 1)
        fields['text'] = self.snippet(node)
        self.events.append(fields)

    def snippet(self, node):
        row = getattr(node, 'lineno', 1) - 1
        if row < 0 or row >= len(self.lines):
            return ''
        raw = self.lines[row].encode('utf-8', 'surrogatepass')
        start = getattr(node, 'col_offset', 0) or 0
        end = node.end_col_offset if getattr(node, 'end_lineno', None) == node.lineno else len(raw)
        return raw[start:end].decode('utf-8', 'replace')[:200]

    # ---- the walk ---------------------------------------------------------------------------
    def bind(self, target, value):
        if not isinstance(target, ast.Name):
            for t in ast.walk(target):
                if isinstance(t, ast.Name):
                    self.forget(t.id)
            return
        name = target.id
        self.forget(name)
        if value is None:
            return
        c = self.const(value)
        if c is not None:
            self.consts[name] = c
            return
        p = self.path_of(value)
        if p is not None:
            self.paths[name] = p
            return
        resolved, via = self.resolve(value)
        if resolved is not None and not isinstance(value, ast.Call) or via:
            self.aliases[name] = (norm(resolved), via)
        else:
            self.shadowed.add(name)

    def forget(self, name):
        self.aliases.pop(name, None)
        self.consts.pop(name, None)
        self.paths.pop(name, None)
        self.shadowed.discard(name)

    def visit_Import(self, node):
        for a in node.names:
            self.emit('import', node, mod=a.name)
            if a.asname:
                self.forget(a.asname)
                self.aliases[a.asname] = (a.name, ())
            else:
                top = a.name.split('.')[0]
                self.forget(top)
                self.aliases[top] = (top, ())

    def visit_ImportFrom(self, node):
        if node.level:
            return
        mod = node.module or ''
        for a in node.names:
            if a.name == '*':
                self.stars.append(mod)
                self.emit('import', node, mod=mod, star=True)
                continue
            self.emit('import', node, mod=mod + '.' + a.name)
            local = a.asname or a.name
            self.forget(local)
            self.aliases[local] = (mod + '.' + a.name, ())

    def visit_Assign(self, node):
        self.visit(node.value)
        for t in node.targets:
            self.visit_target(t)
            self.bind(t, node.value)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)
        self.bind(node.target, node.value)

    def visit_NamedExpr(self, node):
        self.visit(node.value)
        self.bind(node.target, node.value)

    def visit_AugAssign(self, node):
        self.visit(node.value)
        self.visit_target(node.target)
        if isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add):
            old, new = self.consts.get(node.target.id), self.const(node.value)
            self.forget(node.target.id)
            if old is not None and new is not None and self.bound(old + new) is not None:
                self.consts[node.target.id] = old + new
        else:
            self.bind(node.target, None)

    def visit_target(self, t):
        if not isinstance(t, ast.Name):
            self.visit(t)

    def visit_FunctionDef(self, node):
        self.forget(node.name)
        self.shadowed.add(node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def visit_Call(self, node):
        name, via = self.resolve(node.func)
        name = norm(name)
        recv = None
        if isinstance(node.func, ast.Attribute):
            recv = self.path_of(node.func.value)
            if recv is not None:
                name, via = 'pathlib.Path.' + node.func.attr, ()
        if self.interesting(node.func, name, via) or recv is not None:
            self.emit('call', node, name=name, via=list(via), recv=recv,
                      args=[self.lit(a) for a in node.args[:8]], nargs=len(node.args),
                      kw={k.arg: self.lit(k.value) for k in node.keywords if k.arg})
        self.check_dynamic(node, name)
        if isinstance(node.func, ast.Attribute):
            self.visit_chain(node.func, emit_ref=False)
        elif not isinstance(node.func, ast.Name):
            self.visit(node.func)
        for a in node.args:
            self.visit(a)
        for k in node.keywords:
            self.visit(k.value)

    def interesting(self, expr, name, via):
        """Only names that reach a module, a builtin or a trick: local objects' methods are not ours to judge."""
        if name is None:
            return False
        if via:
            return True
        root = expr
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        if root.id in self.aliases or root.id in ('__builtins__', 'builtins'):
            return True
        return isinstance(expr, ast.Name) and (expr.id in BUILTIN_NAMES or bool(self.stars))

    def check_dynamic(self, node, name):
        args = node.args
        if name == 'getattr' and len(args) >= 2 and self.const(args[1]) is None:
            self.emit('dynamic', node, what='getattr with a computed attribute name')
        if name in ('__import__', 'importlib.import_module', 'importlib.__import__') and (not args or self.const(args[0]) is None):
            self.emit('dynamic', node, what=name + ' with a computed module name')
        if name is not None and name.endswith('.get') and self.is_namespace(name[: -len('.get')]) and (not args or self.const(args[0]) is None):
            self.emit('dynamic', node, what='a lookup in ' + name[: -len('.get')] + ' with a computed key')

    def is_namespace(self, base):
        return base in NAMESPACES or base.endswith('.__dict__')

    def visit_Subscript(self, node):
        base = norm(self.resolve(node.value)[0])
        if base is not None and self.is_namespace(base) and self.const(node.slice) is None:
            self.emit('dynamic', node, what='a lookup in ' + base + ' with a computed key')
        name, via = self.resolve(node)
        if name is not None and via:
            self.emit('ref', node, name=norm(name), via=list(via))
        self.generic_visit(node)

    def visit_Attribute(self, node):
        self.visit_chain(node, emit_ref=True)

    def visit_chain(self, node, emit_ref):
        if emit_ref:
            name, via = self.resolve(node)
            if self.interesting(node, name, via):
                self.emit('ref', node, name=norm(name), via=list(via))
        base = node
        while isinstance(base, ast.Attribute):
            if base.attr in INTROSPECTION:
                self.emit('dunder', base, attr=base.attr)
            base = base.value
        if not isinstance(base, ast.Name):
            self.visit(base)
        elif base.id == '__builtins__':
            self.emit('ref', base, name='__builtins__', via=[])

    def visit_Name(self, node):
        if not isinstance(node.ctx, ast.Load):
            return
        name, via = self.resolve(node)
        if name is None:
            return
        if node.id in self.aliases and ('.' in name or via) or (node.id not in self.aliases and node.id in REF_BUILTINS):
            self.emit('ref', node, name=norm(name), via=list(via))


def analyze(source):
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return {'ok': False, 'error': 'syntax', 'line': e.lineno or 1, 'message': e.msg or 'invalid syntax'}
    except ValueError as e:
        return {'ok': False, 'error': 'syntax', 'line': 1, 'message': str(e)[:200]}
    facts = Facts(source)
    facts.visit(tree)
    return {'ok': True, 'events': facts.events, 'stars': facts.stars, 'truncated': facts.truncated}


def main():
    try:
        import resource
        # Parsing hostile input must not take the host's memory with it.
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    except (ImportError, ValueError, OSError):
        pass
    sys.stdin.reconfigure(encoding='utf-8', errors='surrogateescape')
    out = sys.stdout
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        rid = None
        try:
            req = json.loads(line)
            rid = req['id']
            res = analyze(req['source'])
        except (RecursionError, MemoryError):
            res = {'ok': False, 'error': 'too-complex', 'line': 1, 'message': 'nested too deeply'}
        except Exception as e:
            res = {'ok': False, 'error': 'internal', 'line': 1, 'message': type(e).__name__}
        res['id'] = rid
        out.write(json.dumps(res) + '\n')
        out.flush()


main()
`;
