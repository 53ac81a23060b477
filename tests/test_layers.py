"""Who may import whom (STYLE.md): the pass format and the state table import neither Flask nor
the database, so other verifiers can reuse them as they are and the table is tested row by row."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "permits"
#: Modules a pure module may not import, by the first parts of their names.
FORBIDDEN = (
    "flask",
    "flask_babel",
    "flask_login",
    "flask_sqlalchemy",
    "flask_wtf",
    "sqlalchemy",
    "psycopg",
    "permits.database",
    "permits.extensions",
    "permits.models",
    "permits.services",
    "permits.views",
)
PURE = [
    *sorted((PACKAGE / "passes").glob("*.py")),
    PACKAGE / "workflow.py",
    PACKAGE / "demand_workflow.py",
]


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_pass_format_and_the_state_table_import_neither_flask_nor_the_database(
    path: Path,
) -> None:
    wrong = {
        name
        for name in imported(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not wrong, f"{path.name} imports {sorted(wrong)}"
