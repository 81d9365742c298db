"""State names are written once, in ledger/states.py: SQL takes them from there, never typed."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import pytest

from atlas_core.ledger import states as S

LEDGER = Path(__file__).resolve().parent.parent / "atlas_core" / "ledger"
NAMES = sorted({*S.DOCUMENT_STATES, *S.CHUNK_STATES, *S.BATCH_STATES, *S.ROW_DISPOSITIONS})
# A state name quoted as an SQL string literal, e.g. 'extracted'.
LITERAL = re.compile("'(" + "|".join(NAMES) + ")'")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes: prose may quote a state, a statement may not."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


@pytest.mark.parametrize(
    "path", sorted(p for p in LEDGER.glob("*.py") if p.name != "states.py"), ids=lambda p: p.name
)
def test_no_statement_of_the_ledger_types_a_state_name(path):
    offenders = [
        f"{path.name}:{line}: {text.strip()[:80]}"
        for line, text in _string_literals(path)
        if LITERAL.search(text)
    ]
    assert offenders == []


def test_sql_literals_quote_each_state_for_sqlite():
    text = S.sql_literals(S.EXTRACTED, S.FAILED)
    assert text == "'extracted', 'failed'"
    conn = sqlite3.connect(":memory:")
    try:
        assert conn.execute(f"SELECT 'failed' IN ({text}), 'queued' IN ({text})").fetchone() == (1, 0)
    finally:
        conn.close()


def test_every_state_name_is_plain_enough_to_quote():
    """sql_literals does no escaping: a name with a quote in it would break the statements."""
    assert all(re.fullmatch(r"[a-z_]+", name) for name in NAMES)
