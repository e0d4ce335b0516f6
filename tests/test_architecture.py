"""The architecture's arrows hold: `lint-imports` over the real tree, and over a copy with a
forbidden import planted, which must break the contract that names it; and no clock read in
the deterministic code but workflow.now()."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("soporte", "workflows", "activities", "api", "launcher")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    (copy / "tests").mkdir()
    for name in ("__init__.py", "import_contracts.py"):
        shutil.copy(ROOT / "tests" / name, copy / "tests" / name)
    shutil.copy(ROOT / "worker.py", copy / "worker.py")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("workflows/ticket.py", "import sqlalchemy", "Workflows import only"),
        ("workflows/incident.py", "from soporte.settings import Settings", "Workflows import only"),
        ("workflows/ticket.py", "import random", "Workflows import only"),
        ("workflows/committee.py", "from time import monotonic", "Workflows import only"),
        ("soporte/policy/sla.py", "import os", "The policy core imports nothing else"),
        (
            "soporte/policy/ticket/view.py",
            "from soporte.db.models import Ticket",
            "The policy core imports nothing else",
        ),
        ("soporte/policy/calendar.py", "import holidays", "The policy core imports nothing else"),
        ("soporte/services/tickets.py", "import activities.notifications", "The core never"),
        ("soporte/settings.py", "from api.main import create_app", "The core never"),
        ("soporte/inbound.py", "import worker", "The core never"),
        ("api/routes/tickets.py", "from activities import projection", "The API never"),
        ("activities/projection.py", "from launcher import cli", "Nothing but the launcher"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tree_copy: Path, module: str, planted: str, contract: str
) -> None:
    path = tree_copy / module
    original = path.read_text()
    path.write_text(original + f"\n{planted}  # planted by the test\n")
    try:
        result = lint_imports(tree_copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout


# Deterministic code reads the time from workflow.now() only: the worker runs workflows
# without the SDK's sandbox (workflows/registry.py), so nothing else would stop a clock read.
CLOCK_READS = frozenset({"now", "utcnow", "today", "fromtimestamp", "utcfromtimestamp"})
DETERMINISTIC = ("workflows", "soporte/policy")


def clock_reads(source: str) -> list[str]:
    """`<x>.now()`-style calls in `source`, other than `workflow.now()`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if node.func.attr in CLOCK_READS and not (
            isinstance(owner, ast.Name) and owner.id == "workflow"
        ):
            found.append(f"l.{node.lineno} {ast.unparse(node.func)}()")
    return found


def test_deterministic_code_reads_no_clock_but_the_workflows() -> None:
    files = [path for folder in DETERMINISTIC for path in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 10
    reads = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := clock_reads(path.read_text()))
    }
    assert reads == {}


def test_a_clock_read_is_found_and_workflow_now_is_not() -> None:
    planted = "from datetime import UTC, datetime, date\n" + "\n".join(
        ["a = datetime.now(UTC)", "b = date.today()", "c = workflow.now()", "d = x.y.utcnow()"]
    )
    assert clock_reads(planted) == [
        "l.2 datetime.now()",
        "l.3 date.today()",
        "l.5 x.y.utcnow()",
    ]
