"""Shared fixtures: real calculators and structures built once per session (no mocks of the science)."""

from __future__ import annotations

import os
import warnings

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message=".*requires_grad=True.*")


@pytest.fixture(scope="session")
def chgnet_d3():
    from surfchem.calculators import get_calculator

    return get_calculator("chgnet-d3")


@pytest.fixture(scope="session")
def mini_screen(tmp_path_factory):
    """A real CHGNet+D3 screen of methylammonium at N = 0..2 (the smallest ligand)."""
    from surfchem.campaign.screen import screen

    out = tmp_path_factory.mktemp("screen")
    res = screen(ligands=["MA"], n="0-2", out=out, fmax=0.1, steps=150, progress=False, search=None)
    return res


@pytest.fixture(scope="session")
def _ma_box_built():
    """Methylammonium (the built ligand, RDKit conformer search) in a 12 Å periodic box, centred."""
    from surfchem.build import ligand

    mol = ligand("MA")
    mol.set_cell([12, 12, 12])
    mol.pbc = True
    mol.center()
    return mol


@pytest.fixture
def ma_in_box(_ma_box_built):
    """A fresh copy of methylammonium in a 12 Å periodic box (the test may rattle or relax it)."""
    return _ma_box_built.copy()
