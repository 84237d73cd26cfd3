"""The benchmark of minima (surfchem.trust.benchmark) on real CHGNet+D3 screens of MA on a
three-layer slab: best-known energies only go down, only physical structures count, and a run is
scored against them."""

import shutil

import numpy as np
import pandas as pd
import pytest
from ase.io import read

from surfchem.build import decorate, slab
from surfchem.campaign.screen import screen
from surfchem.errors import FileFormatError
from surfchem.trust.benchmark import (
    BEST_KNOWN_COLUMNS,
    physical,
    read_best_known,
    score,
    update_best_known,
)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    kw = dict(ligands=["MA"], n="0-2", layers=3, progress=False, fmax=0.1, steps=200)
    preview = screen(out=root / "preview", search=None, **kw)
    # the same reference tasks (bulk with its tilt search, CsBr, ion pair; same settings, same
    # content hashes) come from the preview's database instead of being relaxed again
    (root / "searched").mkdir()
    shutil.copy(root / "preview" / "results.db", root / "searched" / "results.db")
    searched = screen(out=root / "searched", search={"n_starts": 2, "patience": 1, "bare_starts": 2,
                                                      "sweeps": 1}, **kw)
    return root, preview, searched


def test_the_task_total_counts_the_sweeps(two_runs):
    """The sweeps' tasks are not known when the campaign is planned: the reported total adds them,
    so a finished searched screen reports done = total and nothing pending (it said 132/42)."""
    _, _, searched = two_runs
    c = searched.counts
    assert c["extra"] > 0  # the sweep round ran
    assert c["done"] + c["failed"] + c["rejected"] == c["total"] and c["pending"] == 0, c


def test_best_known_is_the_lowest_physical_minimum_and_runs_are_scored(two_runs):
    root, preview, searched = two_runs
    bk = root / "best_known.csv"
    first = update_best_known(bk, root / "preview", label="preview")
    assert [(u.ligand, u.n, u.old_eV) for u in first] == [("MA", 0, None), ("MA", 1, None), ("MA", 2, None)]
    second = update_best_known(bk, root / "searched", label="searched")
    table = read_best_known(bk)
    assert list(table.columns) == list(BEST_KNOWN_COLUMNS) and len(table) == 3
    assert (table["ligand_key"] == "C[NH3+]").all()
    for n in (0, 1, 2):
        lowest = min(preview.table[preview.table["n"] == n]["energy_eV"].min(),
                     searched.table[searched.table["n"] == n]["energy_eV"].min())
        entry = table[table["n"] == n].iloc[0]
        assert entry["energy_eV"] == pytest.approx(lowest, abs=1e-6)  # every row here is physical
        atoms = read(root / entry["structure"])
        assert physical(atoms) == [] and atoms.info["occupied_sites"] is not None
        assert len(atoms) == len(slab(layers=3)) + 7 * n  # MA (8 atoms) replaces a Cs
    assert all(u.new_eV < u.old_eV for u in second)  # only ever lowered
    assert update_best_known(bk, root / "searched") == []  # idempotent
    scores = {name: score(root / name, bk) for name in ("preview", "searched")}
    for s in scores.values():
        assert s["n_pairs"] == 3 and min(s["excess_eV"].values()) >= -1e-9
        assert s["relaxations"] > 0 and s["force_calls"] > 0 and s["wall_s"] > 0
    for key in scores["preview"]["excess_eV"]:  # the best known came from one of the two runs
        assert min(s["excess_eV"][key] for s in scores.values()) == pytest.approx(0.0, abs=1e-6)
    assert scores["searched"]["relaxations"] > scores["preview"]["relaxations"]
    ok = np.mean([v <= 0.05 for v in scores["searched"]["excess_eV"].values()])
    assert scores["searched"]["success_0.05"] == pytest.approx(ok)


def test_physical_rejects_a_clash_and_a_migrated_head():
    ma = decorate(slab(layers=3), "MA", [0])
    assert physical(ma) == []
    lig = ma.get_array("ligand_index")
    sym = np.array(ma.get_chemical_symbols())
    c = int(np.flatnonzero((sym == "C") & (lig >= 0))[0])
    br = int(np.argmin([ma.get_distance(c, j, mic=True) if sym[j] == "Br" else 99 for j in range(len(ma))]))
    hole = ma.copy()
    hole.positions[c] = hole.positions[br] + [0.0, 0.0, 0.4]  # C 0.4 Å above a Br
    assert "clash" in physical(hole)
    moved = ma.copy()
    moved.positions[lig >= 0] += [0.7 * ma.info["a_A"], 0.0, 0.0]
    assert "head_off_site" in physical(moved)


def test_best_known_file_errors(tmp_path):
    bad = tmp_path / "bk.csv"
    pd.DataFrame({"system": ["x"], "energy_eV": [1.0]}).to_csv(bad, index=False)
    with pytest.raises(FileFormatError, match="missing columns"):
        read_best_known(bad)
    assert read_best_known(tmp_path / "none.csv").empty


def test_sweep_round_prefixes_rebuild_the_run(two_runs):
    """benchmarks/minima/rounds.py: the rows of rounds <= K rebuilt with the campaign's own table
    code; with every round it is the run itself (same minima, face-eq, cost), with none it is
    the chain alone (fewer relaxations, no sweep row)."""
    import importlib.util
    from pathlib import Path

    root, _, searched = two_runs
    bk = root / "best_known.csv"
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "minima" / "rounds.py"
    spec = importlib.util.spec_from_file_location("rounds", path)
    rounds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rounds)
    assert [rounds.sweep_round(b) for b in ("grow", "", None, "shrink1", "mirror_top2", "splice12")] == \
        [0, 0, 0, 1, 2, 12]
    rows = rounds.prefix_scores(root / "searched", 3, "searched", read_best_known(bk))
    assert [r["sweeps"] for r in rows] == [0, 1]
    whole = score(root / "searched", bk)
    last = rows[-1]
    for key in ("n_pairs", "success_0.05", "success_0.1", "relaxations", "force_calls", "n_flagged"):
        assert last[key] == whole[key], key
    assert last["max_excess_eV"] == pytest.approx(whole["max_excess_eV"], abs=1e-9)
    assert last["max_face_eq_eV"] == pytest.approx(whole["max_face_eq_eV"], abs=1e-9, nan_ok=True)
    assert rows[0]["relaxations"] < last["relaxations"] and rows[0]["force_calls"] < last["force_calls"]
    assert rows[0]["max_excess_eV"] >= last["max_excess_eV"] - 1e-9  # sweeps only ever lower a minimum


def test_estimated_wall_is_shared_work_plus_the_slowest_ligand():
    from surfchem.trust.benchmark import estimated_wall_s

    rows = pd.DataFrame({"ligand": ["", "", "PEA", "PEA", "DDA2", None],
                         "wall_s": [3.0, 2.0, 10.0, 20.0, 7.0, np.nan],
                         "scaled": [1.5, 1.0, 5.0, 10.0, 40.0, 0.0]})
    assert estimated_wall_s(rows) == pytest.approx(5.0 + 30.0)
    assert estimated_wall_s(rows, "scaled") == pytest.approx(2.5 + 40.0)
    assert estimated_wall_s(rows[rows["ligand"] == ""]) == pytest.approx(5.0)
