"""The batch's own reports: ``gradebook.csv`` and ``summary.json``.

``gradebook.csv`` has one row per submission, sorted by name: ``submission``, one column
per exercise (core exercises first, bonus exercises after them), ``total`` (core points),
``bonus`` (bonus points), ``status`` and ``note``. ``summary.json`` gives per-test and
per-exercise pass rates over the whole batch, so a grader can tell which exercise the
class found hard. Neither file contains a time or a scratch-folder path, so a re-run over
the same submissions writes the same bytes.
"""

import csv
import io
import json
from collections import Counter
from pathlib import Path

from ..hints import EXERCISES
from . import format_points
from .gradescope import write_text_atomically

GRADEBOOK_FILE = "gradebook.csv"
SUMMARY_FILE = "summary.json"


def exercise_columns(tests):
    """Return ``[(exercise, is_bonus)]``: core exercises in the lab's order, then bonus ones."""
    order = {name: index for index, name in enumerate(EXERCISES)}
    seen = {}
    for position, test in enumerate(tests):
        first, all_bonus = seen.get(test.exercise, (position, True))
        seen[test.exercise] = (first, all_bonus and test.bonus)
    return sorted(
        ((exercise, bonus) for exercise, (_, bonus) in seen.items()),
        key=lambda item: (item[1], order.get(item[0], len(order)), seen[item[0]][0]),
    )


def exercise_scores(report):
    scores = Counter()
    for result in report.results:
        scores[result.exercise] += result.score
    return scores


def gradebook_text(reports, tests):
    """Return the CSV text of the gradebook."""
    columns = exercise_columns(tests)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", *(name for name, _ in columns), "total", "bonus", "status", "note"])
    for report in sorted(reports, key=lambda report: report.name):
        scores = exercise_scores(report)
        writer.writerow([
            report.name,
            *(format_points(scores[name]) for name, _ in columns),
            format_points(report.score),
            format_points(report.bonus),
            report.status,
            report.note,
        ])
    return buffer.getvalue()


def summary_payload(reports, tests):
    """Return the summary.json payload: statuses, mean score, pass rates per exercise and test."""
    count = len(reports)
    passed = Counter()
    for report in reports:
        for result in report.results:
            if result.status == "passed":
                passed[result.nodeid] += 1

    exercises = []
    for exercise, bonus in exercise_columns(tests):
        members = [test for test in tests if test.exercise == exercise]
        possible = sum(test.points for test in members)
        scores = [exercise_scores(report)[exercise] for report in reports]
        exercises.append({
            "exercise": exercise,
            "bonus": bonus,
            "max_points": possible,
            "mean_score": _mean(scores),
            "full_marks": sum(1 for score in scores if possible and score >= possible),
        })

    return {
        "submissions": count,
        "statuses": dict(sorted(Counter(report.status for report in reports).items())),
        "max_score": sum(test.points for test in tests if not test.bonus),
        "max_bonus": sum(test.points for test in tests if test.bonus),
        "mean_score": _mean([report.score for report in reports]),
        "exercises": exercises,
        "tests": [
            {
                "nodeid": test.nodeid,
                "name": test.name,
                "exercise": test.exercise,
                "points": test.points,
                "bonus": test.bonus,
                "hidden": test.hidden,
                "passed": passed[test.nodeid],
                "pass_rate": round(passed[test.nodeid] / count, 4) if count else 0.0,
            }
            for test in tests
        ],
    }


def write_gradebook(out, reports, tests):
    write_text_atomically(Path(out) / GRADEBOOK_FILE, gradebook_text(reports, tests))


def write_summary(out, reports, tests):
    payload = summary_payload(reports, tests)
    write_text_atomically(Path(out) / SUMMARY_FILE, json.dumps(payload, indent=2) + "\n")


def hardest_tests(summary, limit=3):
    """Return the ``limit`` tests with the lowest pass rate, hardest first, ties in suite order."""
    ranked = sorted(enumerate(summary["tests"]), key=lambda item: (item[1]["pass_rate"], item[0]))
    return [test for _, test in ranked[:limit]]


def _mean(values):
    return round(sum(values) / len(values), 4) if values else 0.0

