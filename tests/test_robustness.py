"""The main job must finish: database keys, failure isolation, no silent gaps, physical minima.

Each test reproduces one way the searched README screen failed (hashes read as numbers, a raising
callback or plan, an unphysical minimum taken as the result) on a small real system.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

from surfchem.build import decorate, slab
from surfchem.campaign.run import run_campaign
from surfchem.campaign.spec import parse_spec
from surfchem.campaign.stage import StagePlanner
from surfchem.core import hashing
from surfchem.core.hashing import hash_key, key_forms, task_hash
from surfchem.core.store import ResultStore
from surfchem.thermo import References, coverage_table, n_min
from surfchem.trust import chain
from surfchem.trust.checked import checked_relax
from surfchem.trust.moves import perturb
from surfchem.trust.sanity import close_contacts, invalid_reasons, structure_sanity
from surfchem.trust.search import SearchSettings, minimum_search

NUMERIC_LOOKING = ["47796399829704e90292", "01234567890123456789", "1e5", "nan", "inf", "-inf",
                   "Infinity", "True", " 12", "1_000", "١٢", "12 "]


@pytest.fixture(scope="module")
def ma2():
    """Methylammonium on two neighbouring top-face sites of the 3-layer slab."""
    return decorate(slab(layers=3), "MA", [0, 1])


def test_keys_are_never_numbers():
    for digest in ("47796399829704e90292", "01234567890123456789", "abcdefabcdefabcdef01"):
        key = hash_key(digest)
        assert key.startswith(hashing.HASH_PREFIX) and key[1:] == digest
        with pytest.raises(ValueError):
            float(key)
        assert hash_key(key) == key  # idempotent
        assert key_forms(key) == [key, digest]  # legacy bare-hex rows are still found
    assert task_hash(None, {}, {}).startswith(hashing.HASH_PREFIX)


def test_store_takes_adversarial_keys_and_values(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    atoms = Atoms("CsBr", positions=[[0, 0, 0], [2.1, 0, 0]], cell=[6, 6, 6], pbc=True)
    long_text = "C" * 20000
    for k, digest in enumerate(["47796399829704e90292", "01234567890123456789"]):
        for j, value in enumerate([*NUMERIC_LOOKING, "ligand-ünïcode-∆", long_text, ""]):
            key = hash_key(f"{k:02d}{j:02d}" + digest[4:])
            rec = {"ligand": value, "smiles": value, "label": value, "energy_eV": -1.5 * j,
                   "bad": float("nan"), "énergie": 3.0, "id": 7, "n": j, "status": "ok"}
            store.put(key, atoms, rec)
            back_atoms, back = store.get(key)
            assert back["task_hash"] == key and isinstance(back["task_hash"], str)
            for name in ("ligand", "smiles", "label", "énergie", "id", "n", "energy_eV"):
                assert back[name] == rec[name], (name, value)
            assert np.isnan(back["bad"])
            assert back_atoms.get_chemical_formula() == "BrCs"
    # selectable where ASE can select: plain strings are key-value pairs
    assert len(store.records(ligand="ligand-ünïcode-∆")) == 2
    # a row written by an older version (bare hex key) is found under the new key form
    store.db.write(atoms, key_value_pairs={"task_hash": "abcdef0123456789abcd", "energy_eV": -2.0})
    assert store.get(hash_key("abcdef0123456789abcd"))[1]["energy_eV"] == -2.0


def _tiny(tmp_path, name: str, n: str, **extra) -> dict:
    return {"name": name, "ligands": ["MA"], "n": n, "out": str(tmp_path / name),
            "slab": {"layers": 3},
            "stages": [{"calculator": "chgnet-d3", "fmax_eV_A": 0.1, "steps": 150, "bulk_tilt_starts": 0}],
            **extra}


def test_campaign_finishes_when_every_hash_looks_like_a_number(tmp_path, monkeypatch):
    real = hashing.digest
    seen = []

    def numeric_digest(*args, **kwargs):  # the same content hash, written with digits and one 'e'
        d = real(*args, **kwargs)
        digits = "".join(c if c.isdigit() else str(int(c, 16) % 10) for c in d)
        out = digits[:12] + "e" + digits[13:]
        seen.append(out)
        return out

    monkeypatch.setattr(hashing, "digest", numeric_digest)
    res = run_campaign(parse_spec(_tiny(tmp_path, "numeric", "0-1")), progress=False)
    assert seen and all(np.isfinite(float(s)) or np.isinf(float(s)) for s in seen)  # number-like
    assert res.complete and not res.failures and res.n_min == {"MA": res.n_min["MA"]}
    assert res.n_min["MA"] in (0, 1)
    table = pd.read_csv(res.files["results"])
    assert sorted(table["n"]) == [0, 1]
    assert all(h.startswith(hashing.HASH_PREFIX) for h in table["task_hash"])
    # rerun: everything comes from the store under the same keys
    again = run_campaign(parse_spec(_tiny(tmp_path, "numeric", "0-1")), progress=False)
    assert again.counts.get("computed_ok", 0) == 0 and again.complete


def test_raising_callback_and_plan_fail_only_their_rows(tmp_path, monkeypatch, capsys):
    """One (ligand, N) whose row recording raises, one whose start cannot be planned: both are
    recorded failures; every other N is done; N_min is undetermined; the CLI exits nonzero."""
    real_done, real_start = StagePlanner._slab_done, chain.grown_start

    def done(self, lig, k, atoms, rec):
        if lig == "MA" and k == 1:
            raise RuntimeError("callback broke on purpose")
        return real_done(self, lig, k, atoms, rec)

    def start(state, smiles, order, k, name):
        if k == 3:
            raise RuntimeError("planning broke on purpose")
        return real_start(state, smiles, order, k, name)

    monkeypatch.setattr(StagePlanner, "_slab_done", done)
    monkeypatch.setattr(chain, "grown_start", start)
    data = _tiny(tmp_path, "broken", "0-4")
    spec_file = tmp_path / "broken.toml"
    spec_file.write_text(
        f'name = "broken"\nligands = ["MA"]\nn = "0-4"\nout = "{data["out"]}"\n[slab]\nlayers = 3\n'
        '[[stages]]\ncalculator = "chgnet-d3"\nfmax_eV_A = 0.1\nsteps = 150\nbulk_tilt_starts = 0\n')
    from surfchem.cli.main import main

    rc = main(["campaign", "run", str(spec_file), "--json", "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 1
    info = json.loads(out)
    assert info["missing"] == {"MA": [1, 3]} and info["n_min"] == {"MA": None} and not info["complete"]
    kinds = sorted((f["kind"], f["n"]) for f in info["failures"])
    assert kinds == [("plan", 1), ("plan", 3)]
    assert "no valid minimum for N = 1, 3" in err and "N_min undetermined" in err
    summary = pd.read_csv(f"{data['out']}/summary.csv")
    assert sorted(summary["n"]) == [0, 2, 4]  # N = 2 and 4 grew from the bare slab / N = 2
    refs = json.loads(open(f"{data['out']}/references.json").read())
    assert refs["missing"] == {"MA": [1, 3]} and refs["n_min"] == {"MA": None}
    log = open(f"{data['out']}/campaign.log").read()
    assert "callback broke on purpose" in log and "planning broke on purpose" in log
    assert "Traceback" in log


def test_overlapping_start_is_rejected_before_relaxation(chgnet_d3, ma2):
    bad = ma2.copy()
    lig = bad.get_array("ligand_index")
    c0 = int(np.flatnonzero((lig == 0) & (bad.symbols == "C"))[0])
    c1 = int(np.flatnonzero((lig == 1) & (bad.symbols == "C"))[0])
    shift = bad.positions[c0] - bad.positions[c1] + [0.51, 0, 0]
    bad.positions[lig == 1] += shift  # the two carbons 0.51 Å apart
    assert any({i, j} == {c0, c1} for i, j, _ in close_contacts(bad))
    res, rec = checked_relax(bad, chgnet_d3, {"fmax": 0.1, "steps": 50})
    assert res is None and rec["status"] == "rejected" and rec["n_steps"] == 0
    assert "overlaps" in rec["error"] and "0.51 Å" in rec["error"]
    assert invalid_reasons(rec)
    # a search given that start among its own rejects it and reports the valid one
    search = minimum_search(ma2, chgnet_d3, {"fmax": 0.1, "steps": 150}, SearchSettings(n_starts=1),
                            extra_starts=[("overlap", bad)])
    assert search.n_rejected == 1 and "overlaps" in search.rejected[0]
    assert np.isfinite(search.energy_eV) and not close_contacts(search.atoms)


def test_a_ligand_overlapping_its_own_image_is_a_clash(ma2):
    """Splayed tails can reach their own ligand's periodic image (a DDA6 start on the 2x2 slab had
    C...C 1.21 Å to its own image and was relaxed, then rejected as a changed bond graph): the
    contact rule and the builder's clearance count a ligand's images as other fragments."""
    from surfchem.build import min_clearance

    lig = ma2.get_array("ligand_index")
    mol = ma2[lig == 0]  # one methylammonium, labelled, periodic in plane
    assert not close_contacts(mol) and min_clearance(mol) == float("inf")
    sym = np.array(mol.get_chemical_symbols())
    c, n = mol.positions[sym == "C"][0], mol.positions[sym == "N"][0]
    axis = (n - c) / np.linalg.norm(n - c)
    # one periodic direction along C->N: the image's C sits 0.6 Å beyond this N
    b = np.cross(axis, [1.0, 0, 0] if abs(axis[0]) < 0.9 else [0, 1.0, 0])
    b /= np.linalg.norm(b)
    mol.set_cell([(np.linalg.norm(n - c) + 0.6) * axis, 40 * b, 40 * np.cross(axis, b)])
    mol.pbc = [True, False, False]
    pairs = close_contacts(mol)
    assert pairs and min(d for _, _, d in pairs) < 1.0
    assert min_clearance(mol) < 1.0


def test_a_crowded_start_that_relaxes_apart_keeps_its_bonds(ma2):
    """DDA4 N = 7 started with an H 1.12 Å from a neighbour's C (above the 1.0 Å clash floor,
    inside the 1.28 Å bond range) and relaxed apart with every bond of each molecule intact: a
    valid minimum. The contact between molecules is not a bond the result must keep; a final
    structure that still has it is flagged."""
    lig = ma2.get_array("ligand_index")
    c0 = int(np.flatnonzero((lig == 0) & (ma2.symbols == "C"))[0])
    hs = np.flatnonzero((lig == 0) & (ma2.symbols == "H"))
    h0 = int(hs[np.argmax(ma2.positions[hs, 2])])  # the methyl H pointing away from the slab
    c1 = int(np.flatnonzero((lig == 1) & (ma2.symbols == "C"))[0])
    crowded = ma2.copy()  # molecule 1 moved whole so that its C sits 1.12 Å out along C0-H0
    axis = ma2.positions[h0] - ma2.positions[c0]
    target = ma2.positions[h0] + 1.12 * axis / np.linalg.norm(axis)
    crowded.positions[lig == 1] += target - ma2.positions[c1]
    assert np.isclose(crowded.get_distance(c1, h0, mic=True), 1.12)
    assert not close_contacts(crowded)  # not a clash: the start is relaxed
    flags = structure_sanity(crowded, ma2, ma2.info["vacuum_A"])
    assert not flags["bonds"] and not any(flags.values())
    assert structure_sanity(ma2, crowded)["bonds"]  # ending at bonding distance is flagged
    assert not structure_sanity(crowded, crowded)["clash"] and structure_sanity(crowded, crowded)["bonds"]


def test_perturbed_starts_avoid_overlaps(ma2):
    # rotations about the normal by random angles: every accepted orientation is free of overlaps
    for seed in range(12):
        start = perturb(ma2, 0.8, np.random.default_rng(seed), rattle_A=0.0)
        assert not close_contacts(start)


def test_hole_in_the_potential_is_never_a_minimum(ma2):
    """Two carbons 0.15 Å apart (what CHGNet+D3 relaxed PEA N = 7 into) fail the checks and the
    table never reports such a row as the minimum, even when it is lowest in energy."""
    hole = ma2.copy()
    lig = hole.get_array("ligand_index")
    c0 = int(np.flatnonzero((lig == 0) & (hole.symbols == "C"))[0])
    c1 = int(np.flatnonzero((lig == 1) & (hole.symbols == "C"))[0])
    hole.positions[lig == 1] += hole.positions[c0] - hole.positions[c1] + [0.15, 0, 0]
    flags = structure_sanity(ma2, hole, ma2.info["vacuum_A"])
    assert flags["clash"] and flags["bonds"]
    rec = {"status": "ok", "energy_eV": -100.0, "converged": True, **{f"flag_{k}": v for k, v in flags.items()}}
    assert set(invalid_reasons(rec)) >= {"clash", "bonds"}
    assert invalid_reasons({"status": "ok", "energy_eV": -99.0, "converged": False}) == ["not converged"]
    rows = pd.DataFrame([
        {"ligand": "MA", "n": 2, "energy_eV": -100.0, "n_A": 1, "n_B": 4, "area_A2": 140.0, "valid": False},
        {"ligand": "MA", "n": 2, "energy_eV": -99.0, "n_A": 1, "n_B": 4, "area_A2": 140.0, "valid": True},
        {"ligand": "", "n": 0, "energy_eV": -60.0, "n_A": 3, "n_B": 4, "area_A2": 140.0, "valid": True},
    ])
    refs = References("CsPbBr3", -14.0, -5.0, {"MA": -30.0}, {"MA": "user"})
    table = coverage_table(rows, refs)
    best = table[table["is_min"] & (table["n"] == 2)]
    assert len(best) == 1 and best["energy_eV"].item() == -99.0
    from surfchem.thermo import summary

    assert n_min(summary(table), [0, 1, 2]) == {"MA": None}  # N = 1 missing: undetermined
    assert n_min(summary(table), [0, 2]) in ({"MA": 0}, {"MA": 2})


def test_relaxation_at_the_step_limit_is_continued_then_rejected(chgnet_d3, ma2):
    start = perturb(ma2, 1.2, np.random.default_rng(3), rattle_A=0.05)
    res, rec = checked_relax(start, chgnet_d3, {"fmax": 0.01, "steps": 3})
    assert rec["n_rounds"] == 2 and rec["n_steps"] == 6  # continued once
    assert rec["status"] == "rejected" and "not converged" in rec["error"]
    assert "not converged" in invalid_reasons(rec)


def test_a_vacuum_eaten_by_standing_tails_is_restored_not_rejected(chgnet_d3, ma2, tmp_path):
    """DDA6 N = 6 relaxed from 15.0 to 11.3 Å of vacuum (tails standing up) and was rejected. The
    vacuum is a setting: the cell is lengthened back to it and the relaxation goes on."""
    from surfchem.build.decorate import vacuum_gap

    want = ma2.info["vacuum_A"]
    squeezed = ma2.copy()
    squeezed.cell[2, 2] -= 3.0  # as if the tails had grown 3 Å into the vacuum
    assert vacuum_gap(squeezed) < want - 2.5
    res, rec = checked_relax(squeezed, chgnet_d3, {"fmax": 0.1, "steps": 200}, trajectory=tmp_path / "s0.traj")
    assert rec["status"] == "ok" and not rec["flag_vacuum"] and rec["n_rounds"] == 2
    assert rec["vacuum_restored_A"] == pytest.approx(want - 3.0, abs=0.5)
    assert vacuum_gap(res.atoms) >= want - 0.5
    assert (tmp_path / "s0.vacuum.traj").exists()
    again, rec2 = checked_relax(squeezed, chgnet_d3, {"fmax": 0.1, "steps": 200}, trajectory=tmp_path / "s0.traj")
    assert rec2["status"] == "ok" and again.energy_eV == pytest.approx(res.energy_eV, abs=1e-3)  # resumes


def test_a_grown_start_obeys_the_contact_rule_that_judges_it():
    """DDA6 N = 7 was grown with a tail carbon 1.45 Å from a surface Br: the builder's uniform
    clearance (1.5 Å, 1.1 Å as a last resort) passed it, the contact rule (C...Br < 1.57 Å,
    Cs...C < 2.56 Å) rejected the start. An extra Cs 2.3 Å above where MA's carbon goes makes the
    first placement such a case: the builder must move on to one the rule accepts, relieve the
    placement when no rigid one has room, and where none exists say so."""
    import collections

    from ase import Atom

    from surfchem.build.decorate import decorate_relaxed
    from surfchem.errors import InputError
    from surfchem.trust.chain import ChainSettings, grow_and_sweep

    bare = slab(layers=3)
    ma = decorate(bare, "MA", [0])
    c = int(np.flatnonzero((ma.get_array("ligand_index") >= 0) & (ma.symbols == "C"))[0])

    def with_cs_above_atom(atom, height_A):
        out = bare.copy()
        out.append(Atom("Cs", ma.positions[atom] + [0.0, 0.0, height_A]))
        out.arrays["ligand_index"][-1] = -1
        out.arrays["surface_site"][-1] = -1
        return out

    def with_cs_above(height_A):
        return with_cs_above_atom(c, height_A)

    placed = decorate_relaxed(with_cs_above(2.3), "MA", [0])
    assert not close_contacts(placed) and "relieved_ligands" not in placed.info
    # 2.0 Å above the carbon no rigid placement passes: relieved (MMFF94, N held on its site), the
    # carbon leans away
    relieved = decorate_relaxed(with_cs_above(2.0), "MA", [0])
    assert not close_contacts(relieved) and relieved.info["relieved_ligands"] == [0]
    n = int(np.flatnonzero((ma.get_array("ligand_index") >= 0) & (ma.symbols == "N"))[0])
    lig = relieved.get_array("ligand_index")
    n_new, c_new = (int(np.flatnonzero((lig >= 0) & (relieved.symbols == s))[0]) for s in ("N", "C"))
    assert relieved.get_distance(n_new, c_new) == pytest.approx(ma.get_distance(n, c), abs=0.05)  # bond kept
    assert relieved.positions[n_new, :2] == pytest.approx(ma.positions[n, :2], abs=1e-6)  # N on its site
    with pytest.raises(InputError, match="even relieved"):  # a Cs on the head's own site: no room
        decorate_relaxed(with_cs_above_atom(n, 2.0), "MA", [0])
    # the grow chain labels a relieved start (results.csv `build`), and only that one
    for height_A, label in ((2.3, "grow"), (2.0, "grow_relieved")):
        first = next(grow_and_sweep("MA", "C[NH3+]", [0], 1, with_cs_above(height_A), 0.0,
                                    ChainSettings(sweeps=0, search=True), collections.Counter()))
        assert (first.label, first.n) == (label, 1)
        assert first.atoms.info.get("relieved_ligands", []) == ([0] if label == "grow_relieved" else [])
