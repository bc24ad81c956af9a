"""The handout's figures: captions numbered in the order they appear, references that match.

docs/handout.md shows each figure as an image line followed by a caption that starts
with ``*Figure N``. Section 7 lists the files with their numbers, and the text refers
to figures by number, so all three must agree.
"""

import re
from pathlib import Path

HANDOUT = Path(__file__).resolve().parent.parent / "docs" / "handout.md"

IMAGE = re.compile(r"^!\[.*\]\(figures/(?P<file>[\w.]+)\)$")
CAPTION = re.compile(r"^\*Figure (?P<number>\d+)\b")
TABLE_ROW = re.compile(r"^\| `(?P<file>[\w.]+)` \| figure (?P<number>\d+):")
REFERENCE = re.compile(r"\bfigures? (\d+)\b", re.IGNORECASE)


def figures():
    """Return ``[(number, file)]`` for each image line and the caption after it, in order."""
    lines = HANDOUT.read_text().splitlines()
    found = []
    for index, line in enumerate(lines):
        image = IMAGE.match(line)
        if image is None:
            continue
        caption = next(CAPTION.match(text) for text in lines[index + 1:] if text.strip())
        found.append((int(caption["number"]), image["file"]))
    return found


def test_handout_figures_numbered_in_order():
    numbers = [number for number, _ in figures()]
    assert numbers == list(range(1, len(numbers) + 1))


def test_handout_figure_table_matches_captions():
    rows = [TABLE_ROW.match(line) for line in HANDOUT.read_text().splitlines()]
    table = {row["file"]: int(row["number"]) for row in rows if row}
    captions = {file: number for number, file in figures() if file in table}
    assert table == captions


def test_handout_references_name_existing_figures():
    numbers = {number for number, _ in figures()}
    referenced = {int(number) for number in REFERENCE.findall(HANDOUT.read_text())}
    assert referenced <= numbers
