"""The graded tests: one copy, run against any implementation folder.

``exercises/test_graded.py`` and ``solutions/test_graded.py`` import these tests so that
``pytest exercises/`` and ``pytest solutions/`` collect them. The ``impl`` fixture comes
from ``lab.grading.plugin``.
"""

# The graded modules in the order students meet them, which is the order
# ``exercises/test_graded.py`` imports them. ``python -m lab grade`` runs them in this
# order too, so a submission that hangs or crashes late loses the same tests there as
# on the student's machine.
MODULES = (
    "lab.graded.test_sigmoid",
    "lab.graded.test_softmax",
    "lab.graded.test_crossentropy",
    "lab.graded.test_model",
    "lab.graded.test_experiment",
    "lab.graded.test_deep",
)
