"""The photons half installs alone: a fresh venv with ``pip install '<repo>[photons]'`` (not
editable) has no torch, GPAW or ASE and still runs ``surfchem photons analyze`` on a PTU file,
with the numbers of the full environment; a science command there fails with one line naming
the extra to install.

The venv tests need PyPI (or a pip cache) and minutes: marked ``install``, left out of the default
run and run by their own CI step (``.ci/run``):
``python -m pytest -m install tests/test_install_photons.py``. The default run keeps a fast
stand-in: this checkout's CLI with the science packages made unimportable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from surfchem.cli.photons import JSON_KEYS
from surfchem.experiment.analyze import AnalysisOptions, analyze_file
from surfchem.experiment.simulate import SimulationParams, write_simulated_ptu

REPO = Path(__file__).resolve().parents[1]
#: packages of the science half that must not come with the photons extra
SCIENCE_ONLY = ("torch", "gpaw", "ase", "rdkit", "chgnet", "pandas")
#: every third-party package of the science extra, by import name (the stand-in hides them)
SCIENCE_IMPORTS = ("ase", "spglib", "pymatgen", "phonopy", "rdkit", "tblite", "dftd3", "chgnet",
                   "sevenn", "torch", "gpaw", "pandas", "pydantic", "parsl", "psycopg2")
#: runs this checkout's CLI with SCIENCE_IMPORTS unimportable (as in an install without them)
HIDDEN_SCIENCE_CLI = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {hidden!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Hide())
from surfchem.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _env(pythonpath: str | None = None) -> dict:
    """The environment of the venv's processes: nothing leaks in from this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def _run(cmd: list, pythonpath: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` with :func:`_env`, in ``cwd`` (``python -c`` puts its working directory on
    ``sys.path``: a venv's python must not run in this checkout, or it imports it)."""
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=_env(pythonpath),
                          cwd=cwd)


def _hidden_science_cli(*args) -> subprocess.CompletedProcess:
    code = HIDDEN_SCIENCE_CLI.format(hidden=set(SCIENCE_IMPORTS))
    return _run([sys.executable, "-c", code, *args], pythonpath=str(REPO))


def _assert_names_the_extra(r: subprocess.CompletedProcess) -> None:
    """A science command without its packages: exit 2, one line naming the extra, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'surfchem[all]'" in lines[0], r.stderr


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with surfchem[photons] installed from a copy of this checkout."""
    root = tmp_path_factory.mktemp("install")
    src = root / "src"  # a copy, so the wheel build leaves nothing in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "surfchem", src / "surfchem",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env_dir = root / "venv"
    t0 = time.perf_counter()
    r = _run([sys.executable, "-m", "venv", env_dir], cwd=root)
    assert r.returncode == 0, f"python -m venv failed:\n{r.stderr[-3000:]}"
    r = _run([env_dir / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
              f"{src}[photons]"], cwd=root)
    assert r.returncode == 0, f"pip install '.[photons]' failed:\n{r.stderr[-3000:]}"
    print(f"venv + pip install '.[photons]': {time.perf_counter() - t0:.0f} s")
    return env_dir


@pytest.fixture(scope="module")
def ptu_file(tmp_path_factory) -> Path:
    """A simulated T3 file with blinking, antibunching and a lifetime (written here, not in the venv)."""
    path = tmp_path_factory.mktemp("ptu") / "dot.ptu"
    write_simulated_ptu(SimulationParams(duration_s=4.0, mode="t3", on_fraction=0.9, g2_0=0.02,
                                         background_fraction=0.02), path)
    return path


@pytest.mark.install
def test_photons_extra_has_no_science_packages(venv):
    r = _run([venv / "bin" / "python", "-c",
              "import importlib.util, json, sys; "
              "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))",
              *SCIENCE_ONLY, "surfchem", "numba", "h5py", "phconvert", "matplotlib"], cwd=venv)
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert [m for m in SCIENCE_ONLY if found[m]] == []
    assert all(found[m] for m in ("surfchem", "numba", "h5py", "phconvert", "matplotlib")), found
    r = _run([venv / "bin" / "python", "-c", "import surfchem; print(surfchem.__file__)"], cwd=venv)
    assert r.returncode == 0 and str(venv) in r.stdout, (r.stdout, r.stderr)  # not this checkout


@pytest.mark.install
def test_photons_analyze_in_venv_matches_full_install(venv, ptu_file, tmp_path):
    r = _run([venv / "bin" / "surfchem", "photons", "analyze", ptu_file, "--json",
              "--plot", tmp_path / "figs"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    want = analyze_file(ptu_file, AnalysisOptions()).to_dict()
    assert got["n_photons"] == want["n_photons"] > 10_000
    for key in JSON_KEYS:
        if want[key] is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(want[key], rel=1e-6), key
    assert 0.8 < got["on_fraction"] < 1.0 and got["count_rate_cps"] > 1e3
    assert got["lifetime_ns"] == pytest.approx(8.0, rel=0.05)
    assert sorted(Path(f).name for f in got["figures"]) == ["decay.png", "flid.png", "g2.png", "trace.png"]


@pytest.mark.install
def test_photon_hdf5_round_trip_in_venv(venv, ptu_file, tmp_path):
    h5 = tmp_path / "dot.h5"
    r = _run([venv / "bin" / "surfchem", "photons", "convert", ptu_file, h5], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _run([venv / "bin" / "surfchem", "photons", "analyze", h5, "--json"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["n_photons"] == analyze_file(ptu_file, AnalysisOptions()).n_photons


@pytest.mark.install
def test_science_command_names_the_extra(venv):
    _assert_names_the_extra(_run([venv / "bin" / "surfchem", "screen", "--ligands", "PEA", "--n", "0-1",
                                  "--out", "x"], cwd=venv))
    r = _run([venv / "bin" / "surfchem", "--help"], cwd=venv)
    assert r.returncode == 0, r.stderr
    assert "photons" in r.stdout and "screen" in r.stdout


# ---------------------------------------------------------- fast stand-in (default run)


def test_photons_cli_runs_without_science_packages(ptu_file):
    r = _hidden_science_cli("photons", "analyze", ptu_file, "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    want = analyze_file(ptu_file, AnalysisOptions()).to_dict()
    assert got["n_photons"] == want["n_photons"]
    assert got["on_fraction"] == pytest.approx(want["on_fraction"], rel=1e-9)


@pytest.mark.parametrize("argv", [
    ["screen", "--ligands", "PEA", "--n", "0-1", "--out", "x"],
    ["build", "--help"],
    ["thermo", "--help"],
    ["campaign", "status", "spec.toml"],
])
def test_science_commands_without_science_packages_name_the_extra(argv):
    r = _hidden_science_cli(*argv)
    if r.returncode == 0:  # a command whose module imports its packages lazily: help still works
        assert argv[-1] == "--help", r.stdout
    else:
        _assert_names_the_extra(r)


def test_help_lists_every_command_without_science_packages():
    r = _hidden_science_cli("--help")
    assert r.returncode == 0, r.stderr
    for command in ("build", "screen", "campaign", "photons", "link", "thermo", "validate"):
        assert command in r.stdout
