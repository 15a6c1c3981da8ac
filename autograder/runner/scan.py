"""Flag code that tries to influence grading. Flags never change a score (the sandbox and the
out-of-process comparison make such code harmless); they tell the instructor where to look."""

from __future__ import annotations

import ast

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


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def parse_cell(source: str) -> ast.Module | None:
    """A code cell's syntax tree, IPython magics turned into calls as the kernel does; None if unparseable."""
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def scan_source(source: str) -> list[tuple[str, str]]:
    """(rule, detail) pairs for one cell's code; unparseable code yields nothing."""
    tree = parse_cell(source)
    if tree is None:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                name = _dotted(target)
                root = name.split(".")[0]
                if isinstance(target, ast.Attribute) and root in PATCHED_MODULES:
                    found.append(("builtins" if root == "builtins" else "patch_checker", name))
                elif isinstance(target, ast.Name) and target.id in BUILTIN_NAMES:
                    found.append(("builtins", target.id))
        elif isinstance(node, ast.ClassDef) and node.name in BUILTIN_NAMES:
            found.append(("builtins", node.name))
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            parts = tuple(name.split("."))
            if parts[-2:] in EXIT_CALLS or name in ("exit", "quit"):
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
    return found


def _excerpt(text: str, at: int, width: int = 60) -> str:
    """At most ``width`` characters of ``text`` around position ``at``: the reviewer sees the word
    that raised the flag even in a long path (a cut after 60 characters once hid it)."""
    if len(text) <= width:
        return text
    start = max(0, min(at - width // 3, len(text) - width))
    return ("…" if start else "") + text[start:start + width] + ("…" if start + width < len(text) else "")


def scan_notebook(nb, is_ours) -> list[dict]:
    """Flags for the student's code cells (cells for which ``is_ours(cell)`` is true are skipped)."""
    flags = []
    seen = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_ours(cell):
            continue
        for rule, detail in scan_source(cell.source):
            if (index, rule, detail) not in seen:
                seen.add((index, rule, detail))
                flags.append({"cell": index, "rule": rule, "detail": detail})
    return flags


def describe(flag: dict, language: str) -> str:
    """A flag as a note (the texts are the catalogue's ``flag.*``)."""
    found = text(f"flag.{flag['rule']}", language, detail=flag["detail"])
    if flag.get("cell") is None:
        return text("flag.observed", language, text=found)
    return text("flag.in_cell", language, cell=flag["cell"], text=found)
