"""Trust layer: fingerprints/dedup, stop rule, minimum search, diagnostics, uncertainties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surfchem.build import decorate, slab
from surfchem.build.arrangements import site_permutations
from surfchem.trust.diagnostics import add_diagnostics, face_equivalence, uncertainties
from surfchem.trust.fingerprint import deduplicate, fingerprint, fp_distance
from surfchem.trust.moves import head_depths, perturb
from surfchem.trust.sanity import head_sites, structure_sanity
from surfchem.trust.search import SearchSettings, minimum_search, stop_rule


@pytest.fixture(scope="module")
def ma1():
    return decorate(slab(), "MA", [0])


def test_fingerprint_invariant_to_rigid_motion_and_order(ma1):
    moved = ma1.copy()
    moved.translate([1.3, -0.7, 0.4])
    moved.wrap()
    rotated = ma1.copy()
    rotated.rotate(90, "z", rotate_cell=True)  # square cell: a 90° turn maps the lattice on itself
    shuffled = ma1[np.random.default_rng(1).permutation(len(ma1))]
    f0 = fingerprint(ma1)
    for other in (moved, rotated, shuffled):
        assert fp_distance(f0, fingerprint(other)) < 1e-9
    tilted = ma1.copy()
    lig = np.flatnonzero(tilted.get_array("ligand_index") >= 0)
    tilted.positions[lig] = perturb(tilted, 1.5, np.random.default_rng(0)).positions[lig]
    assert fp_distance(f0, fingerprint(tilted)) > 1e-3


def test_deduplicate_merges_copies_and_keeps_distinct(ma1):
    copy = ma1.copy()
    copy.translate([0.5, 0.5, 0])
    copy.wrap()
    other = perturb(ma1, 1.5, np.random.default_rng(0))
    minima = deduplicate([(-10.0, ma1), (-10.005, copy), (-9.0, other)])
    assert len(minima) == 2
    assert minima[0].hits == 2 and np.isclose(minima[0].energy_eV, -10.005)
    # same energy but different structure: still distinct
    assert len(deduplicate([(-10.0, ma1), (-10.0, other)])) == 2


def test_stop_rule():
    assert not stop_rule([-1.0], 2, 0.05)
    assert not stop_rule([-1.0, -1.0], 2, 0.05)  # needs patience + 1 starts
    assert stop_rule([-1.0, -1.01, -1.02], 2, 0.05)  # improvements below tol
    assert not stop_rule([-1.0, -1.01, -1.3], 2, 0.05)  # a real improvement in the window
    assert stop_rule([-1.0, float("nan"), -0.5, -0.9], 2, 0.05)


def test_names_moved_out_of_search_and_diagnostics_still_import():
    """The split of search/diagnostics (moves, checked, sanity) keeps the old import paths."""
    from surfchem.trust import checked, diagnostics, moves, sanity, search

    for name in ("perturb", "head_depths", "surface_planes"):
        assert getattr(search, name) is getattr(moves, name)
    assert search.checked_relax is checked.checked_relax
    for name in ("close_contacts", "describe_contacts", "invalid_reasons", "structure_sanity",
                 "head_sites", "proton_transferred", "CLASH_FLOOR_A", "CLASH_SCALE", "HALIDES",
                 "PROTON_TRANSFER_A", "STRUCTURE_FLAGS"):
        assert getattr(diagnostics, name) is getattr(sanity, name)
    assert diagnostics.FLAGS == ("bonds", "clash", "head_off_site", "pb_coordination", "vacuum",
                                 "face_eq", "grow_vs_direct", "single_start")


def test_perturb_sets_head_depth(ma1):
    deep = perturb(ma1, 1.2, np.random.default_rng(0))
    assert np.allclose(head_depths(deep), [1.2])
    high = perturb(ma1, -1.0, np.random.default_rng(0), rotate=False)
    assert np.allclose(head_depths(high), [-1.0])


def test_perturbed_starts_move_heads_without_nh_from_their_built_depth():
    from surfchem.trust.search import perturbed_starts

    # MA (NH3+) on a top site, tetramethylammonium (DDA1, no N-H) on a bottom site
    s = decorate(decorate(slab(), "MA", [0]), "DDA1", [5])
    built = head_depths(s)
    assert built[1] < -1.0  # the builder's depth scan keeps the quaternary head out of the pocket
    st = SearchSettings(n_starts=4, rattle_A=0.0)
    starts = list(perturbed_starts(s, st))
    assert starts[0][0] == "as-built"
    for i, (label, start) in enumerate(starts[1:], 1):
        d = head_depths(start)
        assert d[0] == pytest.approx(st.depths_A[i % 3], abs=1e-9)  # absolute for NH3+
        assert d[1] == pytest.approx(built[1] + st.offsets_A[i % 3], abs=1e-9)  # offset for R4N+
        assert f"offset={st.offsets_A[i % 3]:+.2f}" in label
    # an N-H head alone: labels as before, no offsets
    assert [lab for lab, _ in perturbed_starts(decorate(slab(), "MA", [0]), st)][1] == "depth=0.80"


def test_search_stops_early_and_reports_spread(chgnet_d3, ma1, tmp_path):
    # generous tolerance: the rule must stop after patience + 1 = 2 starts of the 10 allowed
    settings = SearchSettings(n_starts=10, patience=1, tol_eV=10.0)
    res = minimum_search(ma1, chgnet_d3, {"fmax": 0.3, "steps": 25}, settings, prefix=tmp_path / "s")
    assert res.n_starts == 2 and "no improvement" in res.stop_reason
    assert res.energy_eV == min(res.start_energies_eV)
    assert res.n_distinct >= 1 and res.energy_spread_eV >= 0
    # resumable start by start: a rerun reads the finished starts back
    again = minimum_search(ma1, chgnet_d3, {"fmax": 0.3, "steps": 25}, settings, prefix=tmp_path / "s")
    assert again.start_energies_eV == res.start_energies_eV
    assert all(r.get("resumed") for r in again.relax_records)
    # a resumed minimum keeps the labels of the input (extxyz would turn lists into arrays) and
    # goes through the sanity checks (regression: numpy occupied_sites broke them mid-campaign)
    assert again.atoms.info["occupied_sites"] == ma1.info["occupied_sites"]
    assert not any(structure_sanity(ma1, again.atoms, ma1.info["vacuum_A"]).values())
    as_array = again.atoms.copy()
    as_array.info["occupied_sites"] = np.array(ma1.info["occupied_sites"])
    assert structure_sanity(ma1, as_array) == structure_sanity(ma1, again.atoms)


def _table(dG1, dG2, spread=0.0):
    e0 = -100.0
    mu_l, mu_ax = -40.0, -7.0
    e1 = e0 + dG1 + mu_l - mu_ax
    e2 = e1 + dG2 + mu_l - mu_ax
    return pd.DataFrame({
        "ligand": ["X"] * 3, "n": [0, 1, 2], "sites": ["", "0", "0,4"], "energy_eV": [e0, e1, e2],
        "dG_eV": [np.nan, dG1, dG2], "is_min": [True] * 3, "area_A2": [140.0] * 3,
        "energy_spread_eV": [spread] * 3,
    })


def test_face_equivalence_flags_inconsistent_table():
    perms = site_permutations(slab())
    bad = face_equivalence(_table(-2.0, -1.0), perms, tol_eV=0.15)
    assert bad.loc[bad.n == 2, "flag_face_eq"].item() and bad.loc[bad.n == 1, "flag_face_eq"].item()
    assert np.isclose(bad.loc[bad.n == 2, "face_eq_violation_eV"].item(), 1.0)
    good = face_equivalence(_table(-2.0, -1.95), perms, tol_eV=0.15)
    assert not good["flag_face_eq"].any()
    # steps on the same face with different neighbourhoods are not compared
    t = _table(-2.0, -1.0)
    t.loc[2, "sites"] = "0,1"
    assert not face_equivalence(t, perms)["flag_face_eq"].any()


def test_uncertainties_and_flags_string():
    t = uncertainties(_table(-2.0, -1.9, spread=0.1))
    assert np.isclose(t.loc[1, "gamma_err_J_m2"], 0.1 / 280.0 * 16.02176634)
    assert np.isclose(t.loc[2, "dG_err_eV"], np.sqrt(0.02))
    full = add_diagnostics(_table(-2.0, -1.0).assign(n_starts=[1, 4, 4]), site_permutations(slab()))
    assert full.loc[2, "flags"] == "face_eq" and full.loc[0, "flags"] == "single_start"
    # a funnel's single points re-evaluate the previous stage's minima: no search to flag
    sp = add_diagnostics(_table(-2.0, -1.95).assign(mode="single_point", build="stage0"), site_permutations(slab()))
    assert not sp["flag_single_start"].any() and set(sp["flags"]) == {""}


def test_structure_sanity_detects_damage(ma1):
    ok = structure_sanity(ma1, ma1, vacuum_A=15.0)
    assert not any(ok.values())
    sym = np.array(ma1.get_chemical_symbols())
    lig = ma1.get_array("ligand_index")
    n = int(np.flatnonzero((sym == "N") & (lig >= 0))[0])
    h = [i for i in np.flatnonzero((sym == "H") & (lig >= 0)) if ma1.get_distance(i, n) < 1.2][0]
    br = int(np.argmin([ma1.get_distance(h, j, mic=True) if sym[j] == "Br" else 99 for j in range(len(ma1))]))
    transferred = ma1.copy()
    v = transferred.get_distance(h, br, mic=True, vector=True)
    transferred.positions[h] += v * (1 - 1.45 / np.linalg.norm(v))  # H-Br 1.45 Å: HBr formed
    assert structure_sanity(ma1, transferred)["bonds"]
    a0 = ma1.info["a_A"]
    shifted = ma1.copy()  # off centre inside its own pocket (PEA's minima sit 1.2-1.6 Å off): fine
    shifted.positions[lig >= 0] += [0.3 * a0, 0.0, 0.0]
    assert head_sites(shifted)[0] == head_sites(ma1)[0]
    assert np.isclose(head_sites(shifted)[1][0], 0.3 * a0, atol=0.05)
    assert not structure_sanity(ma1, shifted)["head_off_site"]
    slid = ma1.copy()  # into the neighbouring pocket: the arrangement's label would be wrong
    slid.positions[lig >= 0] += [0.7 * a0, 0.0, 0.0]
    assert head_sites(slid)[0] != head_sites(ma1)[0]
    assert structure_sanity(ma1, slid)["head_off_site"]
    broken = ma1.copy()
    pb = int(np.flatnonzero(sym == "Pb")[0])
    x = [j for j in range(len(ma1)) if sym[j] == "Br" and ma1.get_distance(pb, j, mic=True) < 3.2][0]
    del broken[x]
    assert structure_sanity(ma1, broken)["pb_coordination"]
    squeezed = ma1.copy()
    squeezed.cell[2, 2] -= 5.0
    assert structure_sanity(ma1, squeezed, vacuum_A=15.0)["vacuum"]


def _moved_h_near_br(atoms, h, dist_A, rigid):
    """Copy of ``atoms`` with H ``h`` brought ``dist_A`` Å from its nearest Br: the whole ligand
    moved (``rigid``, bonds intact) or the H alone."""
    sym = np.array(atoms.get_chemical_symbols())
    brs = np.flatnonzero(sym == "Br")
    d = atoms.get_distances(h, brs, mic=True)
    v = atoms.get_distance(h, int(brs[np.argmin(d)]), mic=True, vector=True)
    out = atoms.copy()
    which = atoms.get_array("ligand_index") == atoms.get_array("ligand_index")[h] if rigid else [h]
    out.positions[which] += v * (1 - dist_A / np.linalg.norm(v))
    return out


@pytest.mark.parametrize("name", ["DDA1", "C[NH+](C)C"])  # quaternary, tertiary
def test_proton_transfer_flag_counts_only_n_bound_h(name):
    from surfchem.build.ligands import acidic_hydrogens

    s = decorate(slab(), name, [0])
    sym = np.array(s.get_chemical_symbols())
    acid = acidic_hydrogens(s)
    methyl_h = np.flatnonzero((sym == "H") & (s.get_array("ligand_index") >= 0) & ~acid)
    assert not structure_sanity(s, s)["bonds"]
    # a methyl H resting 1.7 Å from a surface Br (ligand moved whole): no proton transfer
    near = _moved_h_near_br(s, int(methyl_h[0]), 1.7, rigid=True)
    assert not structure_sanity(s, near)["bonds"]
    if acid.any():  # the tertiary N-H proton moved onto a Br (H-Br 1.45 Å): HBr formed
        assert structure_sanity(s, _moved_h_near_br(s, int(np.flatnonzero(acid)[0]), 1.45, rigid=False))["bonds"]
        # the whole ligand moved so its N-H rests 1.7 Å from Br: the proton counts as transferred
        assert structure_sanity(s, _moved_h_near_br(s, int(np.flatnonzero(acid)[0]), 1.7, rigid=True))["bonds"]


def test_search_escapes_a_trapped_start(chgnet_d3):
    """MA on a 3-layer slab: NH3+ forced 1.6 Å deep into the A-site pocket relaxes to a minimum
    ~0.3 eV above the shallow one (measured with CHGNet+D3: start depths -1.0/0/0.8/1.6 Å gave
    -138.29/-138.22/-137.92/-137.95 eV); the search from the trapped start must find a lower one."""
    from surfchem.relax import relax

    s = decorate(slab(a=5.95, layers=3), "MA", [0])
    trapped = perturb(s, 1.6, np.random.default_rng(0), rotate=False)
    single = relax(trapped, chgnet_d3, fmax=0.05, steps=200)
    assert single.converged and head_depths(single.atoms)[0] > 1.0  # stays deep: trapped
    res = minimum_search(trapped, chgnet_d3, {"fmax": 0.05, "steps": 200},
                         SearchSettings(n_starts=3, patience=2, depths_A=(0.0, -0.5), seed=1))
    assert res.energy_eV < single.energy_eV - 0.1
    assert res.best_start > 0 and head_depths(res.atoms)[0] < 1.0
    assert res.n_distinct >= 2 and res.energy_spread_eV > 0


def test_bare_slab_search_runs_without_ligands(chgnet_d3):
    """The search also serves the bare slab (no ligands: perturbed starts are rattled copies)."""
    bare = slab(a=5.95, layers=3)
    res = minimum_search(bare, chgnet_d3, {"fmax": 0.1, "steps": 60},
                         SearchSettings(n_starts=2, patience=1, tol_eV=10.0))
    assert res.n_starts == 2 and np.isfinite(res.energy_eV)
    assert res.energy_eV <= min(res.start_energies_eV) + 1e-9


def test_pool_minima_merges_sweep_rows():
    """The reported minimum pools the search's starts and the sweep relaxations of the same
    arrangement: energies within 0.02 eV are one minimum; other arrangements are not pooled."""
    from surfchem.trust.diagnostics import pool_minima

    t = pd.DataFrame({
        "ligand": ["X"] * 4, "n": [1, 1, 1, 1], "sites": ["0", "0", "0", "1"],
        "build": ["grow", "shrink1", "regrow1", "direct"],
        "energy_eV": [-10.0, -10.5, -10.49, -11.0],
        "start_energies_eV": [(-10.0, -9.8, -10.01), None, None, None],
        "n_starts": [3, np.nan, np.nan, 1], "energy_spread_eV": [0.1, np.nan, np.nan, 0.0],
        "is_min": [False, True, False, False],
    })
    out = pool_minima(t)
    row = out[out["build"] == "shrink1"].iloc[0]
    assert row["n_starts"] == 5  # 3 starts + 2 sweep relaxations; "direct" is another arrangement
    assert row["n_distinct"] == 3  # -10.5/-10.49 merge, -10.0/-10.01 merge, -9.8
    assert row["gap_eV"] == pytest.approx(0.49)
    assert row["energy_spread_eV"] == pytest.approx(np.std([-10.5, -10.01, -9.8]))
    assert out.loc[out["build"] == "grow", "n_starts"].iloc[0] == 3  # non-reported rows untouched


def test_consistency_sweeps_reach_the_bare_slab(chgnet_d3, tmp_path):
    """MA on a 3-layer slab, N = 0..2, CHGNet+D3. Measured: rattled starts of the bare slab all end
    near -100.60 eV, while the slab left behind when the MA of the relaxed N = 1 slab is replaced
    by Cs relaxes to -100.87 eV: the ligand-induced framework distortion is out of reach of the
    rattle. The shrink sweep must find it, the face operators (mirror for N = 0, 2, splice for
    N = 1) must run, and the two face-equivalent steps (0->1 top, 1->2 bottom) must agree within
    0.15 eV."""
    from surfchem.campaign.screen import screen
    from surfchem.core.store import ResultStore

    kw = dict(ligands=["MA"], n="0-2", layers=3, out=tmp_path, progress=False,
              search={"n_starts": 2, "patience": 1, "bare_starts": 3, "sweeps": 2})
    res = screen(**kw)
    t = res.table
    builds = set(t["build"].dropna())
    assert {"grow", "shrink1"} <= builds
    bare = t[t["n"] == 0]
    searched = bare[bare["build"].isna() | (bare["build"] == "")]["energy_eV"].min()
    shrunk = bare[bare["build"] == "shrink1"]["energy_eV"].min()
    assert shrunk < searched - 0.1
    assert {"mirror_top1", "mirror_bottom1", "splice1"} <= builds
    assert not any(b.startswith("regrow") for b in builds)  # off by default
    best = t[t["is_min"]].set_index("n")
    for n in (0, 1, 2):
        assert best.loc[n, "energy_eV"] == pytest.approx(t[t["n"] == n]["energy_eV"].min())
    assert best.loc[0, "n_starts"] > 3  # pooled: bare starts + the shrink relaxation
    assert abs(best.loc[1, "dG_eV"] - best.loc[2, "dG_eV"]) < 0.15
    assert not best.loc[2, "flag_face_eq"]
    # resume: the same screen again computes nothing, sweep tasks included
    n_rows = len(ResultStore(tmp_path / "results.db"))
    again = screen(**kw)
    assert len(ResultStore(tmp_path / "results.db")) == n_rows
    assert again.counts.get("computed_ok", 0) == 0
    assert np.allclose(sorted(again.table["energy_eV"]), sorted(t["energy_eV"]))


def test_mirror_and_splice_faces():
    """Face operators: the mirror maps site s to the site above/below it and is an involution; a
    top face spliced onto its own mirror image is mirror-symmetric; splicing N+1's top with N-1's
    bottom gives the composition and sites of N in the grow order."""
    from surfchem.build.arrangements import grow_order
    from surfchem.trust.splice import _middle, mirror_slab, splice_faces

    s = slab()
    order = grow_order(s)
    three = decorate(s, "PEA", order[:3])  # top: sites 0, 3; bottom: site 4
    m = mirror_slab(three)
    assert m.info["occupied_sites"] == [0, 4, 7]
    assert m.get_chemical_formula() == three.get_chemical_formula()
    back = mirror_slab(m)
    shift = _middle(three)[0] - _middle(back)[0]
    assert np.allclose(back.positions + [0, 0, shift], three.positions, atol=1e-8)
    assert (back.get_array("surface_site") == three.get_array("surface_site")).all()

    sym = splice_faces(three, m)  # top of three on both faces
    assert sym.info["occupied_sites"] == sorted(order[:4])
    z_mid, mid = _middle(sym)
    key = np.c_[np.round(sym.positions[:, :2], 4), np.round(np.abs(sym.positions[:, 2] - z_mid), 4), sym.numbers]
    outer = np.setdiff1d(np.arange(len(sym)), mid)
    uniq, counts = np.unique(key[outer], axis=0, return_counts=True)
    assert (counts == 2).all()  # every atom off the middle plane has its mirror partner

    four, two = decorate(s, "PEA", order[:4]), decorate(s, "PEA", order[:2])
    odd = splice_faces(four, two)
    assert odd.info["occupied_sites"] == sorted(order[:3])
    assert odd.get_chemical_formula() == three.get_chemical_formula()
    assert len(set(odd.get_array("ligand_index")[odd.get_array("ligand_index") >= 0])) == 3
    with pytest.raises(Exception, match="in-plane cell"):
        splice_faces(four, decorate(slab(a=6.2), "PEA", order[:2]))
