"""A generated cohort for the similarity report (tests/test_similarity.py, benchmarks/similarity.py).

Independent students are written the way the grader's corpus already describes students: each graded function is
one of the correct alternatives (``reference_solutions/alternatives/<a>.py``, ALTERNATIVES) or a known-wrong variant
(``reference_solutions/<a>.py``, VARIANTS), its source taken from the module (parsed, not imported: no torch or
TensorFlow needed) with the helpers it calls, then changed the way students differ: results through a variable or
not, ``np.mean(x)`` or ``x.mean()``, ``a += b`` or ``a = a + b``, docstrings, guards, intermediate variables, loops
or comprehensions, statements in another order. Free code cells start from the instructor's cell and are changed,
cut short and added to. Written answers are built per question from a small pool of statements, each with several
wordings, openers and orders, now and then with a number misread (as real answers have them).

Disguised copies take another student's (or the reference's, or an earlier cohort's) work and disguise it:
renamed variables and functions, functions reordered or moved to another cell, comments and blank lines changed,
loops turned into comprehensions (and back), an answer with a few words changed or its sentences reordered.
"""

from __future__ import annotations

import ast
import copy
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("pdp", "gradcam", "counterfactual", "clip")
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)
GRADCAM_FUNCTIONS = ("grad_cam_weights", "grad_cam", "overlay_heatmap", "saliency_map", "randomisation_check")


# --- the corpus: functions from the modules, parsed -----------------------------------------------------------------

def _module(path: Path):
    source = path.read_text()
    tree = ast.parse(source)
    defs = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return source, tree, defs


def _table(tree, name: str) -> dict:
    """``{label: {function: module-level def name}}`` of ALTERNATIVES / VARIANTS, as far as written as data
    (dict literals, and gradcam's ``_student("a")``; variants made by a factory call are skipped)."""
    table = {}

    def entry(value):
        if isinstance(value, ast.Dict):
            out = {}
            for key, item in zip(value.keys, value.values):
                if isinstance(key, ast.Constant) and isinstance(item, ast.Name):
                    out[key.value] = item.id
            return out or None
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "_student"
                and value.args and isinstance(value.args[0], ast.Constant)):
            return {f: f"{value.args[0].value}_{f}" for f in GRADCAM_FUNCTIONS}
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id == name and isinstance(node.value, ast.Dict):
                for key, value in zip(node.value.keys, node.value.values):
                    found = entry(value)
                    if isinstance(key, ast.Constant) and found:
                        table[key.value] = found
            elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                  and target.value.id == name and isinstance(target.slice, ast.Constant)):
                found = entry(node.value)
                if found:
                    table[target.slice.value] = found
    return table


def _with_helpers(source: str, defs: dict, name: str, rename: dict) -> str:
    """The def ``name`` with the module-level defs it uses (helpers first), renamed by ``rename``."""
    order, seen = [], set()

    def visit(current):
        if current in seen:
            return
        seen.add(current)
        for node in ast.walk(defs[current]):
            if isinstance(node, ast.Name) and node.id in defs and node.id != current and node.id not in rename:
                visit(node.id)
        order.append(current)

    visit(name)
    parts = []
    for current in order:
        node = copy.deepcopy(defs[current])
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in rename:
                sub.id = rename[sub.id]
        if isinstance(node, ast.FunctionDef) and node.name in rename:
            node.name = rename[node.name]
        node.decorator_list = []
        parts.append(ast.unparse(node))
    return "\n\n\n".join(parts)


@dataclass
class Corpus:
    """What the generator draws from for one assignment."""

    assignment: str
    release: dict
    functions: dict  # grade id -> [(label, {grade id: module def name}, module)] choices
    modules: dict  # module key -> (source, defs)
    solutions: dict  # grade id -> the instructor's solution cell (markers removed)
    code_cells: list  # grade ids of solution code cells that are one function
    free_cells: list  # grade ids of solution code cells that are free code
    answer_cells: list  # grade ids of answer cells
    release_names: set = field(default_factory=set)

    def function_source(self, grade_id: str, choice) -> str:
        label, names, module = choice
        source, defs = self.modules[module]
        rename = {defname: grade for grade, defname in names.items()}
        return _with_helpers(source, defs, names[grade_id], rename)


def load_corpus(assignment: str) -> Corpus:
    release = json.loads((ROOT / "release" / assignment / f"{assignment}.ipynb").read_text())
    source_nb = json.loads((ROOT / "source" / assignment / f"{assignment}.ipynb").read_text())
    solutions, code_cells, free_cells, answer_cells = {}, [], [], []
    for cell in source_nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("solution"):
            continue
        grade_id = meta["grade_id"]
        text = MARKERS.sub("", "".join(cell["source"])).strip("\n")
        solutions[grade_id] = text
        if cell["cell_type"] == "markdown":
            answer_cells.append(grade_id)
        elif text.lstrip().startswith("def "):
            code_cells.append(grade_id)
        else:
            free_cells.append(grade_id)
    modules, functions = {}, {gid: [] for gid in code_cells}
    for key, path, table in (("alt", ROOT / "reference_solutions" / "alternatives" / f"{assignment}.py", "ALTERNATIVES"),
                             ("var", ROOT / "reference_solutions" / f"{assignment}.py", "VARIANTS")):
        source, tree, defs = _module(path)
        modules[key] = (source, defs)
        for label, names in _table(tree, table).items():
            names = {g: n for g, n in names.items() if g in functions and n in defs}
            for grade_id in names:
                functions[grade_id].append((f"{key}:{label}", names, key))
    release_names = set()
    for cell in release["cells"]:
        if cell["cell_type"] == "code":
            try:
                release_names |= {n.id for n in ast.walk(ast.parse("".join(cell["source"]))) if isinstance(n, ast.Name)}
            except SyntaxError:
                pass
    return Corpus(assignment, release, functions, modules, solutions, code_cells, free_cells, answer_cells,
                  release_names)


# --- how students differ: changes of the syntax tree -----------------------------------------------------------------

NP_METHODS = ("mean", "sum", "max", "min")


class _Changes(ast.NodeTransformer):
    """Random, meaning-preserving changes of one student's code (each site with probability ``p``)."""

    def __init__(self, rng: random.Random, p: float = 0.5, comprehension: float = 0.3):
        self.rng, self.p, self.comprehension = rng, p, comprehension
        self.counter = 0

    def chance(self, p=None):
        return self.rng.random() < (self.p if p is None else p)

    def fresh(self, stem):
        self.counter += 1
        return self.rng.choice([f"{stem}", f"{stem}_{self.counter}", f"my_{stem}", f"{stem}_tmp"])

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id == "len" and len(node.args) == 1 \
                and isinstance(node.args[0], ast.Name) and self.chance(self.p / 2):
            return ast.Subscript(ast.Attribute(node.args[0], "shape", ast.Load()), ast.Constant(0), ast.Load())
        if isinstance(func, ast.Attribute) and func.attr == "copy" and self.chance():
            node.keywords = [] if node.keywords else [ast.keyword("deep", ast.Constant(True))]
            return node
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"
                and func.attr in ("array", "asarray", "zeros", "empty") and self.chance(self.p / 2)):
            if any(k.arg == "dtype" for k in node.keywords):
                node.keywords = [k for k in node.keywords if k.arg != "dtype"]
            else:
                node.keywords.append(ast.keyword("dtype", ast.Name(self.rng.choice(["float", "np.float64"]),
                                                                    ast.Load())))
            return node
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"
                and func.attr == "mean" and len(node.args) == 1 and not node.keywords and self.chance(self.p / 3)):
            return ast.BinOp(ast.Call(ast.Name("sum", ast.Load()), [node.args[0]], []), ast.Div(),
                             ast.Call(ast.Name("len", ast.Load()), [node.args[0]], []))
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"
                and func.attr in NP_METHODS and len(node.args) == 1 and self.chance()):
            return ast.Call(ast.Attribute(node.args[0], func.attr, ast.Load()), [], node.keywords)
        if (isinstance(func, ast.Attribute) and func.attr in NP_METHODS and not node.args
                and not (isinstance(func.value, ast.Name) and func.value.id in ("np", "torch", "tf"))
                and self.chance(self.p / 2)):
            return ast.Call(ast.Attribute(ast.Name("np", ast.Load()), func.attr, ast.Load()), [func.value],
                            node.keywords)
        return node

    def visit_Assign(self, node):
        self.generic_visit(node)
        if (len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.BinOp)
                and isinstance(node.value.left, ast.Name) and node.value.left.id == node.targets[0].id
                and self.chance()):
            return ast.AugAssign(ast.Name(node.targets[0].id, ast.Store()), node.value.op, node.value.right)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.target, ast.Name) and self.chance():
            return ast.Assign([ast.Name(node.target.id, ast.Store())],
                              ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value))
        return node

    def body(self, statements, function=None):
        out = []
        statements = self.loops(statements)
        for statement in statements:
            if isinstance(statement, ast.Return) and statement.value is not None \
                    and not isinstance(statement.value, ast.Name) and self.chance():
                name = self.fresh(self.rng.choice(["result", "out", "res", "values", "ergebnis"]))
                out += [ast.Assign([ast.Name(name, ast.Store())], statement.value), ast.Return(ast.Name(name, ast.Load()))]
                continue
            if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)
                    and isinstance(statement.value.func, ast.Attribute)
                    and isinstance(statement.value.func.value, ast.Call) and self.chance()):
                name = self.fresh(self.rng.choice(["tmp", "step", "zwischen", "h"]))
                inner = statement.value.func.value
                statement.value.func.value = ast.Name(name, ast.Load())
                out += [ast.Assign([ast.Name(name, ast.Store())], inner), statement]
                continue
            out.append(statement)
        out = self.inline(out)
        for i in range(len(out) - 1):  # two independent assignments in the other order
            first, second = out[i], out[i + 1]
            if isinstance(first, ast.Assign) and isinstance(second, ast.Assign) and self.chance(self.p / 2):
                written = {n.id for t in first.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                read = {n.id for n in ast.walk(second) if isinstance(n, ast.Name)}
                written2 = {n.id for t in second.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                read1 = {n.id for n in ast.walk(first.value) if isinstance(n, ast.Name)}
                if not (written & read) and not (written2 & read1):
                    out[i], out[i + 1] = second, first
        if function is not None:
            params = [a.arg for a in function.args.args]
            if params and self.chance(0.35):
                guard = self.rng.choice([
                    f"assert {params[-1]} is not None",
                    f"if {params[0]} is None:\n    raise ValueError('{params[0]} fehlt')",
                    f"{self.fresh('n')} = len({params[-1]}) if hasattr({params[-1]}, '__len__') else None",
                    f"{params[-1]} = list({params[-1]}) if isinstance({params[-1]}, tuple) else {params[-1]}",
                    f"print('{function.name}', type({params[0]}).__name__)",
                    "import numpy as np",
                ])
                out = ast.parse(guard).body + out
            if self.chance(0.3):
                doc = self.rng.choice(["Berechnet das Ergebnis der Aufgabe.", "Siehe Aufgabenstellung.",
                                       f"{function.name}: meine Lösung", "TODO: noch vereinfachen"])
                out = [ast.Expr(ast.Constant(doc))] + out
        return out

    def inline(self, statements):
        """``v = e`` followed by one statement that reads ``v`` once (and nothing later reads it): ``e`` in place."""
        out = list(statements)
        i = 0
        while i < len(out) - 1:
            first, second = out[i], out[i + 1]
            if (isinstance(first, ast.Assign) and len(first.targets) == 1 and isinstance(first.targets[0], ast.Name)
                    and isinstance(second, (ast.Assign, ast.Return, ast.Expr)) and self.chance(self.p / 2)):
                name = first.targets[0].id
                uses = [n for n in ast.walk(second) if isinstance(n, ast.Name) and n.id == name]
                later = [n for s in out[i + 2:] for n in ast.walk(s) if isinstance(n, ast.Name) and n.id == name]
                stored = [n for n in ast.walk(second) if isinstance(n, ast.Name) and n.id == name
                          and isinstance(n.ctx, ast.Store)]
                if len(uses) == 1 and not later and not stored:
                    value = first.value

                    class Put(ast.NodeTransformer):
                        def visit_Name(self, n):
                            return value if n.id == name else n

                    out[i + 1] = Put().visit(second)
                    del out[i]
                    continue
            i += 1
        return out

    def loops(self, statements):
        """``v = []`` + ``for t in it: v.append(e)`` ↔ ``v = [e for t in it]`` (each site with ``comprehension``)."""
        out, i = [], 0
        while i < len(statements):
            first = statements[i]
            second = statements[i + 1] if i + 1 < len(statements) else None
            if (isinstance(first, ast.Assign) and len(first.targets) == 1 and isinstance(first.targets[0], ast.Name)
                    and isinstance(first.value, ast.List) and not first.value.elts and isinstance(second, ast.For)
                    and not second.orelse and len(second.body) == 1 and isinstance(second.body[0], ast.Expr)
                    and isinstance(second.body[0].value, ast.Call)
                    and isinstance(second.body[0].value.func, ast.Attribute)
                    and second.body[0].value.func.attr == "append"
                    and isinstance(second.body[0].value.func.value, ast.Name)
                    and second.body[0].value.func.value.id == first.targets[0].id
                    and len(second.body[0].value.args) == 1 and self.chance(self.comprehension)):
                element = second.body[0].value.args[0]
                out.append(ast.Assign([ast.Name(first.targets[0].id, ast.Store())],
                                      ast.ListComp(element, [ast.comprehension(second.target, second.iter, [], 0)])))
                i += 2
                continue
            if (isinstance(first, ast.Assign) and len(first.targets) == 1 and isinstance(first.targets[0], ast.Name)
                    and isinstance(first.value, ast.ListComp) and len(first.value.generators) == 1
                    and not first.value.generators[0].ifs and self.chance(self.comprehension)):
                name, generator = first.targets[0].id, first.value.generators[0]
                append = ast.Expr(ast.Call(ast.Attribute(ast.Name(name, ast.Load()), "append", ast.Load()),
                                           [first.value.elt], []))
                out += [ast.Assign([ast.Name(name, ast.Store())], ast.List([], ast.Load())),
                        ast.For(generator.target, generator.iter, [append], [])]
                i += 1
                continue
            out.append(first)
            i += 1
        return out

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.body = self.body(node.body, node)
        return node

    def visit_For(self, node):
        self.generic_visit(node)
        node.body = self.body(node.body)
        iterator = node.iter
        if (isinstance(node.target, ast.Name) and isinstance(iterator, ast.Call) and isinstance(iterator.func, ast.Name)
                and iterator.func.id == "range" and len(iterator.args) == 1 and isinstance(iterator.args[0], ast.Call)
                and isinstance(iterator.args[0].func, ast.Name) and iterator.args[0].func.id == "len"
                and isinstance(iterator.args[0].args[0], ast.Name) and self.chance()):
            index, sequence = node.target.id, iterator.args[0].args[0].id
            value = self.fresh(self.rng.choice(["value", "v", "item", "wert"]))

            class Replace(ast.NodeTransformer):
                def visit_Subscript(self, sub):
                    self.generic_visit(sub)
                    if (isinstance(sub.value, ast.Name) and sub.value.id == sequence and isinstance(sub.slice, ast.Name)
                            and sub.slice.id == index and isinstance(sub.ctx, ast.Load)):
                        return ast.Name(value, ast.Load())
                    return sub

            node.body = [Replace().visit(statement) for statement in node.body]
            node.target = ast.Tuple([ast.Name(index, ast.Store()), ast.Name(value, ast.Store())], ast.Store())
            node.iter = ast.Call(ast.Name("enumerate", ast.Load()), [ast.Name(sequence, ast.Load())], [])
        if self.chance(self.p / 3):
            shown = ast.unparse(node.target)
            node.body.append(ast.parse(self.rng.choice([f"print({shown})", f"print('Schritt', {shown})"])).body[0])
        return node

    def visit_With(self, node):
        self.generic_visit(node)
        node.body = self.body(node.body)
        return node

    def visit_Module(self, node):
        self.generic_visit(node)
        node.body = self.body(node.body)
        return node


def changed(code: str, rng: random.Random, p: float = 0.5, comprehension: float = 0.3, rounds: int = 1) -> str:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    for _ in range(rounds):
        tree = _Changes(rng, p, comprehension).visit(tree)
        ast.fix_missing_locations(tree)
        tree = ast.parse(ast.unparse(tree))  # (fresh nodes: a node shared by two places is changed once)
    return ast.unparse(tree)


def free_cell(code: str, rng: random.Random) -> str:
    """A student's own version of a free code cell: the instructor's, changed, some statements left out, an extra
    print or two."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    body = [s for s in tree.body if rng.random() > 0.25] or tree.body[:1]
    extras = ["print('fertig')", "print(type(fig))", "plt.close('all')", "print('Ergebnis:')",
              "np.set_printoptions(precision=3)", "import numpy as np", "print(len(fig.axes))"]
    for _ in range(rng.randint(0, 2)):
        body.insert(rng.randint(0, len(body)), ast.parse(rng.choice(extras)).body[0])
    tree.body = body
    return changed(ast.unparse(tree), rng, p=0.6)


# --- disguises -------------------------------------------------------------------------------------------------------

BUILTIN = set(dir(__builtins__)) if isinstance(__builtins__, dict) is False else set(__builtins__)


def rename_all(code: str, keep: set, rng: random.Random) -> str:
    """Every name the student made (variables, parameters, helper functions) renamed consistently."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
        elif isinstance(node, ast.arg):
            own.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            own.add(node.name)
    own -= keep | BUILTIN
    stems = ["wert", "feld", "daten", "hilfs", "zw", "var", "objekt", "liste", "größe", "el"]
    mapping = {name: f"{rng.choice(stems)}_{i}_{rng.randint(10, 99)}" for i, name in enumerate(sorted(own))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in mapping:
            node.id = mapping[node.id]
        elif isinstance(node, ast.arg) and node.arg in mapping:
            node.arg = mapping[node.arg]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in mapping:
            node.name = mapping[node.name]
        elif isinstance(node, ast.keyword) and node.arg in mapping and False:
            pass
    return ast.unparse(tree)


def reorder_defs(code: str, rng: random.Random) -> str:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    defs = [s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    others = [s for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    rng.shuffle(defs)
    tree.body = defs[::-1] + others if len(defs) > 1 else tree.body
    return ast.unparse(tree)


def recomment(code: str, rng: random.Random) -> str:
    """Comments of its own and blank lines in other places (the old ones dropped)."""
    comments = ["# hier wird gerechnet", "# Schritt", "# TODO", "# nach Folie 12", "# so geht es schneller",
                "# Hilfsvariable", "# Ergebnis zurückgeben", "# Achtung: Kopie!"]
    out = []
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        indent = line[: len(line) - len(line.lstrip())]
        if rng.random() < 0.3:
            out.append(indent + rng.choice(comments))
        out.append(line + ("  " + rng.choice(comments) if rng.random() < 0.15 else ""))
        if rng.random() < 0.2:
            out.append("")
    return "\n".join(out)


def all_loops_flipped(code: str, rng: random.Random) -> str:
    """Every loop that builds a list becomes a comprehension and every comprehension a loop."""
    return changed(code, rng, p=0.0, comprehension=1.0)


# --- written answers -------------------------------------------------------------------------------------------------

SLOT = re.compile(r"\{([^{}]*)\}")


def fill(template: str, rng: random.Random) -> str:
    return SLOT.sub(lambda m: rng.choice(m.group(1).split("|")), template)


OPENERS = ["", "", "", "Man sieht: ", "Auffällig ist: ", "Insgesamt gilt: ", "Im Plot erkennt man: ", "Kurz gesagt: ",
           "Wichtig: ", "Ich denke: ", "Zusammengefasst: ", "Außerdem: "]
CLOSERS = ["", "", "", "", " (siehe Abbildung)", " (vgl. Vorlesung)", ", das war zu erwarten", ", was mich überrascht hat",
           " – so jedenfalls in meinem Lauf"]

ANSWERS = {
    "pdp": {
        "answer_lstat": [
            "{Die Kurve|Der PDP|Die mittlere Vorhersage} {fällt|sinkt|nimmt ab} {deutlich|stark|klar} mit {steigendem|wachsendem|höherem} LSTAT",
            "Bei LSTAT {um 4|von etwa 4|nahe 4} % liegt die Vorhersage bei {31|ca. 31|rund 30}, bei {16|etwa 16} % nur noch bei {19|ca. 19|knapp 19}",
            "{Oberhalb von|Ab|Über} {16|etwa 16|ca. 15} % {bleibt die Kurve fast flach|ändert sich kaum noch etwas|ist der PDP nahezu konstant}",
            "Der Random Forest {ist stückweise konstant|besteht aus Stufen|liefert Treppen}, {deshalb|darum|daher} {sieht man Stufen|ist die Kurve treppenförmig}",
            "{Der PDP|Das Bild} {zeigt nur das Modell|beschreibt das Modell}, {keine Ursache|nicht die Kausalität|keinen kausalen Effekt}",
            "{Die ICE-Kurven|Einzelne Bezirke} {fallen verschieden stark|verhalten sich unterschiedlich}, {was der Mittelwert verdeckt|das sieht man im PDP nicht}",
            "LSTAT {ist mit RM korreliert|hängt mit RM zusammen}, {der PDP mittelt also über unrealistische Kombinationen|so entstehen Kombinationen ohne Daten}",
        ],
        "answer_regions": [
            "{Am höchsten|Maximal} ist die Vorhersage bei {vielen Zimmern|großem RM} und {niedrigem|kleinem} LSTAT, {etwa 40|um 38|ca. 41}",
            "{Am niedrigsten|Minimal} ist sie bei {wenigen Zimmern|kleinem RM} und {hohem|großem} LSTAT, {etwa 17|rund 18|ca. 17}",
            "Die {beiden Merkmale|Merkmale RM und LSTAT} wirken {nahezu additiv|fast unabhängig voneinander|annähernd additiv}",
            "RM {hebt|erhöht|steigert} die Vorhersage bei jedem LSTAT um {etwa 12|11 bis 14|rund 12}",
            "{Nicht parallele Höhenlinien|Geknickte Konturen} sind {kein Beleg|kein Beweis|kein sicheres Zeichen} für eine Interaktion",
            "{Rechts oben|Bei vielen Zimmern und hohem LSTAT} {gibt es keine Daten|liegt kein Bezirk|fehlen Trainingsdaten}, {dort extrapoliert das Modell|das ist Extrapolation}",
        ],
        "answer_models": [
            "{Beide Modelle|Die beiden PDPs} zeigen {denselben Trend|die gleiche Richtung|ähnliche Verläufe}",
            "Gradient Boosting hat R² {0,81|ca. 0,81|etwa 0,8}, der Random Forest {0,79|ca. 0,79|etwa 0,79}",
            "{Gradient Boosting|Das Boosting} {bleibt öfter konstant|hat flachere Abschnitte|zeigt breitere Stufen} als der Random Forest",
            "Der Random Forest {mittelt viele tiefe Bäume|ist ein Mittel aus vielen Bäumen}, {die Stufen verschmieren|dadurch werden die Stufen kleiner}",
            "{Ein PDP|Der PDP} {erklärt das Modell, nicht die Daten|sagt etwas über das Modell und nicht über die Wirklichkeit}",
            "Die {größte Stufe|stärkste Änderung} {liegt bei|findet man bei} RM {um 7,45|bei etwa 7,4|nahe 7,5}",
        ],
    },
    "gradcam": {
        "answer_other_image": [
            "Ich habe {ein Kreuz|die Szene 23|ein großes Kreuz|das Kaffeebild} {gewählt|genommen|verwendet}",
            "Das Modell {sagt|erkennt|klassifiziert} {cross|das Kreuz} mit {p = 0,98|hoher Wahrscheinlichkeit|p ≈ 0,99}",
            "Die Heatmap {liegt|sitzt|befindet sich} {auf dem Objekt|genau auf der Form|über dem Kreuz}",
            "Der Hintergrund {bleibt dunkel|wird kaum markiert|hat fast keine Aktivierung}",
        ],
        "answer_layers": [
            "{layer1|Die erste Schicht} hat die {höchste|größte|feinste} Auflösung, die Heatmap ist {fein, aber verrauscht|sehr unruhig}",
            "{layer4|Die letzte Schicht} ist {grob|flächig|unscharf}, {zeigt aber das Objekt|liegt aber auf der Form}",
            "{Frühe|Untere} Schichten {lernen|erkennen} {Kanten und Farben|einfache Muster|lokale Merkmale}, {späte|obere} {Objektteile|ganze Formen}",
            "{Man nimmt|Üblich ist} die letzte Faltungsschicht, weil sie {klassenspezifisch|semantisch} ist",
            "Beim MiniResNet {hatte nur layer4 den Lokalisierungsterm|ist nur layer4 auf Lokalisierung trainiert}",
        ],
        "answer_classes": [
            "Die {beiden|zwei} Heatmaps {überlappen sich nicht|liegen auf verschiedenen Objekten|sind getrennt}",
            "{Jede Heatmap|Jede Karte} {liegt auf ihrem Objekt|markiert die eigene Form}",
            "Die Normierung {verschweigt|versteckt|zeigt nicht} die {Stärke|Größe} der Evidenz",
            "Grad-CAM {nimmt|verwendet} das Logit, weil die Softmax {von allen Klassen abhängt|die anderen Klassen einbezieht}",
        ],
        "answer_multilabel": [
            "{Für jede Klasse|Pro Label} {berechnet man|bekommt man} eine {eigene|separate} Heatmap",
            "So {sieht man|erkennt man}, ob das Modell {die Objekte getrennt|Hund und Katze getrennt} {lokalisiert|findet}",
            "{Bei einem Multi-Label-Modell|Mit Sigmoid-Ausgaben} {nimmt man|verwendet man} das Logit {jedes Labels|des jeweiligen Labels}",
        ],
        "answer_saliency": [
            "Die Saliency-Map hat {volle Pixelauflösung|eine feine Auflösung}, ist aber {verrauscht|sehr unruhig}",
            "Grad-CAM ist {grob|glatt}, {aber klassenspezifisch|dafür klassenspezifisch}",
            "{Einer Fachperson|Einem Arzt} {würde ich|sollte man} {Grad-CAM|die Heatmap von Grad-CAM} zeigen",
            "{Keine der beiden Methoden|Keine Methode} {garantiert|beweist}, dass sie {dem Modell treu ist|die echten Gründe zeigt}",
        ],
        "answer_twin": [
            "Beide Modelle {klassifizieren|erkennen} die Szenen {fast fehlerfrei|nahezu perfekt}",
            "Beim Zwilling {liegt das Maximum|sitzen die Maxima} {am Rand|an Kanten und Ecken|neben dem Objekt}",
            "Eine Heatmap auf dem Objekt {belegt|zeigt} {Plausibilität|nur Plausibilität}, {nicht die Gründe|keine Gründe des Modells}",
            "Für (b) {folgt|heißt das}, dass {der Schichtvergleich|der Vergleich der Schichten} {verzerrt ist|nur eingeschränkt gilt}",
        ],
    },
    "counterfactual": {
        "answer_lambda": [
            "Mit {wachsendem|größerem|steigendem} λ {sinkt|fällt} der Abstand zum Original",
            "Die Wahrscheinlichkeit der Zielklasse {sinkt|wird kleiner|geht zurück} {bei großem λ|für großes λ}",
            "Bei λ = 20 {wechselt die Klasse|ändert sich die Vorhersage}, aber {nicht zur Zielklasse|zu square}, {also ungültig|das ist nicht gültig}",
            "Die Differenzkarte {wird schwächer|wird blasser|verliert an Stärke}, {die Form bleibt|ihre Form bleibt gleich}",
            "Man {muss|sollte} λ {anpassen|wählen} und die Gültigkeit {prüfen|kontrollieren}",
        ],
        "answer_discussion": [
            "Die Änderung ist {klein, aber dicht|gering, aber überall|schwach und flächig}",
            "{Fast jedes|Jedes} Pixel {ändert sich|wird verändert}, {mehr als die Hälfte|ein großer Teil} {außerhalb der Form|neben der Form}",
            "Das liegt am {quadrierten L2-Abstand|L2-Term}, der {viele kleine Änderungen|verteilte Änderungen} {bevorzugt|belohnt}",
            "Für einen Menschen {sieht es weiter wie ein Kreis aus|ist es immer noch ein Kreis}",
            "Das ist {eher|im Grunde} ein {Adversarial Example|adversarielles Beispiel} als eine {plausible|echte} Erklärung",
        ],
        "answer_l1": [
            "Das L1-Counterfactual {ändert|verändert} {viel weniger|deutlich weniger} Pixel, {etwa 16 %|rund 16 %} statt {35 %|eines Drittels}",
            "Das Soft-Thresholding {setzt|macht} kleine Änderungen {genau auf 0|exakt zu null}",
            "Beim {quadrierten L2-Abstand|L2-Term} {verschwindet|wird} der Gradient für kleine Änderungen {fast|nahezu} {0|null}",
            "Mit {wachsendem|größerem} λ₁ {geht die Gültigkeit verloren|wird das Ziel nicht mehr erreicht}, {bei 0,5 nur cross|erst cross, dann gar kein Wechsel}",
            "{Sparsamer|Sparsam} {heißt nicht|ist nicht automatisch} {plausibler|verständlicher}",
        ],
    },
    "clip": {
        "answer_similarity": [
            "Die wahre Beschreibung hat den {höchsten|größten} Kosinus, {etwa 0,88|ca. 0,88|rund 0,9}",
            "Eine {vagere|ungenauere} Beschreibung liegt {nicht sicher|nicht immer} zwischen der wahren und der falschen",
            "Das kleine CLIP {kennt nur|wurde nur trainiert mit} {die Beschreibungen der Vorlage|Texten nach der Vorlage}",
            "Die Softmax {verstärkt|vergrößert} {kleine Unterschiede|Kosinus-Unterschiede} {durch die Exponentialfunktion|über e hoch s}",
            "Die Softmax ist {relativ zu den angebotenen Texten|nur relativ zu den anderen Texten}",
        ],
        "answer_own_image": [
            "Ich habe {das Kaffeefoto|ein Foto von Kaffee|das Bild coffee} {gewählt|genommen}",
            "{Die beste Beschreibung|Den höchsten Kosinus} {hat|bekommt} {a cup of coffee|die falsche Beschreibung|eine geometrische Beschreibung}",
            "Das {passt nicht|stimmt nicht} zum Bild, weil das kleine CLIP {nur synthetische Szenen kennt|keine Fotos gesehen hat}",
            "Die Verteilung {hat sich verschoben|ist eine andere} als beim Training",
        ],
        "answer_ranking": [
            "Die wahre Beschreibung {liegt vorn|ist auf Platz 1|gewinnt}, {Kosinus etwa 0,88|mit ca. 0,88}",
            "Die {vagere|kürzere} Beschreibung {folgt|kommt} {mit etwa 0,75|auf Platz 2}",
            "Die falsche {liegt hinten|ist zuletzt|kommt zuletzt} {mit etwa -0,58|bei ca. -0,58}",
            "Die Softmax {macht|verstärkt} {die Abstände|die Unterschiede} {viel größer|deutlich}",
        ],
        "answer_token_relevance": [
            "Das Füllwort {a|„a“} {bekommt|hat} {den größten Anteil|am meisten Attention}, {etwa 0,38|ca. 0,4}",
            "Bei {kürzeren|vageren} Beschreibungen {verteilt sich|konzentriert sich} die Attention auf {weniger Token|wenige Wörter}",
            "{token_importance|Die Funktion} {bekommt kein Bild|sieht das Bild nicht}, {also|daher} {keine Relevanz für das Bild|sagt sie nichts über das Bild}",
        ],
        "answer_attention": [
            "{Nur bedingt|Eher nicht|Nein}, Attention {ist keine Erklärung|erklärt nicht}",
            "Die Werte-Vektoren {sind verschieden groß|haben unterschiedliche Normen}",
            "{Residualverbindungen|Die MLPs} {umgehen|laufen an} {die Attention|der Attention vorbei}",
            "{Besser|Genauer} wäre {Wörter wegzulassen|Integrated Gradients|Attention Rollout|Gradient mal Input}",
        ],
        "answer_uses": [
            "Für Zero-Shot {bettet man|kodiert man} {für jede Klasse|pro Klasse} einen Text ein und {nimmt|wählt} den {höchsten|größten} Kosinus",
            "Für die Suche {sortiert man|ordnet man} die Bilder nach {Kosinus-Ähnlichkeit|Ähnlichkeit} zur Anfrage",
            "{Die Formulierung der Prompts|Der Wortlaut} {ist wichtig|beeinflusst das Ergebnis stark}",
            "{Trainingsdaten aus dem Web|Webdaten} {enthalten Vorurteile|sind verzerrt}",
            "Bei {Verteilungsverschiebung|anderen Bildern als im Training} {versagt|scheitert} das Modell, {wie beim Kaffeefoto|siehe Frage 2}",
        ],
        "answer_zero_shot": [
            "Die beste allgemeine Vorlage ist die kürzeste ({nur „a“ und die Form|„a“ plus Klassenname}) mit {0,46|etwa 0,46|46 %}",
            "Das Ensemble {übertrifft|schlägt} die beste Vorlage {nicht|nicht ganz}, {liegt aber über dem Mittel|ist aber besser als eine zufällige Vorlage}",
            "Im Mittel {heben sich|gleichen sich} {Farbe, Größe und Ort|die anderen Wörter} {teilweise auf|aus}",
            "Die beste Vorlage {kennt man erst nach dem Messen|wählt man auf den Testbildern aus}, {das überschätzt|das schönt} die Genauigkeit",
            "Eine Genauigkeit gilt nur für {Modell und Vorlagen|das Modell mit diesen Vorlagen} zusammen",
        ],
    },
}

# a question the pools above do not know yet (a notebook that got a new question): statements any answer could make
GENERIC = [
    "{Die Abbildung|Das Bild|Der Plot|Die Grafik} {zeigt|macht sichtbar|stellt dar}, wie {das Modell|die Vorhersage} {reagiert|sich verhält}",
    "{Man darf|Wir dürfen|Ich würde} {das|dieses Ergebnis|die Kurve} {nicht kausal deuten|nicht als Ursache lesen|nur als Modellverhalten lesen}",
    "{Wo|Wenn} {keine Daten|wenig Daten|kaum Beobachtungen} {liegen|sind}, {extrapoliert das Modell|ist die Aussage unsicher|sollte man vorsichtig sein}",
    "{Korrelierte Merkmale|Abhängige Merkmale|Zusammenhänge zwischen Merkmalen} {verzerren|verfälschen|beeinflussen} {das Bild|die Erklärung|den Mittelwert}",
    "{Ein Vergleich|Eine Gegenprobe|Ein zweiter Blick} mit {ICE-Kurven|anderen Methoden|einem zweiten Modell} {hilft|wäre sinnvoll|zeigt mehr}",
    "{Der Mittelwert|Die Mittelung|Das Mitteln} {verdeckt|versteckt|glättet} {Unterschiede zwischen Fällen|einzelne Ausreißer|Interaktionen}",
]

FILLERS = ["auch", "eher", "eigentlich", "ziemlich", "hier", "dabei", "klar", "wohl", "ja", "also", "sogar"]
MISREAD = re.compile(r"\d+(?:,\d+)?")


def answer(pool: list[str], rng: random.Random, misread: bool = False) -> str:
    chosen = rng.sample(pool, k=min(len(pool), rng.randint(2, 4)))
    out = []
    for template in chosen:
        sentence = fill(template, rng)
        if misread and MISREAD.search(sentence) and rng.random() < 0.6:
            sentence = MISREAD.sub(lambda m: f"{rng.randint(10, 99)},{rng.randint(10, 99)}", sentence, count=1)
        words = sentence.split(" ")  # (everyone has words of their own)
        for i, word in enumerate(words):
            if word in SYNONYMS and rng.random() < 0.3:
                words[i] = rng.choice(SYNONYMS[word])
            elif rng.random() < 0.05:
                words[i] = word + " " + rng.choice(FILLERS)
        sentence = rng.choice(OPENERS) + " ".join(words) + rng.choice(CLOSERS) + "."
        out.append(sentence[0].upper() + sentence[1:])
    return " ".join(out) if rng.random() < 0.6 else "\n\n".join(out)


SYNONYMS = {"deutlich": ["klar", "sichtbar", "stark"], "Vorhersage": ["Prognose", "Schätzung", "Ausgabe"],
            "zeigt": ["zeigt uns", "macht sichtbar", "stellt dar"], "Modell": ["Netz", "System", "Verfahren"],
            "liegt": ["befindet sich", "sitzt", "ist"], "fällt": ["geht runter", "nimmt ab", "wird kleiner"],
            "sinkt": ["geht zurück", "wird kleiner", "nimmt ab"], "höchsten": ["größten", "stärksten", "besten"],
            "Heatmap": ["Wärmekarte", "Karte", "Hitzekarte"], "Beschreibung": ["Bildbeschreibung", "Caption", "Text"],
            "Die": ["Diese", "Jene"], "ist": ["ist hier", "ist wohl", "ist eben"], "aber": ["jedoch", "allerdings"],
            "weil": ["da", "denn"], "die": ["jene", "diese"], "Kurve": ["Linie", "Funktion", "Grafik"],
            "Abstand": ["Distanz", "Unterschied"], "wird": ["wird dabei", "wird wohl"], "Bild": ["Foto", "Eingabebild"],
            "hat": ["besitzt", "zeigt", "bekommt"], "und": ["sowie", "und auch"], "mit": ["bei", "zusammen mit"],
            "nicht": ["keineswegs", "gar nicht"], "sich": ["sich dabei", "sich hier"], "der": ["dieser", "jener"]}


def few_words_changed(value: str, rng: random.Random, count: int = 4) -> str:
    """A few words (``count`` per answer) replaced by one of their synonyms, chosen at random."""
    words = value.split(" ")
    places = [i for i, w in enumerate(words) if w in SYNONYMS]
    rng.shuffle(places)
    for i in places[:count]:
        words[i] = rng.choice(SYNONYMS[words[i]])
    return " ".join(words)


def sentences_reordered(value: str, rng: random.Random) -> str:
    parts = [p for p in re.split(r"(?<=[.!?])\s+", value) if p.strip()]
    if len(parts) > 1:
        original = list(parts)
        while parts == original:
            rng.shuffle(parts)
    return " ".join(parts)


# --- students --------------------------------------------------------------------------------------------------------

@dataclass
class Student:
    cells: dict  # grade id -> source (cells not named: as released)
    source: str = ""  # what it is: "independent", or the disguise and whom it copies


def independent(corpus: Corpus, rng: random.Random) -> Student:
    cells = {}
    misread = rng.random() < 0.3
    for grade_id in corpus.code_cells:
        if rng.random() < 0.06 or not corpus.functions[grade_id]:
            continue  # (left as released)
        choice = rng.choice(corpus.functions[grade_id])
        cells[grade_id] = changed(corpus.function_source(grade_id, choice), rng, p=0.55, rounds=3)
    for grade_id in corpus.free_cells:
        if rng.random() < 0.1:
            continue
        cells[grade_id] = free_cell(corpus.solutions[grade_id], rng)
    for grade_id in corpus.answer_cells:
        if rng.random() < 0.08:
            continue
        cells[grade_id] = answer(ANSWERS[corpus.assignment].get(grade_id, GENERIC), rng, misread)
    return Student(cells, "independent")


def reference_student(corpus: Corpus) -> Student:
    """The instructor's solution as a student would hand it in (the rubric lines of the model answers dropped)."""
    cells = dict(corpus.solutions)
    for grade_id in corpus.answer_cells:
        lines = [line for line in cells[grade_id].splitlines()
                 if not line.startswith(("Musterantwort", "**Punkte", "*")) and "Punkt" not in line]
        cells[grade_id] = "\n".join(lines).strip()
    return Student(cells, "reference")


def disguised(corpus: Corpus, original: Student, rng: random.Random, *, rename=False, reorder=False, comments=False,
              loops=False, words=False, order=False, code=True, text=True, own: Student | None = None) -> Student:
    """A copy of ``original``'s code (``code``) and answers (``text``), disguised; what is not copied is ``own``."""
    cells = dict(own.cells) if own is not None else {}
    keep = corpus.release_names | set(corpus.code_cells) | {"np", "pd", "torch", "F", "tf", "keras", "plt"}
    code_ids = [g for g in corpus.code_cells + corpus.free_cells if g in original.cells]
    if code:
        for grade_id in code_ids:
            source = original.cells[grade_id]
            if loops:
                source = all_loops_flipped(source, rng)
            if rename:
                source = rename_all(source, keep, rng)
            if reorder:
                source = reorder_defs(source, rng)
            if comments:
                source = recomment(source, rng)
            cells[grade_id] = source
        functions = [g for g in corpus.code_cells if g in cells]
        if reorder and len(functions) >= 2:  # one function moved into the cell of another, in front of it
            moved, host = rng.sample(functions, 2)
            cells[host] = cells[moved] + "\n\n\n" + cells[host]
            cells[moved] = "# siehe oben / see above"
    if text:
        for grade_id in corpus.answer_cells:
            if grade_id not in original.cells:
                cells.pop(grade_id, None)  # (what the original left blank, the copy leaves blank too)
                continue
            value = original.cells[grade_id]
            if words:
                value = few_words_changed(value, rng)
            if order:
                value = sentences_reordered(value, rng)
            cells[grade_id] = value
    return Student(cells)


def notebook(corpus: Corpus, student: Student) -> dict:
    nb = copy.deepcopy(corpus.release)
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in student.cells:
            cell["source"] = student.cells[grade_id]
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
    return nb


def write(folder: Path, student: str, assignment: str, nb: dict) -> Path:
    target = Path(folder) / student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(nb, ensure_ascii=False))
    return target


@dataclass
class Cohort:
    """A generated cohort of one assignment: who is independent, and which pairs are copies."""

    assignment: str
    independent: list
    copies: dict  # copy id -> description
    pairs: set  # frozenset({a, b}) of the documents that share work (ids; "reference", "earlier/<c>/<id>")


def build(assignment: str, submitted: Path, earlier: Path | None = None, independents: int = 40, copies: bool = True,
          seed: int = 0, corpus: Corpus | None = None, earlier_students: int = 8,
          published: Path | None = None) -> Cohort:
    """Write the cohort's notebooks to ``submitted/<student>/<assignment>/``, an earlier cohort to
    ``earlier/<student>/<assignment>/``, a solution found on the web to ``published/<assignment>.ipynb``; returns
    who is who."""
    corpus = corpus or load_corpus(assignment)
    rng = random.Random(f"{assignment}-{seed}")
    students = {f"s{i:03d}": independent(corpus, rng) for i in range(independents)}
    truth: set = set()
    described = {}
    if earlier is not None:
        before = {f"e{i:03d}": independent(corpus, random.Random(f"{assignment}-earlier-{seed}-{i}"))
                  for i in range(earlier_students)}
        for name, student in before.items():
            write(earlier, name, assignment, notebook(corpus, student))
    if copies:
        fillable = [g for g in corpus.code_cells if corpus.functions[g]] + corpus.answer_cells
        complete = [name for name in sorted(students)  # (a copy copies work: of someone who did all of it)
                    if all(g in students[name].cells for g in fillable)]
        if len(complete) < 9:  # (a small class: the nine most complete students are the ones copied)
            complete = sorted(students, key=lambda n: (-sum(g in students[n].cells for g in fillable), n))[:9]
        sources = rng.sample(complete, 9)
        fresh = lambda: independent(corpus, rng)  # noqa: E731  (the copier's own work where not copied)
        plan = {
            "c_rename": (sources[0], dict(rename=True)),
            "c_reorder": (sources[1], dict(rename=True, reorder=True)),
            "c_comments": (sources[2], dict(comments=True)),
            "c_loops": (sources[3], dict(loops=True, rename=True)),
            "c_text_words": (sources[4], dict(code=False, words=True, own=fresh())),
            "c_text_order": (sources[5], dict(code=False, order=True, own=fresh())),
            "c_code_only": (sources[6], dict(text=False, rename=True, loops=True, comments=True, own=fresh())),
            "c_everything": (sources[7], dict(rename=True, reorder=True, comments=True, loops=True, words=True,
                                              order=True)),
            "c_cluster_1": (sources[8], dict(rename=True, comments=True, words=True)),
            "c_cluster_2": (sources[8], dict(reorder=True, loops=True, order=True)),
        }
        for name, (original, options) in plan.items():
            students[name] = disguised(corpus, students[original], rng, **options)
            described[name] = f"{', '.join(k for k, v in options.items() if v is True)} of {original}"
            truth.add(frozenset((name, original)))
        truth.add(frozenset(("c_cluster_1", "c_cluster_2")))
        students["c_reference"] = disguised(corpus, reference_student(corpus), rng, rename=True, comments=True,
                                            words=True)
        described["c_reference"] = "the reference solution, renamed, comments, words changed"
        truth.add(frozenset(("c_reference", "reference")))
        if earlier is not None:
            students["c_earlier"] = disguised(corpus, before["e001"], rng, rename=True, comments=True, words=True)
            described["c_earlier"] = "an earlier cohort's e001, renamed, comments, words changed"
            truth.add(frozenset(("c_earlier", f"earlier/{Path(earlier).resolve().name}/e001")))
        if published is not None:
            web = independent(corpus, random.Random(f"{assignment}-published-{seed}"))
            target = Path(published) / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(notebook(corpus, web), ensure_ascii=False))
            students["c_published"] = disguised(corpus, web, rng, rename=True, reorder=True, words=True)
            described["c_published"] = "a published solution, renamed, reordered, words changed"
            truth.add(frozenset(("c_published", f"published/{assignment}.ipynb")))
    for name, student in students.items():
        write(submitted, name, assignment, notebook(corpus, student))
    return Cohort(assignment, [n for n in students if n.startswith("s")], described, truth)
