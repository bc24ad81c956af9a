"""Wall time of ``python -m lab grade`` on twenty correct submissions, one job vs two.

Each submission is a pytest process that imports TensorFlow and runs the graded suite,
so a batch is CPU-bound: with two or more cores, two jobs should finish the batch in
less wall time than one. Each batch runs once (rounds=1, iterations=1), because one
batch takes minutes. Run with ``pytest tests/benchmarks/test_grade_jobs.py
--benchmark-only -s`` on a quiet machine; the jobs=2 row fails if it is not faster
than the jobs=1 row of the same run.
"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark_inputs import machine_facts

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
SUBMISSIONS = 20

# Wall time in seconds of each batch, by job count, for the comparison at the end.
WALL_TIMES = {}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    """Twenty copies of the reference solutions, named student_01 to student_20."""
    root = tmp_path_factory.mktemp("submissions")
    paths = []
    for index in range(1, SUBMISSIONS + 1):
        path = root / f"student_{index:02d}"
        shutil.copytree(SOLUTIONS, path, ignore=shutil.ignore_patterns("__pycache__"))
        paths.append(path)
    return paths


def grade(paths, out, jobs):
    return subprocess.run(
        [sys.executable, "-m", "lab", "grade", *map(str, paths), "--out", str(out), "--jobs", str(jobs)],
        capture_output=True, text=True, timeout=3600, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


@pytest.mark.benchmark(group="grade-jobs")
@pytest.mark.parametrize("jobs", [1, 2])
def test_grade_jobs_wall_time(benchmark, submissions, tmp_path, jobs):
    """Grade the twenty copies; the jobs=2 row also checks it beat the jobs=1 row."""
    out = tmp_path / "out"
    benchmark.extra_info.update(machine_facts())
    benchmark.extra_info.update(submissions=SUBMISSIONS, jobs=jobs)
    completed = benchmark.pedantic(grade, args=(submissions, out, jobs), rounds=1, iterations=1)
    WALL_TIMES[jobs] = benchmark.stats.stats.mean
    print(f"\ngrade {SUBMISSIONS} submissions with --jobs {jobs}: {WALL_TIMES[jobs]:.1f} s wall time")
    assert completed.returncode == 0, completed.stderr[-2000:]
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert len(rows) == SUBMISSIONS
    assert {row["status"] for row in rows} == {"graded"}
    assert len({row["total"] for row in rows}) == 1  # every copy gets the same score
    if jobs == 2 and 1 in WALL_TIMES and (os.cpu_count() or 1) >= 2:
        assert WALL_TIMES[2] < WALL_TIMES[1]
