"""Table-level free-energy models, sweeps and the ``surfchem thermo`` CLI (no calculator)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from surfchem.core.units import EV_PER_A2_IN_J_PER_M2, KB_EV_K
from surfchem.errors import InputError
from surfchem.thermo import References, coverage_table
from surfchem.thermo.models import (
    corrections,
    parse_model,
    thermo_summary,
    thermo_table,
)
from surfchem.thermo.sweeps import (
    contrast_windows,
    gamma_vs_mu,
    stability_windows,
    temperature_sweep,
)

AREA = 141.58
#: real CHGNet+D3 energies of a C6A grow screen (hexylammonium, named DDA6 before issue 13;
#: N = 0..6, eV) and its references
E_C6A = [-175.2531, -296.1699, -416.6123, -536.8521, -657.4852, -778.0844, -898.7898]
REFS = References("CsPbBr3", g_bulk_eV=-18.6010, mu_AX_eV=-6.9895, mu_LX_eV={"C6A": -125.4510},
                  mu_LX_kind={"C6A": "ion_pair"}, a0_A=5.9494, calculator="chgnet-d3")


def records() -> pd.DataFrame:
    rows = []
    for n, e in enumerate(E_C6A):
        rows.append({"ligand": "C6A" if n else "", "n": n, "energy_eV": e, "n_A": 12 - n, "n_B": 8,
                     "area_A2": AREA, "arrangement": 0, "multiplicity": 1 if n == 0 else 4})
    return pd.DataFrame(rows)


def test_parse_model():
    assert parse_model("qrrho+rotor") == ("rotor", "qrrho")
    assert parse_model("none") == (None, None)
    assert parse_model("Conformers") == ("conformers", None)
    for bad in ("rotor+conformers", "entropy", "", "harmonic+qrrho"):
        with pytest.raises(InputError):
            parse_model(bad)


def test_energy_only_equals_coverage_table():
    a = thermo_summary(thermo_table(records(), REFS, model="none"))
    b = coverage_table(records(), REFS)
    b = b[b["is_min"]].sort_values("n")
    assert np.allclose(a["gamma_J_m2"], b["gamma_J_m2"])
    assert (a["G_corr_eV"] == 0).all()


def test_rotor_model_shifts_dG_and_gamma_consistently():
    T = 298.15
    base = thermo_summary(thermo_table(records(), REFS, model="none", T_K=T)).set_index("n")
    rot = thermo_summary(thermo_table(records(), REFS, model="rotor", T_K=T)).set_index("n")
    per_ligand = T * 4 * KB_EV_K * np.log(3)  # hexylammonium: 4 frozen sp3-sp3 rotors
    assert per_ligand == pytest.approx(0.1129, abs=2e-4)
    n = rot.index.to_numpy()
    assert np.allclose(rot["TS_conf_eV"], n * per_ligand)
    d = rot["dG_eV"] - base["dG_eV"]
    assert np.allclose(d[n > 0], per_ligand)
    dg = (rot["gamma_J_m2"] - base["gamma_J_m2"]) / EV_PER_A2_IN_J_PER_M2
    assert np.allclose(dg, n * per_ligand / (2 * AREA))
    assert (rot["entropy_model"] == "rotor").all() and (rot["T_K"] == T).all()


def test_configurational_options():
    T = 300.0
    recs = records()
    extra = recs[recs["n"] == 3].copy()
    extra["arrangement"] = 1
    extra["multiplicity"] = 2  # same energy, another class of 2 arrangements
    recs = pd.concat([recs, extra], ignore_index=True)
    c = corrections(recs, REFS, model="none", T_K=T, configurational="multiplicity")
    assert np.allclose(c["TS_cfg_eV"], -KB_EV_K * T * np.log(c["multiplicity"]))
    tab = thermo_table(recs, REFS, model="none", T_K=T, configurational="boltzmann")
    best = tab[tab["is_min"] & (tab["n"] == 3)]
    # equal energies, g = 4 + 2: G_eff = E - kT ln 6
    assert best["G_eV"].iloc[0] == pytest.approx(E_C6A[3] - KB_EV_K * T * np.log(6), abs=1e-9)


def test_neighbour_freezing_needs_structures_and_counts_neighbours():
    with pytest.raises(InputError, match="structures"):
        corrections(records(), REFS, model="rotor", freezing="neighbours")
    from surfchem.build.decorate import decorate
    from surfchem.build.slab import slab

    bare = slab("CsPbBr3", size=(2, 2), layers=5)
    cache = {}

    def structure(row):  # a ligand on every site of the top face, then the bottom face
        k = int(row["n"])
        if k not in cache:
            cache[k] = decorate(bare, "C6A", list(range(k)), n_angles=2)
        return cache[k]

    recs = records()
    recs = recs[recs["n"].isin([0, 1, 4])].reset_index(drop=True)
    c = corrections(recs, REFS, model="rotor", freezing="neighbours", freeze_isolated=0.25,
                    structure=structure)
    frozen = dict(zip(c["n"], c["n_frozen"], strict=True))
    assert frozen[1] == pytest.approx(0.25)  # alone: only the isolated fraction
    assert frozen[4] == pytest.approx(4.0)  # full face: 4 neighbours each (images) -> fully frozen


def test_stability_windows_match_brute_force():
    tab = thermo_table(records(), REFS, model="rotor")
    win = stability_windows(tab)
    grid = np.linspace(-4, 1, 2001)
    curves = gamma_vs_mu(tab, grid)
    stable = curves[curves["stable"]].sort_values("dmu_eV")
    for _, w in win.iterrows():
        inside = stable[(stable["dmu_eV"] > w["dmu_lo_eV"] + 1e-3) & (stable["dmu_eV"] < w["dmu_hi_eV"] - 1e-3)]
        assert (inside["n"] == w["n"]).all()
    assert set(stable["n"]) == set(win["n"])
    # at dmu = 0 the stable N is the argmin of gamma
    s = thermo_summary(tab)
    n0 = int(s.loc[s["gamma_J_m2"].idxmin(), "n"])
    w0 = win[(win["dmu_lo_eV"] <= 0) & (win["dmu_hi_eV"] >= 0)]
    assert list(w0["n"]) == [n0]


def test_contrast_window_matches_brute_force():
    """Two ligands whose lines cross differently: the contrast interval is exactly where one
    stops short of full coverage (N = 6 here) and the other reaches it."""
    import dataclasses

    recs = records()
    other = recs[recs["n"] > 0].copy()
    other["ligand"] = "PEA"
    other["energy_eV"] = other["energy_eV"] - 0.05 * other["n"] ** 2  # crowding rewarded: PEA fills up earlier
    refs = dataclasses.replace(REFS, mu_LX_eV={"C6A": -125.4510, "PEA": -125.4510},
                               mu_LX_kind={"C6A": "ion_pair", "PEA": "ion_pair"})
    tab = thermo_table(pd.concat([recs, other], ignore_index=True), refs, model="none")
    win = stability_windows(tab)
    con = contrast_windows(win)
    assert list(con["ligand_below"]) == ["C6A"] and list(con["ligand_full"]) == ["PEA"]
    lo, hi = con[["dmu_lo_eV", "dmu_hi_eV"]].iloc[0]
    grid = np.linspace(lo - 1.0, hi + 1.0, 801)
    curves = gamma_vs_mu(tab, grid)
    st = curves[curves["stable"]].pivot(index="dmu_eV", columns="ligand", values="n")
    both = (st["C6A"] < 6) & (st["PEA"] == 6)
    x = st.index.to_numpy()
    assert both[(x > lo + 1e-3) & (x < hi - 1e-3)].all()
    assert not both[(x < lo - 1e-3) | (x > hi + 1e-3)].any()
    assert contrast_windows(win[win["ligand"] == "PEA"]).empty
    inside = sorted(set(st.loc[(x > lo + 1e-3) & (x < hi - 1e-3), "C6A"].astype(int)))
    assert con["n_below"].iloc[0] == ",".join(map(str, inside))


def test_temperature_sweep_scales_with_T():
    summ, mins = temperature_sweep(records(), REFS, [100.0, 400.0], model="rotor")
    ts = summ[summ["n"] == 6].set_index("T_K")["TS_conf_eV"]
    assert ts[400.0] / ts[100.0] == pytest.approx(4.0)
    assert set(mins["T_K"]) == {100.0, 400.0}


def _screen_dir(tmp_path):
    out = tmp_path / "screen"
    out.mkdir()
    r = records()
    r["formula"] = [f"Cs{12 - n}Pb8Br28" for n in r["n"]]  # only Cs/Pb counts matter here
    r.drop(columns=["n_A", "n_B"]).to_csv(out / "results.csv", index=False)
    (out / "references.json").write_text(json.dumps(REFS.as_dict()))
    return out


def test_cli_thermo_json(tmp_path, capsys):
    from surfchem.cli.main import main

    d = _screen_dir(tmp_path)
    assert main(["thermo", str(d), "--entropy", "rotor", "--T", "298.15", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    rows = {r["n"]: r for r in res["rows"]}
    assert rows[6]["TS_conf_eV"] == pytest.approx(6 * 0.11290, abs=1e-4)
    assert rows[6]["F_vib_eV"] == 0.0
    for key in ("gamma_J_m2", "dG_eV", "TS_conf_eV", "F_vib_eV", "entropy_model", "T_K"):
        assert key in rows[3]
    assert res["settings"]["model"] == "rotor"
    assert res["entropy_penalty"][0]["n_rotors"] == 4
    assert set(res["n_min"]) == {"C6A"}


def test_cli_thermo_conformers_sweep_and_plots(tmp_path, capsys):
    from surfchem.cli.main import main

    d = _screen_dir(tmp_path)
    out = tmp_path / "thermo"
    assert main(["thermo", str(d), "--entropy", "conformers", "--conformers", "40", "--T-sweep", "77,298",
                 "--out", str(out), "--plot"]) == 0
    text = capsys.readouterr().out
    assert "N_min" in text and "N_min(T) C6A" in text
    for f in ("thermo.csv", "thermo_summary.csv", "thermo_coverage.png", "stability_windows.png",
              "entropy_penalty.png", "n_min_vs_T.csv"):
        assert (out / f).stat().st_size > 0
    tab = pd.read_csv(out / "thermo_summary.csv")
    assert (tab.loc[tab["n"] > 0, "TS_conf_eV"] > 0).all()


def test_cli_thermo_errors(tmp_path, capsys):
    from surfchem.cli.main import main

    assert main(["thermo", str(tmp_path), "--entropy", "rotor"]) == 2
    assert "results.csv" in capsys.readouterr().err
    d = _screen_dir(tmp_path)
    assert main(["thermo", str(d), "--entropy", "entropy"]) == 2
    assert "entropy model" in capsys.readouterr().err
    assert main(["thermo", str(d), "--entropy", "qrrho"]) == 2  # no structures in this directory
    assert "structures" in capsys.readouterr().err


def test_gas_free_state_adds_trans_rot_penalty_per_ligand():
    from surfchem.build import ion_pair
    from surfchem.thermo.entropy import trans_rot_free_energy_eV

    T = 298.15
    frozen = thermo_summary(thermo_table(records(), REFS, model="rotor", T_K=T)).set_index("n")
    gas = thermo_summary(thermo_table(records(), REFS, model="rotor", T_K=T, free_state="gas",
                                      pressure_Pa=1e5)).set_index("n")
    g_tr = trans_rot_free_energy_eV(ion_pair("C6A"), T, 1e5)["G_eV"]
    assert -1.2 < g_tr < -0.5  # a C6 ammonium bromide pair at 1 bar, 298 K
    assert np.allclose((gas["dG_eV"] - frozen["dG_eV"]).dropna(), -g_tr)
    assert np.allclose(gas["G_transrot_eV"], -gas.index.to_numpy() * g_tr)


def test_thermo_for_screen_from_spec_dict(tmp_path):
    from surfchem.thermo.results import thermo_for_screen

    d = _screen_dir(tmp_path)
    table, summ = thermo_for_screen(d, {"model": "rotor", "T_K": 350.0}, out=tmp_path / "o")
    assert (summ["T_K"] == 350.0).all() and (summ["entropy_model"] == "rotor").all()
    assert (tmp_path / "o" / "thermo_rotor_350K_summary.csv").exists()
    with pytest.raises(InputError, match="unknown thermo settings"):
        thermo_for_screen(d, {"modle": "rotor"})


def test_old_dda_rows_without_smiles_are_refused():
    """Before issue 13 ``DDA6`` was hexylammonium: a table that records only that name cannot get
    the rotor count of the truncated DDA (10) instead of hexylammonium's (4)."""
    old = records().replace({"ligand": {"C6A": "DDA6"}})
    refs = References("CsPbBr3", REFS.g_bulk_eV, REFS.mu_AX_eV, {"DDA6": -125.4510}, {"DDA6": "ion_pair"})
    with pytest.raises(InputError, match="before issue 13.*C6A"):
        thermo_table(old, refs, model="rotor")
    old["smiles"] = "CCCCCC[NH3+]"  # the recorded molecule wins over the name
    rot = thermo_summary(thermo_table(old, refs, model="rotor")).set_index("n")
    assert rot.loc[1, "TS_conf_eV"] == pytest.approx(298.15 * 4 * KB_EV_K * np.log(3))
