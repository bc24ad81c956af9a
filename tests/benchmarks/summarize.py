"""Turn the training-step benchmarks' JSON into the Markdown table of docs/benchmarks.md.

Usage::

    pytest tests/benchmarks/test_train_step.py --benchmark-only --benchmark-json=steps.json
    python tests/benchmarks/summarize.py steps.json

For each size it prints every row's median and minimum time per step, the median per
example, how many times faster than the classic eager baseline the row is, and how
many times slower than the two-matrix-product floor. Then it prints the targets: the
lab's step against the baseline and the floor at 10,000 examples, and its time per
example at 60,000 against that at 10,000. Last, it uses the first-call rows to say
after how many example-steps XLA's longer compile pays for itself.

With the rows of ``test_products.py`` in the JSON (run both files in one command), it
also prints each form of the two matrix products against the baseline, and the
fastest speed-up over the baseline that any step computing both products could reach.
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
    """Return ``(report, sizes, products)``.

    ``sizes`` is {n_examples: {row: benchmark dict}} for the groups named ``step-<n>``,
    and ``products`` is {n_examples: {test name: benchmark dict}} for ``products-<n>``.
    """
    with open(path, encoding="utf-8") as file:
        report = json.load(file)
    sizes = {}
    products = {}
    for benchmark in report["benchmarks"]:
        group = benchmark.get("group") or ""
        match = re.fullmatch(r"(step|products)-(\d+)", group)
        if match is None:
            continue
        if match.group(1) == "step":
            row = re.sub(r"^test_|\[.*\]$", "", benchmark["name"])
            sizes.setdefault(int(match.group(2)), {})[row] = benchmark
        else:
            products.setdefault(int(match.group(2)), {})[benchmark["name"]] = benchmark
    return report, sizes, products


def format_table(sizes):
    lines = [
        "| examples | row | mode | median ms | min ms | median µs/example "
        "| x faster than eager, median (min) | x floor, median (min) |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n_examples in sorted(sizes):
        rows = sizes[n_examples]
        baseline = rows[BASELINE]["stats"] if BASELINE in rows else None
        floor = rows[FLOOR]["stats"] if FLOOR in rows else None
        for name in sorted(rows, key=lambda row: ROW_ORDER.index(row) if row in ROW_ORDER else len(ROW_ORDER)):
            stats = rows[name]["stats"]
            extra = rows[name].get("extra_info", {})
            faster = ratio(baseline, stats) if baseline else ""
            of_floor = ratio(stats, floor) if floor else ""
            label = f"{n_examples:,} ({extra.get('source', '?')})"
            lines.append(
                f"| {label} | {name} | {extra.get('mode', '')} | {stats['median'] * 1e3:.2f} | "
                f"{stats['min'] * 1e3:.2f} | {stats['median'] / n_examples * 1e6:.3f} | {faster} | {of_floor} |"
            )
    return lines


def ratio(numerator, denominator):
    """Return "a (b)": the ratio of the medians, then of the minimums."""
    return (f"{numerator['median'] / denominator['median']:.2f} "
            f"({numerator['min'] / denominator['min']:.2f})")


def load_first_calls(report):
    """Return {mode: median seconds} of the first-call rows, or {} when they did not run."""
    first_calls = {}
    for benchmark in report["benchmarks"]:
        if (benchmark.get("group") or "").startswith("first-call-"):
            first_calls[benchmark["extra_info"].get("mode")] = benchmark["stats"]["median"]
    return first_calls


def format_break_even(sizes, first_calls):
    """Return lines saying after how many example-steps XLA's longer first call pays off."""
    if not {"graph", "xla"} <= set(first_calls):
        return []
    extra = first_calls["xla"] - first_calls["graph"]
    lines = [f"- XLA's first call takes {extra:.2f} s longer than tf.function's."]
    for n_examples in sorted(sizes):
        rows = sizes[n_examples]
        if LAB not in rows or "lab_xla" not in rows or rows[LAB]["extra_info"].get("mode") != "graph":
            continue
        saving = (rows[LAB]["stats"]["median"] - rows["lab_xla"]["stats"]["median"]) / n_examples
        if saving <= 0:
            lines.append(f"- {n_examples:,} examples: XLA saves nothing per step, so it never pays off.")
        else:
            lines.append(f"- {n_examples:,} examples: XLA saves {saving * 1e6:.3f} µs per example per step "
                         f"and pays off after {extra / saving / 1e6:.1f} million example-steps.")
    return lines


def format_targets(sizes):
    lines = []
    at_10k = sizes.get(10_000, {})
    for row in (LAB, "lab_xla"):
        if {BASELINE, row, FLOOR} <= set(at_10k):
            stats = at_10k[row]["stats"]
            lines.append(f"- 10,000 examples, {row}: {ratio(at_10k[BASELINE]['stats'], stats)}x faster than "
                         f"the eager baseline (target >= 3), {ratio(stats, at_10k[FLOOR]['stats'])}x the "
                         f"two-matmul floor (target <= 2); medians, then minimums in brackets.")
        if row in sizes.get(10_000, {}) and row in sizes.get(60_000, {}):
            per_10k = {key: sizes[10_000][row]["stats"][key] / 10_000 for key in ("median", "min")}
            per_60k = {key: sizes[60_000][row]["stats"][key] / 60_000 for key in ("median", "min")}
            lines.append(f"- per example, {row} at 60,000 takes {ratio(per_60k, per_10k)}x its time at "
                         f"10,000 (target <= 1.3).")
    return lines


def format_products(products):
    """Return a table of the product forms per size and the speed-up they allow at most."""
    lines = []
    for n_examples in sorted(products):
        rows = products[n_examples]
        baseline = next((row["stats"] for name, row in rows.items() if name.startswith(f"test_{BASELINE}")), None)
        lines += [
            f"Products alone, {n_examples:,} examples:",
            "",
            "| product | form | mode | median ms | min ms | share of the baseline's median |",
            "| --- | --- | --- | ---: | ---: | ---: |",
        ]
        fastest = {}
        for name in sorted(rows):
            match = re.fullmatch(r"test_(forward|backward)\[(.*)-(graph|xla)\]", name)
            if match is None:
                continue
            product, form, mode = match.groups()
            stats = rows[name]["stats"]
            share = f"{stats['median'] / baseline['median']:.0%}" if baseline else ""
            lines.append(f"| {product} | `{form}` | {mode} | {stats['median'] * 1e3:.2f} | "
                         f"{stats['min'] * 1e3:.2f} | {share} |")
            if product not in fastest or stats["median"] < fastest[product][1]["median"]:
                fastest[product] = (f"{form} ({mode})", stats)
        if baseline is None or set(fastest) != {"forward", "backward"}:
            continue
        both = {key: fastest["forward"][1][key] + fastest["backward"][1][key] for key in ("median", "min")}
        lines += [
            "",
            f"- the eager baseline: {baseline['median'] * 1e3:.2f} ms (median), {baseline['min'] * 1e3:.2f} ms (min)",
            f"- the fastest forward product, {fastest['forward'][0]}, plus the fastest backward product, "
            f"{fastest['backward'][0]}: {both['median'] * 1e3:.2f} ms (median)",
            f"- so no step that computes both can be more than {ratio(baseline, both)}x faster than "
            f"the baseline (medians, then minimums in brackets)",
        ]
    return lines


def main(argv):
    if len(argv) != 1:
        print("usage: summarize.py BENCHMARK_JSON (from pytest --benchmark-json)", file=sys.stderr)
        return 2
    try:
        report, sizes, products = load_rows(argv[0])
    except (OSError, ValueError) as error:
        print(f"could not read benchmark results from {argv[0]}: {error}", file=sys.stderr)
        return 2
    except (KeyError, TypeError) as error:
        print(f"{argv[0]} is not pytest-benchmark output (missing key {error}); pass the file "
              f"written by pytest --benchmark-json", file=sys.stderr)
        return 2
    if not sizes and not products:
        print(f"{argv[0]} has no benchmark groups named step-<n> or products-<n>; run "
              f"tests/benchmarks/test_train_step.py or test_products.py", file=sys.stderr)
        return 2
    machine = report.get("machine_info", {})
    print(f"machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor', '?'))}, "
          f"python {machine.get('python_version', '?')}")
    if sizes:
        print("\n".join(format_table(sizes)))
        print()
        print("\n".join(format_targets(sizes)))
        print("\n".join(format_break_even(sizes, load_first_calls(report))))
    if products:
        print()
        print("\n".join(format_products(products)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
