"""One module per ``python -m lab`` command."""
