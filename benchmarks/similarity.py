"""Similar submissions at class size (issue 27, point 3: 200 students x 4 assignments in <= 60 s on 2 cores).

Per assignment a generated cohort (tests/similarity_cohort.py: --students independent students written from the
correct and known-wrong alternatives, an earlier cohort of 8, a published solution, and the disguised copies), then
one `similarity_report` as `xaigrade similarity` runs it (read and strip the notebooks, tokens and fingerprints,
score every pair, write the page and the CSV), timed; generating the cohort is not timed. Printed per assignment:

    <a> students copies pairs seconds pairs/s recall independent-above lowest-copy highest-other peak-RSS-MiB

recall = disguised copies above the line / copies; independent-above = pairs above the line that share no work;
lowest-copy / highest-other = the lowest score of a copy pair and the highest score of any other pair (the score
alone; above the line a pair also needs a high similarity, CODE_FLOOR or TEXT_FLOOR). Peak RSS is the process's,
after each assignment: it stays flat when nothing grows with the square of the fragments.

    ../.venv/bin/python similarity.py [--students 200] [--assignments pdp clip] [--seed 0]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, header

sys.path.insert(0, str(ROOT / "tests"))

import similarity_cohort as generated  # noqa: E402

from autograder import similarity as sim  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200, help="independent students per assignment")
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    assignments = args.assignments or [a for a in generated.ASSIGNMENTS
                                       if (ROOT / "source" / a / f"{a}.ipynb").exists()]
    header(f"similarity report: {args.students} independent students + copies per assignment, "
           f"{', '.join(assignments)}")
    print(f"{'assignment':<15}{'students':>9}{'copies':>7}{'pairs':>8}{'seconds':>9}{'pairs/s':>9}{'recall':>8}"
          f"{'indep.above':>12}{'low.copy':>9}{'high.other':>11}{'RSS MiB':>9}")
    total_seconds, total_pairs, total_students = 0.0, 0, 0
    with tempfile.TemporaryDirectory(prefix="similarity-bench-") as scratch:
        for assignment in assignments:
            base = Path(scratch) / assignment
            truth = generated.build(assignment, base / "submitted", base / "earlier", independents=args.students,
                                    seed=args.seed, published=base / "published")
            sources = sim.Sources(ROOT, base / "submitted", base / "out", earlier=(base / "earlier",),
                                  published=base / "published")
            started = time.perf_counter()
            summary = sim.similarity_report(assignment, sources, "de", names={})
            seconds = time.perf_counter() - started
            cohort = summary["cohort"]
            pair_keys = [frozenset((cohort.documents[p.a].key, cohort.documents[p.b].key)) for p in cohort.pairs]
            copies = [p for p, k in zip(cohort.pairs, pair_keys) if k in truth.pairs]
            others = [p for p, k in zip(cohort.pairs, pair_keys) if k not in truth.pairs]
            found = sum(p.above for p in copies)
            independent_above = sum(p.above for p in others)
            print(f"{assignment:<15}{summary['students']:>9}{len(truth.copies):>7}{len(cohort.pairs):>8}"
                  f"{seconds:>9.2f}{len(cohort.pairs) / seconds:>9.0f}{f'{found}/{len(truth.pairs)}':>8}"
                  f"{independent_above:>12}{min(p.score for p in copies):>9.2f}{max(p.score for p in others):>11.2f}"
                  f"{peak_rss_mib():>9.0f}", flush=True)
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in cohort.seconds.items())
            print(f"{'':<15}({parts})")
            total_seconds += seconds
            total_pairs += len(cohort.pairs)
            total_students += summary["students"]
    print(f"all assignments: {total_students} submissions in {len(assignments)} assignments, {total_pairs} pairs in "
          f"{total_seconds:.1f} s ({total_pairs / total_seconds:.0f} pairs/s); the target for 200 x 4 is <= 60 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
