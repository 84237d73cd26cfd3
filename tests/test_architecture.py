"""The package's layers (pyproject.toml ``[tool.importlinter]``): kept by the tree, and a
deliberate upward import is caught with the broken contract named."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))

pytestmark = pytest.mark.skipif(not Path(LINT).exists(), reason="import-linter not installed (pip install -e '.[dev]')")


def _lint(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package under ``root`` (its own copy first on the path)."""
    env = {"PYTHONPATH": str(root), "PATH": str(Path(LINT).parent) + ":/usr/bin:/bin"}
    return subprocess.run([LINT, "--no-cache", str(root / "pyproject.toml")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_tree_keeps_every_contract():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout and "KEPT" in r.stdout


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(ROOT / "surfchem", root / "surfchem", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_an_upward_import_breaks_the_layers(tmp_path):
    root = _copy(tmp_path)
    (root / "surfchem" / "build" / "x.py").write_text("import surfchem.campaign.spec  # noqa: F401\n")
    r = _lint(root)
    assert r.returncode != 0
    assert "surfchem layers" in r.stdout and "BROKEN" in r.stdout
    assert "surfchem.build is not allowed to import surfchem.campaign" in r.stdout
    assert "surfchem.build.x -> surfchem.campaign.spec" in r.stdout


def test_a_cycle_inside_a_package_breaks_the_acyclic_contract(tmp_path):
    root = _copy(tmp_path)
    spec = root / "surfchem" / "campaign" / "spec.py"
    spec.write_text(spec.read_text() + "\nfrom surfchem.campaign import screen  # noqa: E402,F401\n")
    r = _lint(root)
    assert r.returncode != 0
    assert "no import cycles between sibling modules BROKEN" in r.stdout.replace("\n", " ")
