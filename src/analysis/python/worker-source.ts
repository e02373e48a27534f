import { PYTHON_RESOLVER } from './worker-py-resolver.ts';
import { PYTHON_WALKER } from './worker-py-walker.ts';

/**
 * The Python analyser's worker, run as `python3 -I -S -c <this>` and spoken to in JSON lines.
 *
 * Embedded as strings rather than shipped as a .py file: tsc does not copy .py files into dist/,
 * and a string travels with the compiled module, so src (tsx) and dist run the same code with no
 * path lookup that a deployment could get wrong or a writable directory could shadow. `-I`
 * (isolated) ignores PYTHON* variables, the user site and the current directory, so nothing in the
 * environment can inject code into the analyser; `-S` skips site imports for a faster start.
 *
 * Protocol: stdin `{"id": n, "source": "..."}` per line; stdout per line either
 * `{"id": n, "ok": true, "events": [...], "stars": [...], "truncated": bool}` or
 * `{"id": n, "ok": false, "error": "syntax"|"too-complex"|"internal", "line": n, "message": "..."}`.
 * Events: `import` (mod, star?), `call` (name, via, recv, args, nargs, kw), `ref` (name, via),
 * `dynamic` (what), `dunder` (attr); each with line and text. The worker only parses (`ast.parse`
 * never runs the code) and resolves names; every judgement is made in rules.ts.
 */
export const PYTHON_WORKER_SOURCE = `${PYTHON_RESOLVER}\n\n${PYTHON_WALKER}`;
