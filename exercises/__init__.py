"""The lab's exercises: fill in the functions marked TODO.

The modules here have the same paths, signatures and docstrings as the reference
solutions in ``solutions/``. ``pytest exercises/`` grades them, and
``python -m lab run --impl exercises`` trains the model built from them.
"""
