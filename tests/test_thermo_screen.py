"""Thermodynamics and the screen on a real calculator (CHGNet + D3), small systems."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from surfchem.core.units import EV_PER_A2_IN_J_PER_M2
from surfchem.errors import InputError
from surfchem.thermo import (
    References,
    coverage_table,
    differential_binding,
    surface_free_energy,
)


def test_unit_conversion():
    # 1 eV/Å² = 1.602176634e-19 J / 1e-20 m²
    assert np.isclose(EV_PER_A2_IN_J_PER_M2, 1.602176634e-19 / 1e-20)


def test_gamma_formula_stoichiometry():
    # a slab that is exactly b bulk units + (a - b) CsBr has gamma = 0
    g_bulk, mu_csbr, mu_l = -18.6, -7.0, -40.0
    e = 8 * g_bulk + 4 * mu_csbr
    assert np.isclose(surface_free_energy(e, 12, 8, 0, 100.0, g_bulk, mu_csbr, mu_l), 0.0)
    # exchanging one Cs for L at no energy cost keeps gamma at 0, dG = 0
    e1 = e - mu_csbr + mu_l
    assert np.isclose(surface_free_energy(e1, 11, 8, 1, 100.0, g_bulk, mu_csbr, mu_l), 0.0)
    assert np.isclose(differential_binding(e1, e, mu_l, mu_csbr), 0.0)
    with pytest.raises(InputError):
        surface_free_energy(e, 12, 8, 0, 0.0, g_bulk, mu_csbr, mu_l)


def test_coverage_table_min_and_dG():
    refs = References("CsPbBr3", -18.6, -7.0, {"X": -40.0})
    rows = pd.DataFrame([
        dict(ligand="", n=0, energy_eV=-180.0, n_A=12, n_B=8, area_A2=140.0),
        dict(ligand="X", n=1, energy_eV=-215.5, n_A=11, n_B=8, area_A2=140.0),
        dict(ligand="X", n=1, energy_eV=-215.0, n_A=11, n_B=8, area_A2=140.0),
        dict(ligand="X", n=2, energy_eV=-250.0, n_A=10, n_B=8, area_A2=140.0),
    ])
    t = coverage_table(rows, refs)
    best1 = t[(t.n == 1) & t.is_min]
    assert len(best1) == 1 and np.isclose(best1.energy_eV.iloc[0], -215.5)
    d2 = t[t.n == 2].dG_eV.iloc[0]
    assert np.isclose(d2, -250.0 - (-215.5) - (-40.0) + (-7.0))
    with pytest.raises(InputError, match="no mu_LX"):
        coverage_table(rows, References("CsPbBr3", -18.6, -7.0, {}))
    # tied minima (mirror images relax to the same energy): still one reported row per N
    tied = pd.concat([rows, rows.iloc[[3]].assign(sites="mirror")], ignore_index=True)
    t = coverage_table(tied, refs)
    assert t.groupby(["ligand", "n"])["is_min"].sum().eq(1).all()


def test_screen_real_energies(mini_screen):
    res = mini_screen
    t, refs = res.table, res.references
    assert set(t.n) == {0, 1, 2}
    assert np.isfinite(t.energy_eV).all() and t.converged.all()
    # CHGNet a0 of cubic CsPbBr3 within 2 % of experiment (5.87 Å); CsBr likewise (4.30 Å)
    assert abs(refs.a0_A - 5.87) / 5.87 < 0.02
    # gamma of the bare CsBr-terminated slab: positive, small (prototype: +5.4 meV/Å²)
    g0 = t[t.n == 0].gamma_J_m2.iloc[0]
    assert 0.0 < g0 < 0.3
    # dG(N) is the finite difference of the computed energies (brief, section 2)
    e = t[t.is_min].set_index("n").energy_eV
    mu_l = refs.mu_LX_eV["MA"]
    for k in (1, 2):
        expected = e[k] - e[k - 1] - mu_l + refs.mu_AX_eV
        got = t[(t.n == k) & t.is_min].dG_eV.iloc[0]
        assert np.isclose(got, expected, atol=1e-9)
    # gamma(N) from its definition, recomputed here from the raw columns
    row = t[(t.n == 2) & t.is_min].iloc[0]
    g = (row.energy_eV - 8 * refs.g_bulk_eV - (10 - 8) * refs.mu_AX_eV - 2 * mu_l) / (2 * row.area_A2)
    assert np.isclose(row.gamma_J_m2, g * EV_PER_A2_IN_J_PER_M2)


def test_screen_outputs_and_resume(mini_screen):
    out = mini_screen.out
    for name in ("results.csv", "summary.csv", "references.json", "results.db"):
        assert (out / name).stat().st_size > 0
    csv = pd.read_csv(out / "results.csv")
    for col in ("ligand", "n", "arrangement", "energy_eV", "gamma_J_m2", "dG_eV", "converged", "calculator"):
        assert col in csv.columns
    assert (csv.calculator == "chgnet-d3").all()
    # rerun: every task is a cache hit (no relaxation), identical numbers
    from surfchem.campaign.screen import screen
    from surfchem.core.store import ResultStore

    n_rows = len(ResultStore(out / "results.db"))
    again = screen(ligands=["MA"], n="0-2", out=out, fmax=0.1, steps=150, progress=False, search=None)
    assert len(ResultStore(out / "results.db")) == n_rows
    assert np.allclose(again.table.energy_eV, mini_screen.table.energy_eV)
    assert again.wall_s < 30
    # a changed setting is a different task
    from surfchem.build import slab
    from surfchem.calculators import preset_parameters
    from surfchem.core.hashing import task_hash

    s = slab()
    p = preset_parameters("chgnet-d3")
    assert task_hash(s, p, {"fmax": 0.1}) != task_hash(s, p, {"fmax": 0.05})
    assert task_hash(s, p, {"fmax": 0.1}) == task_hash(s.copy(), p, {"fmax": 0.1})


def test_screen_input_errors(tmp_path):
    from surfchem.campaign.screen import screen
    from surfchem.core.spec import parse_n_range

    assert parse_n_range("0-2,5") == [0, 1, 2, 5]
    with pytest.raises(InputError, match="0..8"):
        parse_n_range("0-9")
    with pytest.raises(InputError, match="forms like"):
        parse_n_range("a-b")
    with pytest.raises(InputError, match="unknown calculator preset 'nope'"):
        screen(ligands=["MA"], n="0", calculator="nope", out=tmp_path, progress=False)
    with pytest.raises(InputError, match="arrangements"):
        screen(ligands=["MA"], n="0", arrangements="best", out=tmp_path, progress=False)


def test_screen_cli_json(mini_screen, tmp_path):
    import shutil

    out = tmp_path / "cli"  # a copy: the shared screen directory stays as the fixture wrote it
    shutil.copytree(mini_screen.out, out)
    r = subprocess.run([sys.executable, "-m", "surfchem", "screen", "--ligands", "MA", "--n", "0-2",
                        "--fmax", "0.1", "--steps", "150", "--starts", "1", "--out", str(out), "--json",
                        "--no-progress"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["n_min"]["MA"] in (0, 1, 2)
    assert [row["n"] for row in data["summary"]] == [0, 1, 2]
    # the CLI's --starts 1 is the API's search=None: the same tasks, read back from the copy
    got = [row["gamma_J_m2"] for row in data["summary"]]
    assert got == pytest.approx(list(mini_screen.summary.sort_values("n")["gamma_J_m2"]), abs=1e-9)
