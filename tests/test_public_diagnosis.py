"""The self-check never names a mistake the student did not make (issue 23).

``tests/test_diagnosis.py`` grades every known-wrong variant on the K hidden sets; the students' self-check names
mistakes too, on the public cases and from the released ``public_checks.npz`` (the public checks' known mistakes
under neutral labels). Here every variant of every exercise runs through the self-check's own evaluation
(``xaikit.selfcheck.public_verdicts``, what each test cell prints) on the public cases and data of the release:
no variant may get another variant's message, and where a check lists likely causes, its own must be among them.
Nor may a check's own message accuse a variant of a mistake the grader does not see: every check the self-check fails
a variant on is one the grader fails it on too, on some of the K hidden sets of the tests' key. And correct work
written differently (``reference_solutions/alternatives/<ex>.py``) passes every public check of the self-check. (Normalising the
Grad-CAM map before upsampling got ``grad_cam.layer``'s own "Die Heatmap gehört nicht zur Schicht `target_layer`" in
the self-check, though the layer was right; the grader passes that check and names the mistake in
``grad_cam.values``.)
"""

from __future__ import annotations

import functools

import pytest

from autograder.checks import Exercise, evaluate
from autograder.config import PROJECT_ROOT
from autograder.exercises import assignments
from autograder.fairness import correct_alternatives
from autograder.grading import reference_module
from helpers import HIDDEN_SETS, all_hidden_sets, probe_all
from xaikit.selfcheck import public_verdicts
from xaikit.selfcheck.core import AMBIGUOUS, PUBLIC_DATA, load_public

EXERCISES = assignments()
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # (scikit-learn on the variants' calls)


@functools.lru_cache(maxsize=None)
def released(name: str):
    """(the release's public data, neutral label -> variant id). The labels are ``pack_public``'s: the variants the
    public checks name, sorted, as m0, m1, ...; each label's shipped message must be its variant's."""
    data = load_public(PROJECT_ROOT / "release" / name / PUBLIC_DATA)
    grader = Exercise(name)
    named = sorted({v for check in grader.checks if check.public for v in check.variants})
    labels = {f"m{index}": variant_id for index, variant_id in enumerate(named)}
    for label, variant_id in labels.items():
        assert data.messages.get(label) == {language: grader.messages[variant_id][language] for language in ("de", "en")}, \
            f"release/{name}/{PUBLIC_DATA} is out of date ({label} is not {variant_id}): run `xaigrade release {name}`"
    assert set(data.messages) == set(labels), f"release/{name}/{PUBLIC_DATA} is out of date"
    return data, labels


@functools.lru_cache(maxsize=None)
def self_checked(name: str) -> dict:
    """variant id -> check id -> the self-check's verdict, for the reference with the variant's functions in."""
    data, _ = released(name)
    module = reference_module(Exercise(name))
    return {variant_id: {v.check_id: v for v in public_verdicts(name, {**vars(module), **overrides}, data=data)}
            for variant_id, overrides in module.VARIANTS.items()}


def misdiagnoses(name: str) -> list[str]:
    """Where the self-check gives a variant another variant's message, or likely causes without its own."""
    _, labels = released(name)
    wrong = []
    for variant_id, verdicts in self_checked(name).items():
        for check_id, verdict in verdicts.items():
            named = labels.get(verdict.message_key)
            if named is not None and named != variant_id:
                wrong.append(f"{variant_id} named {named} in {check_id}")
            elif verdict.message_key == AMBIGUOUS:
                causes = sorted(labels[label] for label in verdict.candidates)
                if variant_id not in causes:
                    wrong.append(f"{variant_id} given causes {causes} in {check_id}")
    return wrong


def failed_on_hidden_sets(name: str, variant_id: str, wanted: set) -> set:
    """The checks the grader fails ``variant_id`` on, over the K hidden sets of the tests' key; stops at the first
    set by which all of ``wanted`` were failed (most variants need one set: the counterfactuals cost ~45 s a set)."""
    failed: set = set()
    for index in range(HIDDEN_SETS):
        if wanted <= failed:
            break
        exercise, cases, expected, variants = all_hidden_sets(name)[index]
        module = reference_module(exercise)
        results = probe_all(exercise, cases, {**vars(module), **module.VARIANTS[variant_id]})
        failed |= {v.check_id for v in evaluate(exercise, cases, results, expected, variants) if not v.passed}
    return failed


def harsher_than_the_grader(name: str) -> list[str]:
    """Checks the self-check fails a variant on that the grader passes on every hidden set."""
    harsher = []
    for variant_id, verdicts in self_checked(name).items():
        public = {check_id for check_id, verdict in verdicts.items() if not verdict.passed}
        for check_id in sorted(public - failed_on_hidden_sets(name, variant_id, public)):
            harsher.append(f"{variant_id} fails {check_id} ({verdicts[check_id].message_key}) only in the self-check")
    return harsher


@pytest.mark.parametrize("name", EXERCISES)
def test_the_self_check_gives_no_variant_another_variants_message_on_the_public_cases(name):
    assert misdiagnoses(name) == []


@pytest.mark.parametrize("name", EXERCISES)
def test_the_self_check_fails_a_variant_only_in_checks_the_grader_fails_it_in(name):
    assert harsher_than_the_grader(name) == []


@pytest.mark.parametrize("name", EXERCISES)
def test_the_self_check_passes_every_correct_alternative_on_the_public_cases(name):
    """What the released public_checks.npz tells a student who wrote it correctly another way: all ✔."""
    data, _ = released(name)
    exercise = Exercise(name)
    module = reference_module(exercise)
    failed = [f"{alternative_id}: {verdict.check_id} ({verdict.message_key})"
              for alternative_id, overrides in correct_alternatives(exercise).items()
              for verdict in public_verdicts(name, {**vars(module), **overrides}, data=data) if not verdict.passed]
    assert failed == []


def test_the_rule_is_tested_on_what_the_self_check_prints():
    """Control: the check above reads the labels the self-check really prints (a variant named by its own label is
    found, so an empty list of misdiagnoses is not an empty test)."""
    data, labels = released("gradcam")
    verdicts = self_checked("gradcam")["nearest_upsampling"]
    assert labels[verdicts["grad_cam.values"].message_key] == "nearest_upsampling"
    assert verdicts["grad_cam.values"].message == data.messages[verdicts["grad_cam.values"].message_key]["de"].format(
        case=verdicts["grad_cam.values"].params["case"])
