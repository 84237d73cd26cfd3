"""Campaign layer: spec validation, Parsl execution, ASE-db store, resume after kill -9, Slurm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surfchem.campaign.engine import Engine, mpi_command, render_slurm_script
from surfchem.campaign.plan import CampaignPlan
from surfchem.campaign.progress import TrajectoryProgress
from surfchem.campaign.run import run_campaign
from surfchem.campaign.spec import load_spec, parse_spec
from surfchem.campaign.spec_run import ExecutorSpec
from surfchem.core.store import ResultStore
from surfchem.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "surfchem", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("name", ["paper_fig1", "paper_fig1_slurm", "tiny"])
def test_shipped_specs_validate(name):
    spec = load_spec(ROOT / "calculations" / f"{name}.toml")
    assert spec.name and spec.stages
    assert CampaignPlan(spec).n_tasks > 0


def test_task_count_matches_plan():
    spec = load_spec(ROOT / "calculations" / "paper_fig1.toml")
    # per stage: 2 EOS + 2 ion pairs + bare slab + 2 ligands x 8 grown slabs = 21; two stages
    assert CampaignPlan(spec).n_tasks == 42
    all_arr = parse_spec({"name": "a", "ligands": ["PEA"], "arrangements": "all"})
    assert CampaignPlan(all_arr).n_tasks == 2 + 1 + 1 + 33  # 34 arrangements minus the bare one


@pytest.mark.parametrize("data, fragment", [
    ({"name": "x", "ligands": ["PEA"], "stagez": []}, "stagez: unknown key"),
    ({"name": "x", "ligands": ["PEA"], "executor": {"workers": "two"}}, "executor.workers"),
    ({"name": "x", "ligands": ["CCN"]}, "ligands: ligand 'CCN' is a neutral amine"),
    ({"name": "x"}, "ligands: Field required"),
    ({"name": "x", "ligands": ["PEA"], "database": {"url": "mysql://h/db"}}, "scheme 'mysql'"),
    ({"name": "x", "ligands": ["PEA"], "database": {"url": "postgresql:///db"}}, "has no host"),
    ({"name": "x", "ligands": ["PEA"], "stages": [{"calculator": "mace"}]}, "stages.0.calculator"),
    ({"name": "x", "ligands": ["PEA"], "stages": [{"calculator": "MACE"}]}, "unknown calculator preset 'MACE'"),
    ({"name": "x", "ligands": ["PEA"], "anchor": {"dft": "mace"}}, "anchor.dft"),
    ({"name": "x", "ligands": ["PEA"], "slab": {"layers": 4}}, "slab.layers: layers must be odd"),
    ({"name": "x", "ligands": ["PEA"], "executor": {"kind": "slurm", "slurm": {"walltime": "1h"}}},
     "walltime must look like"),
    ({"name": "x", "ligands": ["PEA"], "references": {"mu_LX_eV": {"DDA": -3.0}}}, "not in ligands"),
])
def test_spec_errors_name_the_key(data, fragment):
    with pytest.raises(InputError) as err:
        parse_spec(data, "t.toml")
    assert fragment in str(err.value)


def test_spec_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\nligands = [PEA]\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_spec(bad)
    with pytest.raises(InputError, match="not found"):
        load_spec(tmp_path / "missing.toml")
    r = _cli("campaign", "status", str(bad), "--json")
    assert r.returncode == 2 and "not valid TOML" in r.stderr and "Traceback" not in r.stderr


def test_slurm_script_renders_without_cluster(tmp_path):
    spec = load_spec(ROOT / "calculations" / "paper_fig1_slurm.toml")
    text = render_slurm_script(spec.executor, tmp_path / "block.sbatch")
    assert "#SBATCH --partition=compute" in text
    assert "#SBATCH --time=24:00:00" in text and "#SBATCH --nodes=1" in text
    assert "#SBATCH --cpus-per-task=64" in text
    assert "source ~/venvs/surfchem/bin/activate" in text and "srun" in text
    cmd = mpi_command("in.pkl", "out.pkl", 16, spec.executor.slurm.mpi_launcher)
    assert cmd.startswith("srun --overlap -n 16 ") and "-m surfchem.campaign.tasks in.pkl out.pkl" in cmd
    assert "-n" not in mpi_command("a", "b", 1)


def test_engine_runs_python_and_isolated_bash_apps(tmp_path):
    from ase.build import bulk

    with Engine(ExecutorSpec(kind="threads", workers=2), tmp_path) as eng:
        plain = eng.submit({"kind": "single_point", "calculator": "emt", "atoms": bulk("Cu", cubic=True),
                            "hash": "a"})
        iso = eng.submit({"kind": "single_point", "calculator": "emt", "atoms": bulk("Cu", cubic=True),
                          "hash": "b", "isolate": True})
        broken = eng.submit({"kind": "single_point", "calculator": "emt",
                             "atoms": bulk("CsCl", "cesiumchloride", a=4.1), "hash": "c"})
        e1, e2 = plain.result()["record"]["energy_eV"], iso.result()["record"]["energy_eV"]
        assert abs(e1 - e2) < 1e-12  # same EMT energy in the worker process
        bad = broken.result()["record"]
        assert bad["status"] == "failed" and ("EMT" in bad["error"] or "Cs" in bad["error"])


def _tiny_spec(out: Path, **extra) -> Path:
    spec = out / "spec.toml"
    lines = [f'name = "{extra.pop("name", "tiny")}"', 'ligands = ["MA"]', f'n = "{extra.pop("n", "0-2")}"',
             f'out = "{out / "run"}"']
    db = extra.pop("db", None)
    stage = extra.pop("stage", 'calculator = "chgnet-d3"\nfmax_eV_A = 0.1\nsteps = 150')
    lines += ["[[stages]]", stage]
    if db:
        lines += ["[database]", f'url = "{db}"']
    spec.write_text("\n".join(lines) + "\n")
    return spec


def test_campaign_cli_status_results_plot(mini_screen, tmp_path):
    # the same campaign as the session's mini screen: everything is already in its database
    spec = tmp_path / "same.toml"
    spec.write_text(f'name = "screen"\nligands = ["MA"]\nn = "0-2"\nout = "{mini_screen.out}"\n'
                    '[[stages]]\ncalculator = "chgnet-d3"\nfmax_eV_A = 0.1\nsteps = 150\n')
    r = _cli("campaign", "status", str(spec), "--json")
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert {"total", "done", "failed", "pending"} <= set(st)
    assert st == {**st, "total": 6, "done": 6, "failed": 0, "pending": 0}
    csv = tmp_path / "r.csv"
    r = _cli("campaign", "results", str(spec), "--csv", str(csv))
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(csv)
    assert sorted(table.n) == [0, 1, 2] and table.energy_eV.notna().all()
    r = _cli("campaign", "plot", str(spec), "--out", str(tmp_path / "fig"))
    assert r.returncode == 0 and (tmp_path / "fig" / "fig1.png").stat().st_size > 1000


def test_failed_tasks_are_recorded_and_retried(tmp_path):
    # GFN2-xTB limited to 2 SCF iterations cannot converge: every task fails, nothing crashes
    spec = parse_spec({"name": "fail", "ligands": ["MA"], "n": "0-1", "out": str(tmp_path / "f"),
                       "stages": [{"calculator": "gfn2", "params": {"max_iterations": 2}}],
                       "executor": {"retry_failed": False}})
    res = run_campaign(spec, progress=False)
    assert res.counts["failed"] == 3 and res.counts["done"] == 0  # bulk, salt, ion pair
    assert res.counts["pending"] == res.counts["total"] - 3
    assert all("SCF" in f["error"] or "converge" in f["error"].lower() for f in res.failures)
    again = run_campaign(spec, progress=False)
    assert again.counts.get("cached_failed") == 3 and "computed_failed" not in again.counts
    retry = run_campaign(spec.model_copy(update={"executor": spec.executor.model_copy(
        update={"retry_failed": True})}), progress=False)
    assert retry.counts.get("computed_failed") == 3
    assert len(ResultStore(spec.database_url())) == 3  # retried rows replaced, not duplicated


def test_kill_minus_9_and_resume(tmp_path):
    """A real campaign subprocess killed with SIGKILL mid-relaxation resumes losing nothing."""
    # no octahedral-tilt search of the bulk reference (as the other small campaigns here): it is
    # not what is resumed, and its rattled 40-atom relaxations ran before any slab task
    spec = _tiny_spec(tmp_path, n="0-2", stage='calculator = "chgnet-d3"\nfmax_eV_A = 0.05\nsteps = 300\n'
                                                'bulk_tilt_starts = 0')
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "surfchem", "campaign", "run", str(spec), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = out / "results.db"
    victim = None
    deadline = time.time() + 400
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.3)
        if not db_path.exists():
            continue
        done = {r["task_hash"] for r in ResultStore(db_path).records()}
        trajs = [p for p in (out / "trajectories").glob("*.traj") if p.stem not in done]
        if len(done) >= 3 and trajs and max(p.stat().st_size for p in trajs) > 30_000:
            victim = max(trajs, key=lambda p: p.stat().st_size).stem
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert victim is not None, "the campaign finished before it could be killed mid-relaxation"
    before = {r["task_hash"]: r["energy_eV"] for r in ResultStore(db_path).records()}
    assert victim not in before and len(before) >= 3
    r = _cli("campaign", "run", str(spec), "--json", "--no-progress", timeout=1500)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["done"] == info["total"] == 6 and info["failed"] == 0
    after = {r["task_hash"]: r for r in ResultStore(db_path).records()}
    assert len(after) == 6
    for h, e in before.items():  # kept, not recomputed
        assert after[h]["energy_eV"] == e
    assert after[victim]["restarted_from_step"] > 0  # resumed from its trajectory
    assert after[victim]["converged"]
    # killed + resumed reaches what an uninterrupted run reaches (issue 15: the optimiser state is
    # replayed from the trajectory, so the resumed relaxation takes the same steps)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    spec2 = _tiny_spec(fresh, n="0-2", stage='calculator = "chgnet-d3"\nfmax_eV_A = 0.05\nsteps = 300\n'
                                               'bulk_tilt_starts = 0')  # the same campaign
    r = _cli("campaign", "run", str(spec2), "--json", "--no-progress", timeout=1500)
    assert r.returncode == 0, r.stderr
    clean = {r["task_hash"]: r for r in ResultStore(fresh / "run" / "results.db").records()}
    assert set(clean) == set(after)
    for h in after:
        assert after[h]["energy_eV"] == pytest.approx(clean[h]["energy_eV"], abs=1e-3), h  # 1 meV


@pytest.mark.skipif(not os.environ.get("SURFCHEM_TEST_PG_URL"),
                    reason="no PostgreSQL server (tests/run.sh starts one and sets SURFCHEM_TEST_PG_URL)")
def test_postgresql_database(tmp_path):
    from ase.db import connect

    url = os.environ["SURFCHEM_TEST_PG_URL"]
    db = connect(url)
    stale = [row.id for row in db.select(campaign="pgtiny")]
    if stale:
        db.delete(stale)
    spec = load_spec(_tiny_spec(tmp_path, name="pgtiny", n="0-1", db=url))
    res = run_campaign(spec, progress=False)
    assert res.counts["done"] == res.counts["total"] == 5
    rows = list(connect(url).select(campaign="pgtiny"))
    assert len(rows) == 5 and all(row.get("status") == "ok" for row in rows)
    slab = [row for row in rows if row.get("kind") == "slab" and row.get("n") == 1][0]
    assert slab.toatoms().get_chemical_formula() == "CH6Br28Cs11NPb8"
    assert abs(slab.energy_eV - res.table.query("n == 1").energy_eV.iloc[0]) < 1e-9
    again = run_campaign(spec, progress=False)
    assert again.counts.get("cached_ok") == 5 and "computed_ok" not in again.counts


def test_funnel_refines_the_best_arrangements_and_reports_rankings(tmp_path):
    """Two-stage funnel on a small case (MA, 3-layer slab, every arrangement of N = 1, 2):
    stage 0 relaxes all 6 with CHGNet+D3, stage 1 recomputes the 2 lowest per N with CHGNet
    without D3 (single points). Checks the plan count, that stage 1 took stage 0's two lowest
    arrangements, that its energies are real single points of the stage-0 structures, and the
    ranking report (stages.csv) against rankings recomputed from the two tables."""
    from ase.io import read

    from surfchem.calculators import get_calculator

    spec = parse_spec({
        "name": "funnel", "ligands": ["MA"], "n": "0-2", "arrangements": "all", "out": str(tmp_path),
        "slab": {"layers": 3},
        "stages": [{"calculator": "chgnet-d3", "fmax_eV_A": 0.1, "steps": 150, "bulk_tilt_starts": 0},
                   {"calculator": "chgnet", "mode": "single_point", "keep": 2, "bulk_tilt_starts": 0}],
    })
    assert CampaignPlan(spec).n_tasks == (2 + 1 + 1 + 1 + 5) + (2 + 1 + 1 + 1 + 2)
    res = run_campaign(spec, progress=False)
    assert res.counts["done"] == CampaignPlan(spec).n_tasks and res.counts["failed"] == 0
    t0, t1 = (s.table for s in res.stages)
    s0 = t0[t0["n"] == 2].sort_values("G_eV")
    s1 = t1[t1["n"] == 2].sort_values("G_eV")
    assert len(s0) == 5 and len(s1) == 2
    assert set(s1["arrangement"]) == set(s0["arrangement"].iloc[:2])
    # a stage-1 energy is the CHGNet (no D3) energy of the stage-0 structure of that arrangement,
    # strained in plane to stage 1's own a0
    store = ResultStore(spec.database_url())
    row0 = s0.iloc[0]
    row1 = s1[s1["arrangement"] == row0["arrangement"]].iloc[0]
    before, atoms = store.get(row0["task_hash"])[0], store.get(row1["task_hash"])[0]
    f = res.stages[1].references.a0_A / res.stages[0].references.a0_A
    assert f != pytest.approx(1.0, abs=1e-4)
    assert abs(atoms.positions[:, :2] - f * before.positions[:, :2]).max() < 1e-6
    atoms.calc = get_calculator("chgnet")
    assert float(row1["energy_eV"]) == pytest.approx(atoms.get_potential_energy(), abs=2e-3)
    assert float(row1["energy_eV"]) != pytest.approx(float(row0["energy_eV"]), abs=0.05)  # D3 is not small
    ranks = pd.read_csv(tmp_path / "stages.csv")
    assert set(ranks["stage"]) == {0, 1}
    r2 = ranks[(ranks["n"] == 2)].set_index("stage")
    best0, best1 = int(s0["arrangement"].iloc[0]), int(s1["arrangement"].iloc[0])
    assert r2.loc[0, "best_arrangement"] == best0 and r2.loc[1, "best_arrangement"] == best1
    assert bool(r2.loc[1, "best_changed"]) == (best0 != best1)
    assert not ranks[ranks["stage"] == 0]["rank_changed"].any()
    assert read(tmp_path / "structures" / "MA_n2.extxyz").get_chemical_formula() == atoms.get_chemical_formula()
    # thermo reads the last stage with the last stage's references (never CHGNet+D3 energies
    # against CHGNet references): with no entropy it reproduces stage 1's own gamma(N)
    from surfchem.thermo.results import thermo_for_screen

    _, summ = thermo_for_screen(tmp_path, {"model": "none"})
    want = res.stages[1].summary.set_index("n")["gamma_J_m2"]
    assert np.allclose(summ.set_index("n").loc[want.index, "gamma_J_m2"], want, atol=1e-9)


def test_slab_task_hash_holds_the_ligand_smiles(tmp_path):
    """The same structure under the same name but another molecule (the old DDA6 = hexylammonium
    vs the truncated DDA) never shares a cached result: the canonical SMILES is in the hash."""
    from surfchem.build import slab
    from surfchem.campaign.loop import Loop
    from surfchem.campaign.stage import StagePlanner

    spec = parse_spec({"name": "h", "ligands": ["DDA6"], "out": str(tmp_path)})
    planner = StagePlanner(CampaignPlan(spec), 0, Loop(None, None, None, False, dry=True), tmp_path, None, {})
    atoms = slab()
    rec = {"ligand": "DDA6", "n": 1}
    new = planner.task("slab", {**rec, "smiles": "CCCCCC[N+](C)(C)CCCCCC"}, atoms)
    old = planner.task("slab", {**rec, "smiles": "CCCCCC[NH3+]"}, atoms)
    assert new.key() != old.key() and new.record["smiles"] == "CCCCCC[N+](C)(C)CCCCCC"
    assert planner.task("slab", {**rec, "smiles": "CCCCCC[NH3+]"}, atoms).key() == old.key()


def test_progress_counts_relaxations_and_steps(tmp_path, chgnet_d3, ma_in_box):
    """The bar's relaxation and step counts come from real trajectories of this run only."""
    from surfchem.relax import relax

    mol = ma_in_box
    mol.rattle(0.05, seed=1)
    old = relax(mol, chgnet_d3, fmax=0.02, steps=2, trajectory=tmp_path / "old.traj")
    os.utime(tmp_path / "old.traj", (1.0, 1.0))  # written by an earlier run
    progress = TrajectoryProgress(tmp_path)
    assert progress.poll() == (0, 0)
    a = relax(mol, chgnet_d3, fmax=0.02, steps=3, trajectory=tmp_path / "a_s0.traj")
    assert progress.poll() == (1, a.n_steps)
    b = relax(mol, chgnet_d3, fmax=0.02, steps=2, trajectory=tmp_path / "a_s1.traj")
    assert progress.label() == f"2 relaxations, {a.n_steps + b.n_steps} steps"
    assert old.n_steps == 2 and TrajectoryProgress(tmp_path, since=0).poll()[0] == 3
