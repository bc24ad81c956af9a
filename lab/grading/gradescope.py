"""Write graded results in the Gradescope autograder ``results.json`` format.

The fields written are those of Gradescope's "Autograder Specifications" page
(gradescope-autograders.readthedocs.io/en/latest/specs/): at the top level ``score``,
``execution_time`` (seconds), ``output`` and ``tests``. Each test has ``name``,
``number``, ``score``, ``max_score``, ``status`` (``passed`` or ``failed``), ``output``,
``visibility`` and ``extra_data``. The top level also carries ``max_score``, which that
page does not list: Gradescope takes an assignment's maximum from its own settings, and
the lab writes the value for other tools and for graders reading the file.

Bonus tests count in ``score`` but not in the top-level ``max_score``, so the core
maximum is the same with or without the bonus exercises, and a student with every
bonus scores above ``max_score``. Each test's ``extra_data`` keeps what the two-valued
``status`` loses: the pytest node id, the lab's own status (``not started``, ``timed
out``, ``import error``, ...) and whether the test is a bonus.
"""

import json
import os
import tempfile
from pathlib import Path

from ..hints import HINTS

# Statuses whose test ran and failed on its own account, so the exercise's hint helps.
# A test that never ran ("not run") gets no hint: the reason is the run, not the exercise.
HINTED_STATUSES = {"failed", "not started", "timed out", "import error", "crashed"}


def format_test(result):
    """Return the ``tests`` entry of one GradeResult."""
    text = result.message
    hint = HINTS.get(result.exercise)
    if result.status in HINTED_STATUSES and hint is not None:
        text = f"{hint.render()}\n\n{result.message}"
    return {
        "name": result.name,
        "number": result.exercise,
        "score": result.score,
        "max_score": result.points,
        "status": "passed" if result.status == "passed" else "failed",
        "output": text,
        "visibility": "hidden" if result.hidden else "visible",
        "extra_data": {"nodeid": result.nodeid, "status": result.status, "bonus": result.bonus},
    }


def results_payload(results, execution_time, output=""):
    """Return the results.json payload for a list of GradeResult objects."""
    core = [result for result in results if not result.bonus]
    return {
        "score": sum(result.score for result in results),
        "max_score": sum(result.points for result in core),
        "execution_time": round(execution_time, 3),
        "output": output,
        "tests": [format_test(result) for result in results],
    }


def write_text_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename.

    A reader sees the old file or the new one, never a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        # mkstemp creates the file readable by its owner only; results are meant to be shared.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomically(path, payload):
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    write_text_atomically(path, json.dumps(payload, indent=2) + "\n")


def write_results(path, results, execution_time, output=""):
    """Write the results.json for ``results`` to ``path``; ``execution_time`` is in seconds."""
    write_atomically(path, results_payload(results, execution_time, output))
