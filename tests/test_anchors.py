"""Per-ligand DFT anchors (issue 18): the anchor calculation, the composite thermodynamics and the
campaign stage, on real calculations (small slabs)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from surfchem.campaign.plan import CampaignPlan
from surfchem.campaign.run import run_campaign
from surfchem.campaign.spec import parse_spec
from surfchem.errors import InputError
from surfchem.thermo import coverage_table
from surfchem.thermo.anchors import Anchor, anchor_from_dict, anchored, anchored_columns
from surfchem.validate.engine import Evaluator
from surfchem.validate.recipes import binding_systems, ligand_exchange


@pytest.fixture(scope="module")
def anchored_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("anchored")
    data = {"name": "anch", "ligands": ["MA"], "n": "0-2", "out": str(tmp_path / "run"),
            "slab": {"layers": 3},
            "stages": [{"calculator": "chgnet", "fmax_eV_A": 0.1, "steps": 150, "bulk_tilt_starts": 0}],
            "anchor": {"dft": "chgnet-d3"}}
    return tmp_path, data, run_campaign(parse_spec(data), progress=False)


def test_campaign_anchor_stage_shifts_dG_by_delta_and_is_cached(anchored_run):
    """A CHGNet screen of MA (N = 0..2, 3 layers) with an anchor stage whose "DFT" is CHGNet+D3
    (a real, cheap second calculator: the machinery is calculator-agnostic; GPAW is tested below).
    Checks: the plan counts the anchor task; delta equals the exchange energies recomputed
    independently on the anchor's structures; every anchored dG is dG + delta and the anchored
    gamma equals coverage_table with the anchored references; anchors.json round-trips; a rerun
    takes the anchor from the database."""
    tmp_path, data, res = anchored_run
    spec = parse_spec(data)
    assert CampaignPlan(spec).n_tasks == CampaignPlan(parse_spec({**data, "anchor": None})).n_tasks + 1
    assert res.counts["failed"] == 0 and set(res.anchors) == {"MA"}
    a = res.anchors["MA"]
    assert (a.ml, a.dft) == ("chgnet", "chgnet-d3")
    # independent recomputation on the same (cached) geometries
    ev = Evaluator(tmp_path / "run" / "anchors")
    systems = binding_systems("MA", ev, geometry_calculator="chgnet", relax_bare=True)
    assert a.system == systems.slab_tag == "1x1x3+rb"
    e_ml = ligand_exchange(systems, "chgnet", ev).exchange_energy_eV
    e_d3 = ligand_exchange(systems, "chgnet-d3", ev).exchange_energy_eV
    assert a.exchange_ml_eV == pytest.approx(e_ml, abs=1e-9)
    assert a.delta_eV == pytest.approx(e_d3 - e_ml, abs=1e-9)
    assert -1.5 < a.delta_eV < -0.05  # D3 binds the ligand: more favourable exchange
    # the results carry both views
    table = pd.read_csv(tmp_path / "run" / "results.csv")
    lig = table[(table["ligand"] == "MA") & (table["n"] > 0)]
    assert np.allclose(lig["dG_anchored_eV"] - lig["dG_eV"], a.delta_eV, atol=1e-9)
    assert set(lig["anchor"]) == {a.label}
    refs_a = anchored(res.references, res.anchors)
    direct = coverage_table(res.table.drop(columns=["gamma_J_m2", "dG_eV"]), refs_a)
    merged = lig.merge(direct[["task_hash", "gamma_J_m2", "dG_eV"]].drop_duplicates("task_hash"),
                       on="task_hash", suffixes=("", "_direct"))
    assert len(merged) == len(lig)
    assert np.allclose(merged["gamma_anchored_J_m2"], merged["gamma_J_m2_direct"], atol=1e-9)
    summ = pd.read_csv(tmp_path / "run" / "summary.csv")
    assert summ["gamma_anchored_J_m2"].notna().sum() == 3  # N = 0, 1, 2 (bare: no shift)
    saved = json.loads((tmp_path / "run" / "anchors.json").read_text())
    assert anchor_from_dict(saved[0]) == a
    refs = json.loads((tmp_path / "run" / "references.json").read_text())
    assert "n_min_anchored" in refs
    again = run_campaign(spec, progress=False)
    assert again.counts.get("computed_ok", 0) == 0 and again.anchors["MA"] == a


def test_anchored_references_errors():
    a = Anchor("PEA", "NCCc1ccccc1", -2.0, -3.0, "chgnet-d3", "gpaw-pbe-d3-lcao", "1x1x3", 27)
    from surfchem.thermo import References

    refs = References("CsPbBr3", -18.7, -6.99, {"PEA": -100.0, "IPA": -80.0}, calculator="chgnet-d3")
    with pytest.raises(InputError, match=r"no anchor for ligands \['IPA'\]"):
        anchored(refs, {"PEA": a})
    refs = References("CsPbBr3", -18.7, -6.99, {"PEA": -100.0}, calculator="sevennet-d3")
    with pytest.raises(InputError, match="only applies to its own ML calculator"):
        anchored(refs, {"PEA": a})
    with pytest.raises(InputError, match="anchor.dft 'chgnet-d3' is the last stage's calculator"):
        parse_spec({"name": "x", "ligands": ["PEA"], "anchor": {"dft": "chgnet-d3"}})
    t = pd.DataFrame({"ligand": ["PEA"], "n": [2], "area_A2": [140.0], "gamma_eV_A2": [0.01], "dG_eV": [-2.0]})
    out = anchored_columns(t, {"PEA": a})
    assert out["dG_anchored_eV"].iloc[0] == pytest.approx(-3.0)
    assert out["gamma_anchored_meV_A2"].iloc[0] == pytest.approx(10.0 + 1e3 * 2 * -1.0 / 280.0)


def test_thermo_cli_and_link_descriptors_show_the_anchored_view(anchored_run):
    """``surfchem thermo --anchored`` reports the anchored dG (= results.csv's dG_anchored_eV, energy
    only); the link descriptors carry anchored twins beside the plain ones, lateral_eV unchanged."""
    import subprocess
    import sys

    from surfchem.link.descriptors import descriptors_from_results

    tmp_path, _, res = anchored_run
    run = tmp_path / "run"
    a = res.anchors["MA"]
    out = subprocess.run([sys.executable, "-m", "surfchem", "thermo", str(run), "--entropy", "none",
                          "--anchored", "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["references"]["anchor"] == {"MA": a.label}
    rows = {r["n"]: r for r in got["rows"] if r["ligand"] == "MA"}
    summ = pd.read_csv(run / "summary.csv").set_index("n")
    for n in (1, 2):
        assert rows[n]["dG_eV"] == pytest.approx(summ.loc[n, "dG_anchored_eV"], abs=1e-6)
        assert rows[n]["gamma_J_m2"] == pytest.approx(summ.loc[n, "gamma_anchored_J_m2"], abs=1e-6)
    plain = subprocess.run([sys.executable, "-m", "surfchem", "thermo", str(run), "--entropy", "none",
                            "--json"], capture_output=True, text=True, timeout=600)
    prow = {r["n"]: r for r in json.loads(plain.stdout)["rows"] if r["ligand"] == "MA"}
    assert rows[1]["dG_eV"] - prow[1]["dG_eV"] == pytest.approx(a.delta_eV, abs=1e-6)
    d = descriptors_from_results(run, n_full=2).set_index("ligand").loc["MA"]
    assert d["anchor_eV"] == pytest.approx(a.delta_eV)
    assert d["dG_N8_anchored_eV"] - d["dG_N8_eV"] == pytest.approx(a.delta_eV, abs=1e-9)
    assert d["gamma_N8_anchored_J_m2"] != pytest.approx(d["gamma_N8_J_m2"], abs=1e-4)


def test_thermo_anchored_without_anchors_says_how(mini_screen):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "surfchem", "thermo", str(mini_screen.out), "--entropy", "none",
                          "--anchored"], capture_output=True, text=True, timeout=600)
    assert out.returncode != 0 and "has no anchors.json" in out.stderr and "--anchor" in out.stderr


def test_screen_anchor_needs_a_preset():
    from ase.calculators.emt import EMT

    from surfchem.campaign.screen import screen

    with pytest.raises(InputError, match="anchor= needs a calculator preset name"):
        screen(ligands=["MA"], n="0-1", calculator=EMT(), out="unused", anchor="gpaw-pbe-d3-lcao")


@pytest.mark.slow
def test_gpaw_anchor_of_methylammonium(tmp_path):
    """A real DFT anchor: GPAW PBE+D3 LCAO (coarse: sz basis, h = 0.3 Å) against CHGNet+D3 for MA on
    the 1x1x3 slab. delta is the difference of the two exchange energies, GPAW's exchange is
    favourable, and a second call is all cache hits (the GPAW logs are kept)."""
    from surfchem.validate.anchor import ligand_anchor

    ev = Evaluator(tmp_path, overrides={"gpaw-pbe-lcao": {"basis": "sz", "h_A": 0.3, "kpt_density_A": 1.5}})
    a = ligand_anchor("MA", ev, dft="gpaw-pbe-d3-lcao")
    assert (a.ml, a.dft, a.system) == ("chgnet-d3", "gpaw-pbe-d3-lcao", "1x1x3+rb")
    assert a.exchange_dft_eV < 0 and a.exchange_ml_eV < 0
    assert a.delta_eV == pytest.approx(a.exchange_dft_eV - a.exchange_ml_eV)
    assert len(list((tmp_path / "gpaw").glob("*.txt"))) == 4  # slab+MA, relaxed bare slab, ion pair, CsBr
    n_records = len(ev.records)
    assert ligand_anchor("MA", ev, dft="gpaw-pbe-d3-lcao") == a
    assert all(r.cached for r in ev.records[n_records:])



def test_anchor_task_passes_the_dft_parameters(tmp_path):
    """The [anchor] params reach the DFT calculator (keyed by the base preset of a -d3 preset) and
    enter the task key."""
    from surfchem.campaign.tasks import anchor_evaluator

    def task(params):
        spec = parse_spec({"name": "p", "ligands": ["MA"], "n": "0-1", "out": str(tmp_path),
                           "anchor": {"dft": "gpaw-pbe-d3-lcao", "params": params}})
        return CampaignPlan(spec).anchor_tasks(tmp_path)[0]

    t1, t2 = task({"h_A": 0.3}), task({"h_A": 0.25})
    assert t1.key() != t2.key()
    ev = anchor_evaluator(t1.payload(tmp_path, 0, "p"))
    assert ev.params("gpaw-pbe-lcao")["h_A"] == 0.3 and ev.params("chgnet")["preset"] == "chgnet"
    # default: plane waves with the validation's 'here' settings (an anchor is the validation's
    # exchange measurement; LCAO dzp is 0.9-1.25 eV overbound against plane waves)
    from surfchem.validate.suite import GPAW_HERE

    spec = parse_spec({"name": "p", "ligands": ["MA"], "n": "0-1", "out": str(tmp_path), "anchor": {}})
    assert spec.anchor.dft == "gpaw-pbe-d3-pw"
    ev = anchor_evaluator(CampaignPlan(spec).anchor_tasks(tmp_path)[0].payload(tmp_path, 0, "p"))
    assert all(ev.params("gpaw-pbe-pw")[k] == v for k, v in GPAW_HERE["gpaw-pbe-pw"].items())
