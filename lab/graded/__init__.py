"""The graded tests: one copy, run against any implementation folder.

``exercises/test_graded.py`` and ``solutions/test_graded.py`` import these tests so that
``pytest exercises/`` and ``pytest solutions/`` collect them. The ``impl`` fixture comes
from ``lab.grading.plugin``.
"""
