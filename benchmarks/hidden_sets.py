"""What K hidden case sets per assignment cost: building one set's cases and computing the reference's and
every variant's results on them (no cache), the candidate seeds the grader tries per set (sets must show every
known mistake in every check naming it), and the total for K sets. Grading a submission does not depend on K:
each submission runs on one set, whose results are computed once and cached.

    ../.venv/bin/python hidden_sets.py [--assignments pdp gradcam ...] [--sets K] [--quick]
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (project root on sys.path)
from autograder.exercises import assignments as registered_exercises

import xaikit  # noqa: F401  (torch/triton before TensorFlow)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assignments", nargs="*", default=list(registered_exercises()))
    parser.add_argument("--sets", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="one set of pdp only (for the test)")
    args = parser.parse_args()
    from autograder.checks import Exercise
    from autograder.grading import MAX_SET_ATTEMPTS, blind_spots, hidden_context, pin_threads
    from autograder.secret import set_seed

    assignments, sets = (["pdp"], 1) if args.quick else (args.assignments, args.sets)
    secret = b"benchmark key"
    pin_threads()
    print(f"{'assignment':<15} {'one set (s)':>11} {'candidates/set':>15} {'K sets (s)':>11}  (K = {sets})")
    for name in assignments:
        exercise = Exercise(name)
        costs, tried = [], []
        for index in range(sets):
            for attempt in range(MAX_SET_ATTEMPTS):
                started = time.perf_counter()
                context = hidden_context(exercise, set_seed(secret, name, index, attempt), use_cache=False)
                costs.append(time.perf_counter() - started)
                if not blind_spots(exercise, *context):
                    break
            tried.append(attempt + 1)
        one = sum(costs) / len(costs)
        print(f"{name:<15} {one:>11.2f} {sum(tried) / len(tried):>15.1f} {sum(costs):>11.1f}")
    print("ratio: K sets cost K x (candidates per set) x one set's reference computation, once per secret "
          "(cached); grading time per submission is unchanged")


if __name__ == "__main__":
    main()
