"""Flag code that tries to influence grading. Flags never change a score (the sandbox and the
out-of-process comparison make such code harmless); they tell the instructor where to look."""

from __future__ import annotations

import ast
import functools

from IPython.core.inputtransformer2 import TransformerManager

from ..messages import text

PATCHED_MODULES = {"np", "numpy", "torch", "tf", "tensorflow", "testing", "builtins", "unittest", "pytest",
                   "autograder", "nbgrader", "sklearn", "math"}
NETWORK_MODULES = {"socket", "urllib", "requests", "http", "httpx", "ftplib", "smtplib", "ssl"}
PROCESS_CALLS = {"fork", "forkpty", "system", "popen", "spawnl", "spawnv", "execv", "execve", "kill", "killpg",
                 "setsid", "daemon"}
PROCESS_MODULES = {"subprocess", "multiprocessing", "pty", "signal", "ctypes"}
EXIT_CALLS = {("os", "_exit"), ("sys", "exit"), ("os", "abort")}
SUSPICIOUS_WORDS = ("reference_solutions", "gradebook", "xaigrade", "autograded", "submitted", "cases.pkl",
                    "public_checks", "_xaigrade")

BUILTIN_NAMES = {"AssertionError", "Exception", "BaseException", "print", "isinstance", "len", "abs", "float",
                 "int", "__import__", "open", "__builtins__", "globals", "getattr", "setattr"}
# Running data as code: exec/eval/compile of what one of these produced (base64, hex, zlib, codecs, ...).
CODE_RUNNERS = {"exec", "eval", "compile"}
DECODERS = {"b64decode", "b32decode", "b16decode", "b85decode", "a85decode", "decodebytes", "standard_b64decode",
            "urlsafe_b64decode", "fromhex", "unhexlify", "a2b_base64", "a2b_hex", "a2b_uu", "a2b_qp", "decompress",
            "decode", "loads", "chr", "bytes", "bytearray", "reversed"}
# What the grader's watch (runner/runtime.py) rests on: switching it off is flagged where it is written.
WATCHER_CALLS = {("sys", "setprofile"), ("sys", "settrace"), ("sys", "addaudithook"), ("sys", "audit"),
                 ("threading", "setprofile"), ("threading", "settrace"), ("gc", "get_objects"),
                 ("gc", "get_referrers"), ("gc", "get_referents")}
WATCHER_ATTRIBUTES = {"setprofile", "settrace", "addaudithook", "audit", "start_new_thread", "start_new",
                      "_start_new_thread", "_profile_hook", "cell_contents"}
# Library implementations of the graded methods (runtime.LIBRARY_METHODS names the files their calls run in).
LIBRARY_MODULES = ("sklearn.inspection", "pytorch_grad_cam", "captum", "alibi", "dice_ml")


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def parse_cell(source: str) -> ast.Module | None:
    """A code cell's syntax tree, IPython magics turned into calls as the kernel does; None if unparseable.

    Trees of cells up to ``CACHED_CELL_CHARS`` are kept (the last ``CACHED_CELLS``) and shared: callers read
    them, never change them. Every submission repeats the release's cells, and the scan reads each cell twice:
    parsing was 0.5 s of a Grad-CAM submission's 0.6 s scan, on the sandbox slot's critical path. The bounds keep
    what a hostile submission can make the grader hold small (a tree takes up to ~0.3 MB per 1,000 characters:
    at most ~300 MB; the release's longest code cell has 2,500 characters)."""
    if len(source) > CACHED_CELL_CHARS:
        return _parse(source)
    return _parse_kept(source)


CACHED_CELL_CHARS = 4_000
CACHED_CELLS = 256


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


@functools.lru_cache(maxsize=CACHED_CELLS)
def _parse_kept(source: str) -> ast.Module | None:
    return _parse(source)


def _is_modules(node) -> bool:
    """``sys.modules`` however reached: ``<anything>.modules`` or ``getattr(<anything>, "modules")``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "modules"
    return (isinstance(node, ast.Call) and _dotted(node.func) == "getattr" and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and node.args[1].value == "modules")


def _shown(node, width: int = 80) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= width else text[:width - 1] + "…"


def _decoded_names(tree) -> set[str]:
    """Names bound (anywhere in ``tree``) to what a decoder returned: ``code = base64.b64decode(...)``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None \
                and _decodes(node.value, set()):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def _decodes(node, decoded: set[str]) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call) and _dotted(inner.func).split(".")[-1] in DECODERS:
            return True
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr in DECODERS:
            return True  # (e.g. bytes.fromhex(...), "...".encode().decode("rot13"), zlib.decompress(...))
        if isinstance(inner, ast.Name) and inner.id in decoded:
            return True
    return False


def _kit_aliases(tree) -> set[str]:
    """Names an import binds to the self-check kit or the grader (``from xaikit.selfcheck.probe import
    Snapshot``): patching them (``Snapshot.after = ...``) patches what runs the probe."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names
                      if alias.name.startswith(("xaikit.selfcheck", "autograder"))}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("xaikit.selfcheck", "autograder")):
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "xaikit":
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "selfcheck"}
    return names


def library_aliases(tree) -> dict[str, str]:
    """Names that an import in ``tree`` binds to a library implementation of a graded method -> what they are."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):  # (``import sklearn``: ``sklearn.inspection.…`` is reached through it)
            for alias in node.names:
                if _library(alias.name) or any(name.startswith(alias.name + ".") for name in LIBRARY_MODULES):
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                        alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if _library(node.module) or _library(full):
                    aliases[alias.asname or alias.name] = full
    return aliases


def _library(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in LIBRARY_MODULES)


def library_uses(tree, aliases: dict[str, str]) -> list[tuple[str, str]]:
    """("library_import", "function: what") for each function that uses a library implementation of a graded
    method: a name an import bound to one, a dotted path into one, or an import of one inside the function."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        name = getattr(function, "name", "lambda")
        body = function.body if isinstance(function.body, list) else [ast.Expr(function.body)]
        inner_aliases = library_aliases(ast.Module(body=body, type_ignores=[]))
        used = set()
        for node in ast.walk(function):
            what = None
            if isinstance(node, ast.Name) and node.id in aliases and _library(aliases[node.id]):
                what = aliases[node.id]
            elif isinstance(node, ast.Attribute):
                dotted = _dotted(node)
                root = dotted.split(".")[0]
                if root in aliases:
                    what = aliases[root] + dotted[len(root):]
                if what is not None and not _library(what):
                    what = None  # (``sklearn.ensemble...`` after ``import sklearn.inspection``: not the method)
            if what is None and isinstance(node, ast.Name) and node.id in inner_aliases:
                what = inner_aliases[node.id]
            if what is not None:
                used.add(what)
        for what in sorted(used):  # (the longest path only: ``a.b.c`` also walks past ``a.b``)
            if not any(other.startswith(what + ".") for other in used) and \
                    ("library_import", f"{name}: {what}") not in found:
                found.append(("library_import", f"{name}: {what}"))
    return found


def scan_source(source: str) -> list[tuple[str, str]]:
    """(rule, detail) pairs for one cell's code; unparseable code yields nothing. A function of the source alone:
    kept like the trees (``parse_cell``), so the release's cells, repeated in every submission, are scanned once."""
    if len(source) > CACHED_CELL_CHARS:
        return _scan_source(source)
    return list(_scan_source_kept(source))


@functools.lru_cache(maxsize=CACHED_CELLS)
def _scan_source_kept(source: str) -> tuple[tuple[str, str], ...]:
    return tuple(_scan_source(source))


def _scan_source(source: str) -> list[tuple[str, str]]:
    tree = parse_cell(source)
    if tree is None:
        return []
    found = []
    decoded = _decoded_names(tree)
    kit = _kit_aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                name = _dotted(target)
                root = name.split(".")[0]
                if isinstance(target, ast.Subscript) and _is_modules(target.value) \
                        or isinstance(target, ast.Attribute) and target.attr == "modules" and root == "sys":
                    found.append(("sys_modules", _shown(target)))
                elif isinstance(target, ast.Attribute) and target.attr in WATCHER_ATTRIBUTES:
                    found.append(("watcher", name or _shown(target)))
                elif isinstance(node, ast.Delete):
                    continue
                elif isinstance(target, ast.Attribute) and (root in PATCHED_MODULES or root in kit):
                    found.append(("builtins" if root == "builtins" else "patch_checker", name))
                elif isinstance(target, ast.Name) and target.id in BUILTIN_NAMES:
                    found.append(("builtins", target.id))
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in BUILTIN_NAMES:
            found.append(("builtins", node.name))
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            parts = tuple(name.split("."))
            runner = parts[-1] if (len(parts) == 1 or parts[0] in ("builtins", "__builtins__")) else None
            if runner in CODE_RUNNERS and any(_decodes(arg, decoded) for arg in node.args[:1]):
                found.append(("decoded_code", _shown(node)))
            elif isinstance(node.func, ast.Attribute) and _is_modules(node.func.value) and node.func.attr in (
                    "update", "pop", "popitem", "setdefault", "clear", "__setitem__", "__delitem__"):
                found.append(("sys_modules", _shown(node)))
            elif parts[-2:] in WATCHER_CALLS or isinstance(node.func, ast.Attribute) and (
                    node.func.attr in ("setprofile", "settrace", "addaudithook")
                    or node.func.attr == "audit" and (parts[0] == "sys" or isinstance(node.func.value, ast.Call))):
                found.append(("watcher", name if len(parts) > 1 else _shown(node.func)))
            elif name in ("setattr", "delattr") and node.args and _dotted(node.args[0]).split(".")[0] in (
                    "sys", "threading", "_thread"):
                found.append(("sys_modules" if "modules" in _shown(node) else "watcher", _shown(node)))
            elif parts[-2:] in EXIT_CALLS or name in ("exit", "quit"):
                found.append(("exit", name))
            elif parts[-1] in PROCESS_CALLS and parts[0] in ("os", "pty"):
                found.append(("processes", name))
            elif name in ("setattr", "delattr") and node.args and _dotted(node.args[0]).split(".")[0] in PATCHED_MODULES:
                found.append(("patch_checker", f"{name}({_dotted(node.args[0])}, …)"))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                top = module.split(".")[0]
                if top in NETWORK_MODULES:
                    found.append(("network", module))
                elif top in PROCESS_MODULES:
                    found.append(("processes", module))
                elif top in ("reference_solutions", "autograder", "nbgrader"):
                    found.append(("grader_access", module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            word = next((w for w in SUSPICIOUS_WORDS if w in text), None)
            if word:
                found.append(("grader_access", repr(_excerpt(text, text.index(word)))))
            elif text.startswith("/") and text.count("/") >= 2 and "\n" not in text and len(text) < 300 \
                    and not text.startswith(("/dev/null",)):
                found.append(("absolute_path", repr(_excerpt(text, 0))))
    found += library_uses(tree, library_aliases(tree))
    return found


def _excerpt(text: str, at: int, width: int = 60) -> str:
    """At most ``width`` characters of ``text`` around position ``at``: the reviewer sees the word
    that raised the flag even in a long path (a cut after 60 characters once hid it)."""
    if len(text) <= width:
        return text
    start = max(0, min(at - width // 3, len(text) - width))
    return ("…" if start else "") + text[start:start + width] + ("…" if start + width < len(text) else "")


def scan_notebook(nb, is_ours) -> list[dict]:
    """Flags for the student's code cells (cells for which ``is_ours(cell)`` is true are skipped). A function
    that uses a library implementation of the graded method is flagged also where the import stands in
    another cell (the release's own set-up cell imports ``PartialDependenceDisplay`` for a demo: only a
    function of the student's that uses it is flagged, not the import)."""
    flags = []
    seen = set()
    code = {index: cell.source for index, cell in enumerate(nb.cells) if cell.cell_type == "code"}
    aliases = {}
    for source in code.values():
        aliases.update(_cell_aliases(source))
    frozen = tuple(aliases.items())  # (in the notebook's order: a later import of a name wins, as above)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_ours(cell):
            continue
        found = scan_source(cell.source) + _cell_library_uses(cell.source, frozen)
        for rule, detail in found:
            if (index, rule, detail) not in seen:
                seen.add((index, rule, detail))
                flags.append({"cell": index, "rule": rule, "detail": detail})
    return flags


def _cell_aliases(source: str) -> dict[str, str]:
    """``library_aliases`` of a cell's tree ({} if unparseable), kept like the trees for cells up to the bound."""
    if len(source) > CACHED_CELL_CHARS:
        tree = parse_cell(source)
        return library_aliases(tree) if tree is not None else {}
    return dict(_cell_aliases_kept(source))


@functools.lru_cache(maxsize=CACHED_CELLS)
def _cell_aliases_kept(source: str) -> tuple[tuple[str, str], ...]:
    tree = parse_cell(source)
    return tuple(library_aliases(tree).items()) if tree is not None else ()


def _cell_library_uses(source: str, aliases: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """``library_uses`` of a cell's tree under the notebook's aliases, kept for cells up to the bound (the key is
    the source and the aliases: a function of both alone)."""
    if len(source) > CACHED_CELL_CHARS:
        tree = parse_cell(source)
        return library_uses(tree, dict(aliases)) if tree is not None else []
    return list(_cell_library_uses_kept(source, aliases))


@functools.lru_cache(maxsize=CACHED_CELLS)
def _cell_library_uses_kept(source: str, aliases: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    tree = parse_cell(source)
    return tuple(library_uses(tree, dict(aliases))) if tree is not None else ()


def describe(flag: dict, language: str) -> str:
    """A flag as a note (the texts are the catalogue's ``flag.*``)."""
    found = text(f"flag.{flag['rule']}", language, detail=flag["detail"])
    if flag.get("cell") is None:
        return text("flag.observed", language, text=found)
    return text("flag.in_cell", language, cell=flag["cell"], text=found)
