"""The shape STYLE.md asks for, checked: the core never imports textual, and exchangelib is imported
in one adapter module only (a Graph transport must be able to slot in beside it)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "bcsync_tui"


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_core_never_imports_textual():
    offenders = [p for p in (PACKAGE / "core").rglob("*.py") if "textual" in imports(p)]
    assert offenders == []


def test_exchangelib_is_imported_by_the_ews_adapter_only():
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "exchangelib" in imports(p))
    assert users == ["core/sync/ews.py", "core/sync/ews_payload.py"]  # the adapter and its lean CreateItem


def test_msal_is_imported_by_the_graph_adapter_only():
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "msal" in imports(p))
    assert users == ["core/sync/graph_auth.py"]
