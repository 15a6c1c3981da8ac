"""Similar submissions (issue 27, autograder/similarity.py, `xaigrade similarity`).

A generated cohort per assignment (tests/similarity_cohort.py: 40 independent students written from the correct
and known-wrong alternatives, changed the way students differ; an earlier cohort; a published solution; 14 disguised
copies): every copy above the line, no other pair above it; a cohort without copies flags nobody. Then the parts:
German text normalisation, copydetect's token stream, the template removed, hostile notebooks reported, identical
wrong results as strong evidence, the page in headless Chromium, the CLI on a Moodle-collected course, and that the
report never lands where students or exports look.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup

import similarity_cohort as generated
from autograder import similarity as sim
from autograder.config import PROJECT_ROOT, load_settings

ASSIGNMENTS = [a for a in generated.ASSIGNMENTS if (PROJECT_ROOT / "source" / a / f"{a}.ipynb").exists()]
EARLIER = "earlier2025"


def keys(cohort, pair) -> frozenset:
    return frozenset((cohort.documents[pair.a].key, cohort.documents[pair.b].key))


def sources(base: Path, **more) -> sim.Sources:
    return sim.Sources(PROJECT_ROOT, base / "submitted", base / "out", **more)


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def with_copies(request, tmp_path_factory):
    assignment = request.param
    base = tmp_path_factory.mktemp(f"cohort_{assignment}")
    truth = generated.build(assignment, base / "submitted", base / EARLIER, published=base / "published")
    summary = sim.similarity_report(assignment, sources(base, earlier=(base / EARLIER,), published=base / "published"),
                                    "de", names={})
    return assignment, base, truth, summary


# --- the cohort -------------------------------------------------------------------------------------------------------

def test_every_disguised_copy_is_above_the_line_and_no_other_pair(with_copies):
    assignment, base, truth, summary = with_copies
    cohort = summary["cohort"]
    students = [d for d in cohort.documents if d.kind == "student"]
    assert len(truth.independent) >= 40 and len(truth.copies) >= 10
    assert len(students) == len(truth.independent) + len(truth.copies)
    kinds = {d.kind for d in cohort.documents}
    assert kinds == {"student", "reference", "earlier", "published"}
    above = {keys(cohort, p) for p in cohort.above()}
    missed = truth.pairs - above
    assert not missed, f"copies below the line: {sorted(map(sorted, missed))}"
    wrong = above - truth.pairs
    assert not wrong, f"pairs above the line that share no work: {sorted(map(sorted, wrong))}"
    # each kind of disguise by name (renamed, reordered, comments, loops, words, sentence order, reference, ...)
    for copier in truth.copies:
        assert any(copier in pair for pair in above), copier


def test_the_csv_has_one_row_per_pair_above_the_line_with_ids_as_submitted(with_copies):
    assignment, base, truth, summary = with_copies
    rows = list(csv.DictReader(summary["csv"].open(encoding="utf-8")))
    assert len(rows) == summary["above"] == len(truth.pairs)
    assert {"student_a", "student_b", "score", "evidence"} <= set(rows[0])
    submitted = {p.name for p in (base / "submitted").iterdir()}
    for row in rows:
        assert row["student_a"] in submitted  # (a current student first; the other may be the reference etc.)
        assert row["student_b"] in submitted or row["student_b"].split("/")[0] in ("reference", "earlier",
                                                                                    "published")
        assert set(row["evidence"].split()) <= {"code", "text", "wrong_results", "numbers"} and row["evidence"]
        assert float(row["score"]) >= sim.LINE
    pairs = {frozenset((r["student_a"], r["student_b"])) for r in rows}
    assert pairs == truth.pairs
    evidence = {r["student_a"]: set(r["evidence"].split()) for r in rows}
    assert "text" in evidence["c_text_order"] and "code" not in evidence["c_text_order"]  # (own code, copied text)
    assert "code" in evidence["c_code_only"] and "text" not in evidence["c_code_only"]
    assert {"code", "text"} <= evidence["c_everything"]


def test_the_page_labels_reference_earlier_published_and_shows_the_cluster_once(with_copies):
    assignment, base, truth, summary = with_copies
    soup = BeautifulSoup(summary["page"].read_text(encoding="utf-8"), "html.parser")
    text = soup.get_text(" ")
    assert "[Musterlösung der Lehrenden]" in text
    assert f"[früherer Jahrgang {EARLIER}: e001]" in text
    assert f"[veröffentlichte Lösung: {assignment}.ipynb]" in text
    assert "keine Bewertung" in soup.select_one("p.note").text
    clusters = soup.select("section.cluster")
    assert len(clusters) == 1  # the two copies of one student and that student: one entry
    members = {m.strip() for m in clusters[0].select_one("p").text.split(",")}
    assert {"c_cluster_1", "c_cluster_2"} <= members and len(members) == 3
    assert len(soup.select("section.pair")) == len(truth.pairs) - 3 + 1  # each other pair once, the cluster's once
    assert soup.select_one("figure img")["src"].startswith("data:image/png;base64,")  # the histogram
    assert soup.select("section.pair pre mark")  # the matched fragments highlighted
    assert soup.find("script") is None


def test_a_cohort_without_copies_flags_nobody(tmp_path):
    for assignment in ASSIGNMENTS:
        base = tmp_path / assignment
        generated.build(assignment, base / "submitted", base / EARLIER, copies=False, seed=7)
        documents, template = sim.collect_documents(assignment, sources(base, earlier=(base / EARLIER,)))
        cohort = sim.score_cohort(assignment, documents, template)
        assert sum(d.kind == "student" for d in documents) == 40
        assert len(cohort.pairs) > 800
        flagged = [sorted(keys(cohort, p)) for p in cohort.above()]
        assert flagged == [], (assignment, flagged)


# --- the parts ---------------------------------------------------------------------------------------------------------

def test_german_text_is_normalised_for_comparison():
    norm = sim.normalise_text
    assert norm("Die Größe nimmt ÄUSSERST stark ab!") == norm("die groesse  nimmt aeusserst stark ab")
    assert norm("Übergänge,\n\tüber\u00a0Straße") == "uebergaenge ueber strasse"
    assert norm("**Ergebnis:** R² = 0,81; etwa 7,45 Zimmer.") == "ergebnis r2 0.81 etwa 7.45 zimmer"
    assert norm("café — naïve") == "cafe naive"
    assert sim.numbers_of(norm("R² 0,81 und 0.810 bei 7 von 42")) == {"0.81", "42"}


def test_code_is_compared_on_tokens_names_literals_comments_and_layout_do_not_count():
    first = "def f(values, k=3):\n    # mean of the top k\n    best = sorted(values)[-k:]\n    return sum(best) / k\n"
    second = ("def helper(xs,   n=5):\n\n    best_values = sorted(xs)[-n:]  # andere Kommentare\n"
              "    return sum(best_values) / n   \n")
    assert sim.code_tokens(first)[0] == sim.code_tokens(second)[0]
    assert sim.code_tokens("x = 'a' 'b'  f'c'")[0] == sim.code_tokens('x = """ganz anders"""')[0] == "V=S"
    assert sim.code_tokens("print(f'Wert {y:.2f}')")[0] == sim.code_tokens('print(f"value {z:.3f}")')[0]
    different = "def f(values, k=3):\n    return max(values) * k\n"
    assert sim.code_tokens(first)[0] != sim.code_tokens(different)[0]
    filtered, spans = sim.code_tokens(first)
    assert len(spans) == len(filtered)  # every filtered character points back into the original (highlighting)
    assert all(0 <= s < e <= len(first) for s, e in spans)


def test_fragment_weights_what_every_second_student_writes_weighs_nothing():
    weights = sim.fragment_weights(np.array([2, 5, 25, 50, 60]), documents=60)
    assert weights[0] == 1.0 and 0 < weights[1] < 1
    assert weights[2] < weights[1] and weights[3] == 0.0 and weights[4] == 0.0
    assert weights[2] == pytest.approx(np.log(30 / 25) / np.log(15))


def test_the_release_is_removed_and_blank_submissions_match_nothing(tmp_path):
    """Copies of the release (no work) and a submission with only the release's text: each noted, no pair with them
    compared, let alone above the line; the release's own lines are not part of anyone's work."""
    base = tmp_path
    corpus = generated.load_corpus("pdp")
    generated.build("pdp", base / "submitted", copies=False, independents=20, corpus=corpus)
    release = json.loads((PROJECT_ROOT / "release" / "pdp" / "pdp.ipynb").read_text())
    for student in ("blank_1", "blank_2"):
        generated.write(base / "submitted", student, "pdp", release)
    documents, template = sim.collect_documents("pdp", sources(base))
    cohort = sim.score_cohort("pdp", documents, template)
    blank = {i for i, d in enumerate(documents) if d.key.startswith("blank_")}
    for i in blank:
        assert documents[i].code == "" and documents[i].answers == []
        assert ("no_own_work", {}) in documents[i].problems
    for pair in cohort.pairs:
        if {pair.a, pair.b} & blank:
            assert pair.code is None and pair.text is None and pair.score == 0 and not pair.above
    release_lines = template.code_lines
    assert release_lines and "raise NotImplementedError()" in release_lines
    for document in documents:
        assert not any(sim._normalise_line(line) in release_lines for line in document.code.splitlines()
                       if not line.startswith("# ── "))
    assert not cohort.above()


def _hostile_course(base: Path) -> dict:
    """A pdp cohort with one of each kind of bad notebook; returns {student: problem key expected}."""
    corpus = generated.load_corpus("pdp")
    generated.build("pdp", base / "submitted", copies=False, independents=20, corpus=corpus)
    release = json.loads((PROJECT_ROOT / "release" / "pdp" / "pdp.ipynb").read_text())
    folder = base / "submitted"
    import random

    def place(student, data: bytes | None = None) -> Path:
        target = folder / student / "pdp" / "pdp.ipynb"
        target.parent.mkdir(parents=True)
        if data is not None:
            target.write_bytes(data)
        return target

    place("empty", b"")
    place("not_json", b"{\"cells\": [ this is not json")
    place("no_cells", json.dumps({"cells": "none", "metadata": {}}).encode())
    place("too_complex", b"[" * 300_000 + b"]" * 300_000)
    pasted = generated.notebook(corpus, generated.independent(corpus, random.Random(99)))  # work, and 10 MB output
    pasted["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "0.1234 " * (10 * 2**20 // 7)})
    place("pasted_10mb", json.dumps(pasted).encode())
    binary = json.loads(json.dumps(release))
    cell = next(c for c in binary["cells"] if c["cell_type"] == "markdown" and c["metadata"].get("nbgrader", {})
                .get("solution"))
    cell["source"] = "".join(chr(i % 32) for i in range(4000))
    place("binary", json.dumps(binary).encode())
    place("too_large", b" " * (load_settings(PROJECT_ROOT).max_notebook_mb * 2**20 + 10))
    target = place("symlinked")
    target.symlink_to(PROJECT_ROOT / "source" / "pdp" / "pdp.ipynb")
    fifo = place("fifo")
    os.mkfifo(fifo)
    (folder / "no_notebook" / "pdp").mkdir(parents=True)
    (folder / "no_notebook" / "pdp" / "notes.txt").write_text("vergessen")
    return {"empty": "empty_file", "not_json": "not_json", "no_cells": "no_cells", "too_complex": "too_complex",
            "pasted_10mb": "cell_cut", "binary": "cell_binary", "too_large": "too_large", "symlinked": "not_regular",
            "fifo": "not_regular", "no_notebook": "no_notebook"}


def test_hostile_notebooks_are_each_reported_and_stop_nothing(tmp_path, capsys):
    from autograder.cli import main

    expected = _hostile_course(tmp_path)
    code = main(["--language", "en", "similarity", "pdp", "--course-dir", str(PROJECT_ROOT), "--submissions",
                 str(tmp_path / "submitted"), "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert "pdp: 30 submissions" in out
    lines: dict = {}
    for line in out.splitlines():
        if line.startswith("  "):
            lines[line.strip().split(":")[0]] = lines.get(line.strip().split(":")[0], "") + line
    for student, key in expected.items():
        assert student in lines, (student, out)
    assert "characters, only the first 50,000 compared" in lines["pasted_10mb"]
    assert "too little" not in lines["pasted_10mb"]  # (its work is compared)
    assert "binary data" in lines["binary"] and "too large" in lines["too_large"]
    assert "not a regular file" in lines["symlinked"] and "not a regular file" in lines["fifo"]
    assert "not a valid notebook" in lines["not_json"] and "no .ipynb file" in lines["no_notebook"]
    page = (tmp_path / "out" / "similarity" / "pdp.html").read_text(encoding="utf-8")
    problems = BeautifulSoup(page, "html.parser").select("ul.problems li")
    for student in expected:
        assert any(item.text.startswith(f"{student}:") for item in problems), student
    assert len(page) < 2 * 2**20  # the 10 MB of pasted output is not on the page
    # the notebook with pasted output still counts with the work it has; nobody is above the line
    documents, template = sim.collect_documents("pdp", sources(tmp_path))
    pasted = next(d for d in documents if d.key == "pasted_10mb")
    assert pasted.code and pasted.answers and [key for key, _ in pasted.problems] == ["cell_cut"]
    assert pasted.problems[0][1]["chars"] > 10 * 10**6 and pasted.problems[0][1]["kept"] == sim.MAX_CELL_CHARS
    cohort = sim.score_cohort("pdp", documents, template)
    index = next(i for i, d in enumerate(documents) if d is pasted)
    compared = [p for p in cohort.pairs if index in (p.a, p.b)]
    assert sum(p.code is not None for p in compared) >= 20 and sum(p.text is not None for p in compared) >= 15
    assert list(csv.DictReader((tmp_path / "out" / "similarity" / "pdp.csv").open())) == []


def test_identical_wrong_results_are_strong_evidence_and_shared_mistakes_are_not(tmp_path):
    """Two students fail the same check with the same wrong value that nobody else has: evidence, shown; a mistake
    three students make is no evidence for any pair of them."""
    generated.build("pdp", tmp_path / "submitted", copies=False, independents=30, seed=3)
    graded = tmp_path / "out" / ".xaigrade" / "graded"

    def state(student, failing: dict):
        report = {"pd_grid_hidden": {"score": 1.0, "max_score": 1.0, "message": "ok"}, "_secret": "x"}
        report.update({check: {"score": 0.0, "max_score": 1.0, "message": message} for check, message in failing.items()})
        (graded / student).mkdir(parents=True, exist_ok=True)
        (graded / student / "pdp.json").write_text(json.dumps({"report": report}))

    odd = "Ihr Wert am Rand: 17.3412 statt 21.0087"
    for student in ("s001", "s002"):
        state(student, {"pd_values_hidden": odd, "ice_shape": "Form (3, 50) statt (50, 3)"})
    state("s003", {"ice_shape": "Form (3, 50) statt (50, 3)"})
    state("s004", {"pd_values_hidden": "Ihr Wert am Rand: 18.0 statt 21.0087"})
    (graded / "s005").mkdir(parents=True)
    (graded / "s005" / "pdp.json").write_text("{not json")  # (a broken state file: no evidence, no crash)
    summary = sim.similarity_report("pdp", sources(tmp_path), "de", names={})
    cohort = summary["cohort"]
    pair = next(p for p in cohort.pairs if keys(cohort, p) == {"s001", "s002"})
    assert pair.wrong == (("pd_values_hidden", odd),)  # ice_shape: three students, no evidence
    assert "wrong_results" in pair.evidence
    others = [p for p in cohort.pairs if p.wrong and p is not pair]
    assert others == []
    base_score = max(pair.code_z, pair.text_z, 0.0) + sim.EVIDENCE_BONUS * bool(pair.numbers)
    assert pair.score == pytest.approx(base_score + sim.EVIDENCE_BONUS)
    shown = BeautifulSoup(sim._pair_html(cohort, pair, "de", {}, 1), "html.parser")
    assert "die keine dritte Abgabe hat (1):" in shown.select_one("p.evidence").text
    assert shown.select_one("ul li").text == f"pd_values_hidden: {odd}"


HOSTILE = ["</script><script>document.body.setAttribute('data-pwned','script')</script>",
           "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">",
           "<a href=\"javascript:document.body.setAttribute('data-pwned','link')\">klick</a>"]


def _hostile_pair(base: Path) -> None:
    """20 independent students, and two who share work that carries script in code and answers."""
    corpus = generated.load_corpus("pdp")
    generated.build("pdp", base / "submitted", copies=False, independents=20, corpus=corpus)
    import random

    rng = random.Random(5)
    original = generated.independent(corpus, rng)
    while not all(g in original.cells for g in corpus.code_cells + corpus.answer_cells):
        original = generated.independent(corpus, rng)
    for grade_id in corpus.code_cells[:1]:
        original.cells[grade_id] += "\n" + "\n".join(f"marker_{i} = {text!r}  # {text}" for i, text in enumerate(HOSTILE))
    for grade_id in corpus.answer_cells[:1]:
        original.cells[grade_id] += "\n\n" + " ".join(HOSTILE) + " [mehr](javascript:alert(1))"
    copy = generated.disguised(corpus, original, rng, rename=True, words=True)
    generated.write(base / "submitted", "evil_a", "pdp", generated.notebook(corpus, original))
    generated.write(base / "submitted", "evil_b", "pdp", generated.notebook(corpus, copy))


def test_hostile_code_and_answers_render_as_text(tmp_path):
    _hostile_pair(tmp_path)
    summary = sim.similarity_report("pdp", sources(tmp_path), "de", names={"evil_a": "<b onmouseover=x>Eva</b>"})
    cohort = summary["cohort"]
    assert [sorted(keys(cohort, p)) for p in cohort.above()] == [["evil_a", "evil_b"]]
    page = summary["page"].read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find("script") is None and soup.find("a") is None and soup.find("b", onmouseover=True) is None
    assert [img["src"][:22] for img in soup.find_all("img")] == ["data:image/png;base64,"]
    assert not any(tag.has_attr("onerror") for tag in soup.find_all(True))
    shown = soup.get_text()
    for text in HOSTILE:
        assert text in shown  # (the answers, as text)
    assert "<b onmouseover=x>Eva</b>" in shown
    assert soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"].startswith(
        "script-src 'none'")


def test_page_with_hostile_content_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (.ci/run installs it with apt-get)")
    _hostile_pair(tmp_path)
    summary = sim.similarity_report("pdp", sources(tmp_path), "de", names={})
    result = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000", "--dump-dom",
                             summary["page"].as_uri()], capture_output=True, text=True, timeout=120)
    dom = BeautifulSoup(result.stdout, "html.parser")
    assert dom.body is not None, result.stderr[-2000:]
    assert not dom.body.has_attr("data-pwned")  # no script of the submission ran
    assert dom.find("script") is None and not any(tag.has_attr("onerror") for tag in dom.find_all(True))
    rendered = dom.body.get_text()
    for text in HOSTILE:
        assert text in rendered
    assert "evil_a" in rendered and "evil_b" in rendered


def _files(folder: Path) -> dict:
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_cli_on_a_moodle_collected_course_names_from_the_gradebook_and_nothing_for_students(tmp_path, capsys):
    """Moodle's archive → `xaigrade collect` → `xaigrade similarity`: the gradebook's names on the page and in the
    CSV; the run adds similarity/pdp.{html,csv} and changes nothing else (no feedback/, no export reads it)."""
    from autograder.cli import main

    staging = tmp_path / "staging"
    truth = generated.build("pdp", staging, independents=24, seed=11)
    people = sorted(p.name for p in staging.iterdir())
    participants = {student: 2000 + i for i, student in enumerate(people)}
    full_names = {student: f"Vorname{i} Nachname-{student}" for i, student in enumerate(people)}
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for student in people:
            zipped.writestr(f"{full_names[student]}_{participants[student]}_assignsubmission_file_/pdp.ipynb",
                            (staging / student / "pdp" / "pdp.ipynb").read_bytes())
    course = ["--course-dir", str(PROJECT_ROOT), "--submissions", str(tmp_path / "submitted"), "--output",
              str(tmp_path / "out")]
    assert main(["--language", "de", "collect", "pdp", str(archive), *course]) == 0
    before = _files(tmp_path)
    capsys.readouterr()
    assert main(["--language", "de", "similarity", *course]) == 0
    out = capsys.readouterr().out
    assert f"pdp: {len(people)} Abgaben" in out and "Ähnlichkeit ist keine Bewertung" in out
    assert "Nur " not in out  # a cohort of this size is judged, without the small-class warning
    after = _files(tmp_path)
    assert {k for k in after if k not in before or after[k] != before[k]} == {
        Path("out/similarity/pdp.html"), Path("out/similarity/pdp.csv")}
    rows = list(csv.DictReader((tmp_path / "out" / "similarity" / "pdp.csv").open(encoding="utf-8")))
    id_of = {student: f"p{participants[student]}" for student in people}
    expected = {frozenset(id_of.get(s, s) for s in pair) for pair in truth.pairs}
    assert {frozenset((r["student_a"], r["student_b"])) for r in rows} == expected
    named = {r["student_a"]: r["name_a"] for r in rows}
    assert named[id_of["c_rename"]] == full_names["c_rename"]
    page = (tmp_path / "out" / "similarity" / "pdp.html").read_text(encoding="utf-8")
    assert f"{id_of['c_rename']} ({full_names['c_rename']})" in page


def test_a_class_too_small_to_judge_says_so_on_the_page_and_in_the_terminal(tmp_path, capsys):
    """The example submissions (a handful per assignment, all built from the reference): judged against so small a
    cohort even identical work scores low, so the report must say that the instructor has to compare by hand."""
    from autograder.cli import main
    from autograder.similarity import SMALL_COHORT

    submitted = PROJECT_ROOT / "examples" / "submissions"
    count = sum(1 for folder in submitted.iterdir() if (folder / "pdp").is_dir())
    assert 2 <= count < SMALL_COHORT
    assert main(["--language", "de", "similarity", "pdp", "--course-dir", str(PROJECT_ROOT), "--submissions",
                 str(submitted), "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"Nur {count} Abgaben" in out and f"mindestens {SMALL_COHORT}" in out
    page = (tmp_path / "out" / "similarity" / "pdp.html").read_text(encoding="utf-8")
    assert f"Nur {count} Abgaben" in page


def test_the_benchmark_runs_on_a_small_class_and_prints_its_figures():
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / "similarity.py"), "--students", "20",
                             "--assignments", "pdp"], capture_output=True, text=True, cwd=PROJECT_ROOT / "benchmarks",
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "# machine:" in out
    row = next(line for line in out.splitlines() if line.startswith("pdp "))
    students, copies, pairs, seconds, per_second, recall, independent_above = row.split()[1:8]
    assert int(students) == 20 + int(copies) and int(copies) >= 12
    assert int(pairs) > 400 and float(seconds) > 0 and float(per_second) > 0
    found, total = recall.split("/")
    assert found == total and int(total) >= int(copies) and independent_above == "0"
    assert "all assignments:" in out and "pairs/s" in out
