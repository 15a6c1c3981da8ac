"""The static scan of submitted code (autograder/runner/scan.py): what it flags for the reviewer."""

from autograder.runner.scan import scan_source


def test_a_flag_on_a_long_string_shows_the_word_that_raised_it():
    # a deep folder (a long tmp path) once pushed "submitted" past the 60 characters shown
    path = "/tmp/" + "x" * 80 + "/submitted/*/pdp/*.ipynb"
    [(rule, detail)] = scan_source(f"import glob\nstolen = glob.glob({path!r})")
    assert rule == "grader_access"
    assert "submitted" in detail and len(eval(detail)) <= 62  # (60 characters and the two ellipses)


def test_short_strings_are_shown_whole():
    assert scan_source("p = '/srv/data/file.csv'") == [("absolute_path", repr("/srv/data/file.csv"))]
