"""Steric descriptors: chain density per face, tail-tail contacts, tilt, the overpacking flag."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from surfchem.build import decorate, slab
from surfchem.build.decorate import decorate_relaxed
from surfchem.build.sterics import (
    CLOSE_PACKED_CHAINS_NM2,
    STERIC_COLUMNS,
    face_area_nm2,
    steric_descriptors,
)
from surfchem.trust.sanity import CLASH_FLOOR_A


@pytest.fixture(scope="module")
def bare():
    return slab()


def test_bare_slab_and_one_tailed_layers(bare):
    d = steric_descriptors(bare)
    assert d["chains_top_nm2"] == d["chains_bottom_nm2"] == 0.0 and not d["flag_overpacked"]
    assert all(math.isnan(d[k]) for k in ("tail_hh_min_A", "tail_cc_min_A", "tail_tilt_deg"))
    assert face_area_nm2(bare) == pytest.approx((2 * 5.87) ** 2 / 100)  # 1.378 nm^2
    # methylammonium has no chain (a methyl is not a tail); full PEA: 4 chains per face
    assert steric_descriptors(decorate(bare, "MA", [0, 1]))["chains_top_nm2"] == 0.0
    pea = steric_descriptors(decorate(bare, "PEA", list(range(8))))
    assert pea["chains_top_nm2"] == pytest.approx(4 / face_area_nm2(bare))  # 2.90 nm^-2
    assert pea["chains_bottom_nm2"] == pea["chains_top_nm2"] and not pea["flag_overpacked"]
    assert 0 <= pea["tail_tilt_deg"] < 20  # as built: tails along the normal
    assert pea["tail_hh_min_A"] > 1.5 and pea["tail_cc_min_A"] > 3.0
    # failed-task placeholder: NaN, no flag
    from ase import Atoms

    empty = steric_descriptors(Atoms())
    assert set(empty) == set(STERIC_COLUMNS) and not empty["flag_overpacked"]


def test_descriptors_ignore_periodic_wrapping(bare):
    d4 = decorate(bare, "C4A", [0, 1, 2, 3])
    ref = steric_descriptors(d4)
    moved = d4.copy()
    moved.translate([3.1, 4.7, 0.0])  # ligands cut by the cell boundary once wrapped
    moved.wrap()
    got = steric_descriptors(moved)
    for k in STERIC_COLUMNS:
        assert got[k] == pytest.approx(ref[k], abs=1e-9)


def test_link_descriptor_table_carries_sterics():
    from surfchem.link.descriptors import descriptors_from_tables

    rows = pd.DataFrame({"ligand": ["", "DDA4", "DDA4"], "smiles": ["", *["CCCC[N+](C)(C)CCCC"] * 2],
                         "n": [0, 4, 8], "gamma_J_m2": [0.1, 0.09, 0.095], "dG_eV": [np.nan, -1.0, 0.2],
                         "chains_top_nm2": [0.0, 5.8, 5.8], "chains_bottom_nm2": [0.0, 0.0, 5.8],
                         "tail_hh_min_A": [np.nan, 2.1, 1.9], "tail_cc_min_A": [np.nan, 3.6, 3.5],
                         "tail_tilt_deg": [np.nan, 30.0, 35.0], "flag_overpacked": [False, True, True]})
    d = descriptors_from_tables(rows).iloc[0]
    assert d["chains_N8_nm2"] == 5.8 and d["tail_hh_min_N8_A"] == 1.9 and d["tail_tilt_N8_deg"] == 35.0
    assert d["overpacked_N8"] and d["n_first_overpacked"] == 4


#: optimiser steps of the real test (a short relaxation: the 2 shared cores are busy)
STEPS = 4


def _relaxed(atoms, calc, steps):
    from surfchem.relax import relax

    return relax(atoms, calc, fmax=0.05, steps=steps).atoms


def test_full_two_tailed_layer_is_denser_than_close_packing(chgnet_d3, bare):
    """Real: dibutyldimethylammonium (DDA4, two tails) on the 2x2 CsPbBr3 (100) slab, relaxed with
    CHGNet+D3 for a few steps. A full top face (4 ligands, 8 chains on 1.38 nm^2 = 5.8 nm^-2, the
    paper's ~5.7) is denser than close-packed chains (5.5 nm^-2); half a face (2 ligands on a
    diagonal, 2.9 nm^-2) is not."""
    full = _relaxed(decorate_relaxed(bare, "DDA4", [0, 1, 2, 3]), chgnet_d3, STEPS)
    half = _relaxed(decorate(bare, "DDA4", [0, 2]), chgnet_d3, STEPS)
    f, h = steric_descriptors(full), steric_descriptors(half)
    print("full", f, "\nhalf", h)
    assert f["chains_top_nm2"] == pytest.approx(8 / face_area_nm2(bare)) and f["chains_bottom_nm2"] == 0
    assert f["chains_top_nm2"] > CLOSE_PACKED_CHAINS_NM2 and f["flag_overpacked"]
    assert h["chains_top_nm2"] == pytest.approx(4 / face_area_nm2(bare)) and not h["flag_overpacked"]
    # the crowded layer has the shorter tail-tail contacts, none an overlap (diagnostics' 1.0 Å floor)
    assert f["tail_hh_min_A"] < h["tail_hh_min_A"] and f["tail_hh_min_A"] > CLASH_FLOOR_A
    assert 0 < f["tail_tilt_deg"] < 90 and 0 < h["tail_tilt_deg"] < 90
