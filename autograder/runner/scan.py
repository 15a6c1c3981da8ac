"""Flag code that tries to influence grading. Flags never change a score (the sandbox and the
out-of-process comparison make such code harmless); they tell the instructor where to look."""

from __future__ import annotations

import ast

from IPython.core.inputtransformer2 import TransformerManager

PATCHED_MODULES = {"np", "numpy", "torch", "tf", "tensorflow", "testing", "builtins", "unittest", "pytest",
                   "autograder", "nbgrader", "sklearn", "math"}
NETWORK_MODULES = {"socket", "urllib", "requests", "http", "httpx", "ftplib", "smtplib", "ssl"}
PROCESS_CALLS = {"fork", "forkpty", "system", "popen", "spawnl", "spawnv", "execv", "execve", "kill", "killpg",
                 "setsid", "daemon"}
PROCESS_MODULES = {"subprocess", "multiprocessing", "pty", "signal", "ctypes"}
EXIT_CALLS = {("os", "_exit"), ("sys", "exit"), ("os", "abort")}
SUSPICIOUS_WORDS = ("reference_solutions", "gradebook", "xaigrade", "autograded", "submitted", "cases.pkl",
                    "public_checks", "_xaigrade")

RULES = {
    "patch_checker": {"de": "überschreibt eine Bibliotheksfunktion ({detail})",
                      "en": "overwrites a library function ({detail})"},
    "builtins": {"de": "verändert eingebaute Namen ({detail})", "en": "changes built-in names ({detail})"},
    "grader_access": {"de": "greift auf Grader-Dateien oder -Namen zu ({detail})",
                      "en": "touches grader files or names ({detail})"},
    "absolute_path": {"de": "liest/schreibt Dateien außerhalb des Notebook-Ordners ({detail})",
                      "en": "reads/writes files outside the notebook folder ({detail})"},
    "exit": {"de": "beendet den Prozess ({detail})", "en": "exits the process ({detail})"},
    "processes": {"de": "startet Prozesse oder Signale ({detail})", "en": "starts processes or signals ({detail})"},
    "network": {"de": "öffnet Netzwerkverbindungen ({detail})", "en": "opens network connections ({detail})"},
    # seen while the submission ran (``runtime.py``), not in its source text
    "library_method": {"de": "ruft eine Bibliotheksimplementierung des bewerteten Verfahrens auf ({detail})",
                       "en": "calls a library implementation of the graded method ({detail})"},
    "ran_processes": {"de": "startete Prozesse oder sendete Signale ({detail})",
                      "en": "started processes or sent signals ({detail})"},
    "ran_network": {"de": "benutzte Netzwerk-Sockets ({detail})", "en": "used network sockets ({detail})"},
    "ran_native": {"de": "rief nativen Code über ctypes auf ({detail})", "en": "called native code through ctypes ({detail})"},
    "ran_files": {"de": "öffnete Dateien außerhalb des Notebook-Ordners ({detail})",
                  "en": "opened files outside the notebook folder ({detail})"},
    "ran_imports": {"de": "importierte {detail}", "en": "imported {detail}"},
    "hidden_code": {"de": "führte zur Laufzeit erzeugten Code aus (exec/eval/compile), darin: {detail}",
                    "en": "ran code built at run time (exec/eval/compile), containing: {detail}"},
}
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
                found.append(("grader_access", repr(text[:60])))
            elif text.startswith("/") and text.count("/") >= 2 and "\n" not in text and len(text) < 300 \
                    and not text.startswith(("/dev/null",)):
                found.append(("absolute_path", repr(text[:60])))
    return found


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
    text = RULES[flag["rule"]][language].format(detail=flag["detail"])
    if flag.get("cell") is None:
        prefix = {"de": "Beim Ausführen beobachtet: {text} – ohne Einfluss auf die Bewertung, zur Prüfung markiert.",
                  "en": "Observed while running: {text} – no effect on the grade, flagged for review."}[language]
        return prefix.format(text=text)
    prefix = {"de": "Verdächtiger Code in Zelle {cell}: {text} – ohne Einfluss auf die Bewertung, zur Prüfung markiert.",
              "en": "Suspicious code in cell {cell}: {text} – no effect on the grade, flagged for review."}[language]
    return prefix.format(cell=flag["cell"], text=text)
