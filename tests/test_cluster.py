"""HPC batch jobs for real: a one-node Slurm cluster (tests/slurm.sh), Parsl pilot jobs,
preemption, GPAW under MPI, the validation batch script, two campaign processes sharing a
PostgreSQL database. No mocks: every test submits real jobs and computes real energies.

Run them alone with ``bash tests/run.sh -m cluster`` (which starts the cluster and PostgreSQL).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from surfchem.campaign.spec import load_spec
from surfchem.campaign.store import ResultStore

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[1]
SLURM = bool(os.environ.get("SURFCHEM_TEST_SLURM"))
SLURM_SKIP = ("no test Slurm cluster: " + os.environ.get(
    "SURFCHEM_TEST_SLURM_SKIP", "run under tests/run.sh, or `source tests/slurm.sh; start_slurm` first "
    "(sets SURFCHEM_TEST_SLURM and SLURM_CONF)"))
needs_slurm = pytest.mark.skipif(not SLURM, reason=SLURM_SKIP)
PG_URL = os.environ.get("SURFCHEM_TEST_PG_URL")


def _cli(*args, timeout=900, cwd=None):
    return subprocess.run([sys.executable, "-m", "surfchem", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def _spec(path: Path, name: str, executor: str = 'kind = "threads"', n: str = "0-1",
          fmax: float = 0.1, db: str | None = None) -> Path:
    """The smallest real campaign: MA on a 2x2, 3-layer CsPbBr3 slab, CHGNet+D3, cubic bulk
    reference (5 tasks for n = 0-1: bulk and salt EOS, ion pair, bare slab, N = 1)."""
    path.mkdir(parents=True, exist_ok=True)
    text = (f'name = "{name}"\nligands = ["MA"]\nn = "{n}"\nout = "{path / "run"}"\n'
            '[slab]\nlayers = 3\n'
            f'[[stages]]\ncalculator = "chgnet-d3"\nfmax_eV_A = {fmax}\nsteps = 300\nbulk_tilt_starts = 0\n'
            f'[executor]\n{executor}\n')
    if db:
        text += f'[database]\nurl = "{db}"\n'
    spec = path / "spec.toml"
    spec.write_text(text)
    return spec


SLURM_EXECUTOR = ('kind = "slurm"\nworkers = 1\n[executor.slurm]\nwalltime = "00:30:00"\n'
                  'heartbeat_s = {beat}\n')


def _jobs() -> list[tuple[str, str, str]]:
    """(job id, name, state) of every job the test cluster knows (queued, running and those
    finished in the last MinJobAge = 600 s)."""
    out = subprocess.run(["scontrol", "-o", "show", "job"], capture_output=True, text=True, check=True)
    jobs = []
    for line in out.stdout.splitlines():
        f = dict(re.findall(r"(\w+)=(\S+)", line))
        if "JobId" in f:
            jobs.append((f["JobId"], f.get("JobName", ""), f.get("JobState", "")))
    return jobs


def _job_states(job_id: str) -> str:
    out = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True)
    m = re.search(r"JobState=(\S+)", out.stdout)
    return m.group(1) if m else "UNKNOWN"


@needs_slurm
def test_slurm_campaign_end_to_end(tmp_path):
    """Parsl submits a pilot job with sbatch, the tasks run in it, the results land in the
    database, the pilot job is released at the end, ``campaign status`` reports all done."""
    spec_path = _spec(tmp_path, "slurm_e2e", SLURM_EXECUTOR.format(beat=30))
    spec = load_spec(spec_path)
    known = {j[0] for j in _jobs()}
    t0 = time.time()
    r = _cli("campaign", "run", str(spec_path), "--json", "--no-progress")
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads(r.stdout)
    assert info["done"] == info["total"] == 5 and info["failed"] == 0 and info["complete"]
    # the work ran in a Slurm job Parsl submitted: its batch script and the job's worker log
    scripts = list((spec.out_dir() / "runinfo").rglob("submit_scripts/parsl.main.block-0.*[0-9]"))
    assert scripts and "#SBATCH --time=30" in scripts[0].read_text()  # Parsl writes minutes
    rows = ResultStore(spec.database_url()).records()
    assert len(rows) == 5 and all(row["status"] == "ok" for row in rows)
    assert {row["kind"] for row in rows} == {"bulk", "salt", "ion_pair", "slab"}
    st = _cli("campaign", "status", str(spec_path), "--json")
    assert st.returncode == 0, st.stderr
    status = json.loads(st.stdout)
    assert status["total"] == status["done"] == 5 and status["pending"] == 0
    # the pilot job ran on the cluster and was released at the end (nothing left queued)
    ours = [j for j in _jobs() if j[0] not in known and j[1].startswith("parsl")]
    assert ours, _jobs()
    deadline = time.time() + 30
    while time.time() < deadline and any(j[2] in ("RUNNING", "PENDING") for j in ours):
        time.sleep(1)
        ours = [j for j in _jobs() if j[0] not in known and j[1].startswith("parsl")]
    assert not [j for j in ours if j[2] in ("RUNNING", "PENDING")], ours
    print(f"slurm campaign: {time.time() - t0:.0f} s")


@needs_slurm
def test_preempted_pilot_job_loses_nothing(tmp_path):
    """``scancel`` the pilot job while a relaxation runs in it: the driver stores nothing for
    that task (no failed row), keeps every finished row; the rerun computes only what is left,
    restarting the cancelled relaxation from its trajectory."""
    spec_path = _spec(tmp_path, "slurm_preempt", SLURM_EXECUTOR.format(beat=2), fmax=0.05)
    spec = load_spec(spec_path)
    out = spec.out_dir()
    db_path = Path(spec.database_url())
    known = {j[0] for j in _jobs()}
    proc = subprocess.Popen([sys.executable, "-m", "surfchem", "campaign", "run", str(spec_path),
                             "--json", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    victim, job = None, None
    deadline = time.time() + 400
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.3)
            if not db_path.exists():
                continue
            done = {r["task_hash"] for r in ResultStore(db_path).records()}
            trajs = [p for p in (out / "trajectories").glob("*.traj") if p.stem not in done]
            if len(done) >= 3 and trajs and max(p.stat().st_size for p in trajs) > 20_000:
                victim = max(trajs, key=lambda p: p.stat().st_size).stem
                running = [j for j in _jobs() if j[1].startswith("parsl") and j[2] == "RUNNING"
                           and j[0] not in known]
                assert len(running) == 1, running
                job = running[0][0]
                subprocess.run(["scancel", job], check=True)
                break
        assert victim is not None, "the campaign finished before its pilot job could be cancelled"
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _job_states(job) in ("CANCELLED", "UNKNOWN")
    assert stdout.strip(), stderr[-3000:]
    first = json.loads(stdout)
    assert first["done"] < first["total"] and first["failed"] == 0, first
    assert any(f["kind"] == "lost" for f in first["failures"]), first["failures"]
    assert "lost" in (out / "campaign.log").read_text()
    before = {r["task_hash"]: r for r in ResultStore(db_path).records()}
    assert victim not in before and len(before) >= 3  # no failed row for the cancelled task
    assert all(r["status"] == "ok" for r in before.values())
    st = json.loads(_cli("campaign", "status", str(spec_path), "--json").stdout)
    assert st["pending"] == 5 - len(before) and st["failed"] == 0
    r = _cli("campaign", "run", str(spec_path), "--json", "--no-progress")
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads(r.stdout)
    assert info["done"] == info["total"] == 5 and info["failed"] == 0
    after = {r["task_hash"]: r for r in ResultStore(db_path).records()}
    assert len(after) == 5
    for h, row in before.items():  # kept, not recomputed
        assert after[h]["energy_eV"] == row["energy_eV"] and after[h].get("wall_s") == row.get("wall_s")
    assert after[victim]["restarted_from_step"] > 0 and after[victim]["converged"]
