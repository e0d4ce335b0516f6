"""The architecture's arrows hold: `lint-imports` over the real tree, and over a copy with a
forbidden import planted, which must break the contract that names it."""

from __future__ import annotations

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
