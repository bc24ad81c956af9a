"""Turn the training-step benchmarks' JSON into the Markdown table of docs/benchmarks.md.

Usage::

    pytest tests/benchmarks/test_train_step.py --benchmark-only --benchmark-json=steps.json
    python tests/benchmarks/summarize.py steps.json

For each size it prints every row's median and minimum time per step, the median per
example, how many times faster than the classic eager baseline the row is, and how
many times slower than the two-matrix-product floor. Then it prints the targets: the
lab's step against the baseline and the floor at 10,000 examples, and its median time
per example at 60,000 against that at 10,000.
"""

import json
import re
import sys

BASELINE = "classic_eager"
FLOOR = "floor_two_matmuls"
LAB = "lab"
ROW_ORDER = ("classic_eager", "lab_eager", "lab", "lab_xla", "impl",
             "floor_read_x", "floor_two_matmuls", "floor_two_matmuls_xla")


def load_rows(path):
    """Return {n_examples: {row: benchmark dict}} for the groups named ``step-<n>``."""
    with open(path, encoding="utf-8") as file:
        report = json.load(file)
    sizes = {}
    for benchmark in report["benchmarks"]:
        match = re.fullmatch(r"step-(\d+)", benchmark.get("group") or "")
        if match is None:
            continue
        row = re.sub(r"^test_|\[.*\]$", "", benchmark["name"])
        sizes.setdefault(int(match.group(1)), {})[row] = benchmark
    return report, sizes


def format_table(sizes):
    lines = [
        "| examples | row | mode | median ms | min ms | median µs/example | x faster than eager | x floor |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n_examples in sorted(sizes):
        rows = sizes[n_examples]
        baseline = rows[BASELINE]["stats"]["median"] if BASELINE in rows else None
        floor = rows[FLOOR]["stats"]["median"] if FLOOR in rows else None
        for name in sorted(rows, key=lambda row: ROW_ORDER.index(row) if row in ROW_ORDER else len(ROW_ORDER)):
            stats = rows[name]["stats"]
            extra = rows[name].get("extra_info", {})
            median = stats["median"]
            faster = f"{baseline / median:.2f}" if baseline else ""
            of_floor = f"{median / floor:.2f}" if floor else ""
            label = f"{n_examples:,} ({extra.get('source', '?')})"
            lines.append(
                f"| {label} | {name} | {extra.get('mode', '')} | {median * 1e3:.2f} | {stats['min'] * 1e3:.2f} | "
                f"{median / n_examples * 1e6:.3f} | {faster} | {of_floor} |"
            )
    return lines


def format_targets(sizes):
    lines = []
    at_10k = sizes.get(10_000, {})
    if {BASELINE, LAB, FLOOR} <= set(at_10k):
        lab = at_10k[LAB]["stats"]["median"]
        lines.append(f"- 10,000 examples: the lab's step is {at_10k[BASELINE]['stats']['median'] / lab:.2f}x "
                     f"faster than the eager baseline (target >= 3) and takes "
                     f"{lab / at_10k[FLOOR]['stats']['median']:.2f}x the two-matmul floor (target <= 2).")
    if LAB in sizes.get(10_000, {}) and LAB in sizes.get(60_000, {}):
        per_10k = sizes[10_000][LAB]["stats"]["median"] / 10_000
        per_60k = sizes[60_000][LAB]["stats"]["median"] / 60_000
        lines.append(f"- per example, the lab's step at 60,000 takes {per_60k / per_10k:.2f}x its time at "
                     f"10,000 (target <= 1.3).")
    return lines


def main(argv):
    if len(argv) != 1:
        print("usage: summarize.py BENCHMARK_JSON (from pytest --benchmark-json)", file=sys.stderr)
        return 2
    try:
        report, sizes = load_rows(argv[0])
    except (OSError, ValueError, KeyError) as error:
        print(f"could not read benchmark results from {argv[0]}: {error}", file=sys.stderr)
        return 2
    if not sizes:
        print(f"{argv[0]} has no benchmark groups named step-<n>; run tests/benchmarks/test_train_step.py",
              file=sys.stderr)
        return 2
    machine = report.get("machine_info", {})
    print(f"machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor', '?'))}, "
          f"python {machine.get('python_version', '?')}")
    print("\n".join(format_table(sizes)))
    print()
    print("\n".join(format_targets(sizes)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
