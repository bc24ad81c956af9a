"""Reference solutions to the lab's exercises.

The modules here have the same paths, signatures and docstrings as the stubs in
``exercises/``. Graders run ``pytest solutions/`` to check the lab itself.
"""
