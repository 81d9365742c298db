"""The shape of the house: dependencies point one way and the public face stays small."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import atlas_core

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "atlas_core"
PAGES = sorted((ROOT / "app_pages").glob("*.py"))


def _core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(CORE)], prefix="atlas_core."))


def test_every_core_module_imports_without_streamlit():
    """Importing every atlas_core module in a fresh interpreter must not load streamlit."""
    modules = [m for m in _core_modules() if not m.endswith("__main__")]
    assert len(modules) > 5
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


PAGE_PACKAGES = {"pages", "app_pages"}


def test_nothing_imports_a_page():
    """Pages are leaves: no module of the project imports from pages/."""
    sources = [*CORE.rglob("*.py"), *(ROOT / "ui").rglob("*.py"), ROOT / "app.py"]
    offenders = [str(p) for p in sources if p.exists() and any(n.split(".")[0] in PAGE_PACKAGES for n in _imports(p))]
    assert offenders == []


def test_sql_lives_only_in_the_ledger():
    """Every SQL statement sits in atlas_core/ledger, so a move to PostgreSQL stays small."""
    ledger = CORE / "ledger"
    offenders = []
    for path in [*CORE.rglob("*.py"), *(ROOT / "ui").rglob("*.py"), *PAGES]:
        if ledger in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        if any(n in {"sqlite3", "sqlite_utils"} for n in _imports(path)) or ".execute(" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_pages_are_thin_and_exist():
    """Every page script is a few dozen lines of widgets and calls; the work is in atlas_core."""
    assert {p.stem for p in PAGES} >= {"upload", "batches", "results", "connection"}
    for page in [*PAGES, ROOT / "app.py"]:
        lines = page.read_text(encoding="utf-8").count("\n")
        assert lines <= 200, f"{page.name} has {lines} lines"
        assert not {"requests", "sqlite3", "sqlite_utils"} & _imports(page)


def test_public_face_is_pinned():
    """The names a page or the CLI needs, and no more; a change here is a deliberate API change."""
    assert sorted(atlas_core.__all__) == sorted(EXPECTED_PUBLIC_NAMES)
    for name in atlas_core.__all__:
        assert getattr(atlas_core, name) is not None


EXPECTED_PUBLIC_NAMES = [
    "AtlasClient",
    "AtlasError",
    "Runtime",
    "SandboxServer",
    "Settings",
    "UploadItem",
    "ValidationReport",
    "Worker",
    "cancel_upload",
    "export_documents",
    "open_runtime",
    "plan_upload",
    "queue_upload",
    "read_spreadsheet",
    "reconcile",
    "refresh_batches",
    "resolve_uncertain",
    "retry_failed",
    "validate_sheet",
]
