"""Leave the benchmarks out of plain ``pytest``.

``tests/benchmarks`` takes minutes and its numbers need a quiet machine, so it is
collected only when asked for: with a path inside it on the command line (``pytest
tests/benchmarks --benchmark-only``) or with ``--benchmark-only`` or
``--benchmark-enable``.
"""

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent / "benchmarks"


def benchmarks_requested(config):
    """Return whether this pytest run asked for the benchmarks."""
    for option in ("benchmark_only", "benchmark_enable"):
        if config.getoption(option, default=False):
            return True
    invocation_dir = config.invocation_params.dir
    for argument in config.args:
        path = (invocation_dir / argument.split("::")[0]).resolve()
        if path == BENCHMARKS or BENCHMARKS in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    if collection_path == BENCHMARKS and not benchmarks_requested(config):
        return True
    return None
