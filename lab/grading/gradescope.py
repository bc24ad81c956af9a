"""Write graded results in the Gradescope autograder ``results.json`` format.

Gradescope reads a top-level ``score``, ``max_score``, ``execution_time``, ``output`` and a
``tests`` list, each test with ``name``, ``number``, ``score``, ``max_score``, ``status``,
``output`` and ``visibility``.
"""

import json
import os
from pathlib import Path

from ..hints import HINTS


def results_payload(results, execution_time, output=""):
    tests = []
    for result in results:
        hint = HINTS.get(result.exercise)
        text = result.message
        if result.status != "passed" and hint is not None:
            text = f"{hint.render()}\n\n{result.message}"
        tests.append({
            "name": result.name,
            "number": result.exercise,
            "score": result.score,
            "max_score": result.points,
            "status": "passed" if result.status == "passed" else "failed",
            "output": text,
            "visibility": "hidden" if result.hidden else "visible",
        })
    core = [r for r in results if not r.bonus]
    return {
        "score": sum(r.score for r in results),
        "max_score": sum(r.points for r in core),
        "execution_time": round(execution_time, 3),
        "output": output,
        "tests": tests,
    }


def write_atomically(path, payload):
    """Write JSON to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(temporary, path)


def write_results(path, results, execution_time, output=""):
    write_atomically(path, results_payload(results, execution_time, output))
