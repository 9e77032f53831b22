"""The reading path the README lists: at most 1,500 code lines, the README's counts current, each
file opening with a paragraph on what it teaches, and no speed kernel inside it."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 1500
# a row of the reading-order tables: | step | `file` | lines | what it teaches |
ROW = re.compile(r"^\| (\d+) \| `([^`]+)` \| (\d+) \|")
TOTAL = re.compile(r"^\| \| (?:합계|total) \| (\d+) \|")


def code_lines(path: Path) -> int:
    """Non-blank, non-comment lines; a docstring counts (it is what a reader reads)."""
    lines: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type not in skip:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines)


def reading_tables() -> list[tuple[list[tuple[int, str, int]], int]]:
    """Each reading-order table in the README (Korean, English): its rows and its total."""
    tables, rows = [], []
    for line in (ROOT / "README.md").read_text().splitlines():
        if m := ROW.match(line):
            rows.append((int(m[1]), m[2], int(m[3])))
        elif (m := TOTAL.match(line)) and rows:
            tables.append((rows, int(m[1])))
            rows = []
    return tables


TABLES = reading_tables()
FILES = [path for _, path, _ in TABLES[0][0]] if TABLES else []


def test_readme_has_the_reading_order_in_both_languages() -> None:
    assert len(TABLES) == 2, "README.md should hold the reading-order table in Korean and in English"
    (ko, _), (en, _) = TABLES
    assert [(s, p) for s, p, _ in ko] == [(s, p) for s, p, _ in en]
    assert [s for s, _, _ in ko] == list(range(1, len(ko) + 1))


def test_reading_path_fits_the_budget_and_the_readme_counts_are_current() -> None:
    actual = {path: code_lines(ROOT / path) for path in FILES}
    for rows, total in TABLES:
        stale = {path: (listed, actual[path]) for _, path, listed in rows if listed != actual[path]}
        assert not stale, f"README line counts (listed, actual) are out of date: {stale}"
        assert total == sum(actual.values()), f"README total {total} != {sum(actual.values())}"
    assert sum(actual.values()) <= BUDGET, f"the reading path has {sum(actual.values())} lines (budget {BUDGET})"


@pytest.mark.parametrize("path", FILES)
def test_each_file_opens_with_what_it_teaches(path: str) -> None:
    doc = ast.get_docstring(ast.parse((ROOT / path).read_text()))
    assert doc and len(doc.split()) >= 15, f"{path} should open with a paragraph on what it teaches"


@pytest.mark.parametrize("path", FILES)
def test_reading_path_calls_no_speed_kernel(path: str) -> None:
    """Speed lives in tinygrad_ko/kernels, called by ops/tuned.py, never by a reading-path file."""
    tree = ast.parse((ROOT / path).read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
    assert not [n for n in names if "kernels" in n.split(".")], f"{path} imports a kernel"


def test_line_counter_skips_blanks_and_comments(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text('"""Doc\nstring."""\n\n# a comment\nx = 1  # trailing\n\n\ndef f():\n    return x\n')
    assert code_lines(f) == 5  # two docstring lines, x = 1, def, return


def update_readme() -> None:
    """Rewrite the README's line counts from the files (``python tests/test_reading_path.py``)."""
    readme = ROOT / "README.md"
    counts = {path: code_lines(ROOT / path) for path in FILES}
    out = []
    for line in readme.read_text().splitlines(keepends=True):
        if m := ROW.match(line):
            line = line.replace(f"`{m[2]}` | {m[3]} |", f"`{m[2]}` | {counts[m[2]]} |", 1)
        elif m := TOTAL.match(line):
            line = line.replace(f" {m[1]} |", f" {sum(counts.values())} |", 1)
        out.append(line)
    readme.write_text("".join(out))
    print(f"reading path: {sum(counts.values())} lines (budget {BUDGET})")


if __name__ == "__main__":
    update_readme()
