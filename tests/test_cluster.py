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

import pandas as pd
import pytest

from surfchem.campaign.spec import load_spec
from surfchem.core.store import ResultStore

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[1]
SLURM = bool(os.environ.get("SURFCHEM_TEST_SLURM"))
SLURM_SKIP = ("no test Slurm cluster: " + os.environ.get(
    "SURFCHEM_TEST_SLURM_SKIP", "run under tests/run.sh, or `source tests/slurm.sh; start_slurm` first "
    "(sets SURFCHEM_TEST_SLURM and SLURM_CONF)"))
needs_slurm = pytest.mark.skipif(not SLURM, reason=SLURM_SKIP)
PG_URL = os.environ.get("SURFCHEM_TEST_PG_URL")


def _cli(*args, timeout=1800, cwd=None):
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
    deadline = time.time() + 600
    store = None
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
            if not db_path.exists():
                continue
            store = store or ResultStore(db_path)
            done = {r["task_hash"] for r in store.records()}
            trajs = [p for p in (out / "trajectories").glob("*.traj") if p.stem not in done]
            # a slab relaxation running, a few frames written (~2.5 kB per frame)
            if len(done) >= 3 and trajs and max(p.stat().st_size for p in trajs) > 8_000:
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


@pytest.fixture
def fresh_pg_url():
    """A new, empty PostgreSQL database on the test server (dropped afterwards)."""
    if not PG_URL:
        pytest.skip("no PostgreSQL server (tests/run.sh starts one and sets SURFCHEM_TEST_PG_URL)")
    import uuid

    import psycopg2

    name = f"surfchem_pair_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(PG_URL)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_two_drivers_split_the_work(tmp_path, fresh_pg_url):
    """Two campaign processes on one PostgreSQL database and one spec (two users, two
    allocations): each task is claimed by one of them, the other waits for its row; no task
    hash is computed twice, both finish with the full table. 8 tasks, 2 threads drivers."""
    # loose fmax: the test is about who computes what, the relaxations only need to be real
    spec_path = _spec(tmp_path, "pair", 'kind = "threads"\nworkers = 1', n="0-2", fmax=0.3,
                      db=fresh_pg_url)
    text = spec_path.read_text().replace('n = "0-2"', 'n = "0-2"\narrangements = 3')
    spec_path.write_text(text)
    spec = load_spec(spec_path)
    from surfchem.campaign.plan import CampaignPlan

    total = CampaignPlan(spec).n_tasks
    assert total == 8  # 2 EOS + ion pair + bare slab + 1 + 3 arrangements of N = 1, 2
    cmd = [sys.executable, "-m", "surfchem", "campaign", "run", str(spec_path), "--json", "--no-progress"]
    t0 = time.time()
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        outs = [p.communicate(timeout=1800) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    print(f"two drivers: {time.time() - t0:.0f} s")
    infos = []
    for p, (stdout, stderr) in zip(procs, outs, strict=True):
        assert p.returncode == 0, stderr[-3000:]
        infos.append(json.loads(stdout))
    for info in infos:  # both finish with the full table
        assert info["done"] == info["total"] == total and info["failed"] == 0 and info["complete"]
    computed = [info["counts"].get("computed_ok", 0) for info in infos]
    cached = [info["counts"].get("cached_ok", 0) for info in infos]
    assert sum(computed) == total, (computed, cached)  # no task computed twice, none skipped
    assert [c + k for c, k in zip(computed, cached, strict=True)] == [total, total]
    assert min(computed) > 0, computed  # the work was split
    store = ResultStore(fresh_pg_url)
    rows = store.records()
    assert len(rows) == total and len({r["task_hash"] for r in rows}) == total
    assert store.claims.held() == {}  # every claim released
    tables = [pd.read_csv(info["files"]["results"]) for info in infos]
    assert len(tables[0]) == 1 + 1 + 3  # n = 0, one N = 1, three N = 2 arrangements


def _mpi_skip_reason() -> str | None:
    """Why GPAW cannot run under MPI here, or None."""
    import importlib.util
    import shutil

    if not shutil.which("mpirun"):
        return "no mpirun (tests/slurm.sh installs openmpi-bin libopenmpi-dev with apt as root)"
    if importlib.util.find_spec("mpi4py") is None:
        from gpaw import cgpaw

        if not getattr(cgpaw, "have_mpi", False):
            return ("GPAW is built without MPI (`gpaw info`: MPI enabled no) and mpi4py is missing "
                    "(tests/slurm.sh pip-installs it)")
    return None


def _li_task(path: Path, name: str) -> tuple[str, str]:
    """A pickled GPAW single point of bcc Li (1 atom, PW 200 eV, 4x4x4 k-points: 8 irreducible
    k-points, so 2 ranks parallelise over k-points)."""
    import pickle

    from ase.build import bulk

    task = {"kind": "single_point", "calculator": "gpaw-pbe-pw", "hash": name,
            "atoms": bulk("Li", "bcc", a=3.44),
            "calc_params": {"ecut_eV": 200.0, "kpts": (4, 4, 4), "smearing_eV": 0.1,
                            "convergence": {"energy": 1e-9, "density": 1e-8, "eigenstates": 1e-12}}}
    inp, out = str(path / f"{name}.in.pkl"), str(path / f"{name}.out.pkl")
    with open(inp, "wb") as fh:
        pickle.dump(task, fh)
    return inp, out


def _result(out: str) -> dict:
    import pickle

    with open(out, "rb") as fh:
        return pickle.load(fh)["record"]


def test_gpaw_under_mpi_matches_serial(tmp_path):
    """The campaign's MPI task runner (engine.mpi_command: ``LAUNCHER -n 2 python -m
    surfchem.campaign.tasks``) under mpirun and, on the test cluster, as a campaign task with
    ``mpi_ranks = 2`` on the Slurm executor (srun inside the Parsl pilot job): the same GPAW
    energy as the serial run, within 1e-6 eV."""
    reason = _mpi_skip_reason()
    if reason:
        pytest.skip(reason)
    from surfchem.campaign.engine import mpi_command

    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMP_NUM_THREADS": "1"}
    t0 = time.time()
    inp, out = _li_task(tmp_path, "serial")
    subprocess.run(mpi_command(inp, out, 1), shell=True, check=True, env=env, timeout=600)
    serial = _result(out)
    assert serial["status"] == "ok" and serial["mpi_ranks_used"] == 1, serial
    t1 = time.time()
    inp, out = _li_task(tmp_path, "mpirun")
    r = subprocess.run(mpi_command(inp, out, 2, "mpirun --oversubscribe"), shell=True, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    par = _result(out)
    assert par["status"] == "ok" and par["mpi_ranks_used"] == 2, par
    assert abs(par["energy_eV"] - serial["energy_eV"]) < 1e-6, (par["energy_eV"], serial["energy_eV"])
    print(f"gpaw serial {t1 - t0:.1f} s, mpirun -n 2 {time.time() - t1:.1f} s")
    if not SLURM:
        return
    # the production path: a campaign task with mpi_ranks = 2 on the Slurm executor, i.e. a Parsl
    # bash app in the pilot job running `srun --overlap --mpi=pmix -n 2 python -m ...tasks`
    import pickle

    from surfchem.campaign.engine import Engine
    from surfchem.campaign.spec_run import ExecutorSpec

    t2 = time.time()
    spec = ExecutorSpec.model_validate({"kind": "slurm", "workers": 1, "slurm": {
        "walltime": "00:10:00", "mpi_launcher": "srun --overlap --mpi=pmix", "heartbeat_s": 5}})
    with open(_li_task(tmp_path, "srun")[0], "rb") as fh:
        task = {**pickle.load(fh), "mpi_ranks": 2}
    with Engine(spec, tmp_path / "engine") as eng:
        par = eng.submit(task).result(timeout=600)["record"]
    assert par["status"] == "ok" and par["mpi_ranks_used"] == 2, par
    assert abs(par["energy_eV"] - serial["energy_eV"]) < 1e-6, (par["energy_eV"], serial["energy_eV"])
    print(f"pilot job + srun -n 2: {time.time() - t2:.1f} s")


@needs_slurm
def test_validation_sbatch_script_runs_on_the_cluster(tmp_path):
    """``surfchem validate --spec FILE --sbatch`` rendered for a tiny spec (quick profile, bulk
    a0 of CsBr and CsPbBr3 with CHGNet), submitted with sbatch, finishing with its table."""
    out = tmp_path / "validation"
    spec = tmp_path / "validation_tiny.toml"
    spec.write_text(f'name = "validation_tiny"\nprofile = "quick"\ncalculators = ["chgnet"]\n'
                    f'parts = ["bulk"]\nout = "{out}"\n'
                    '[slurm]\npartition = "debug"\nnodes = 1\ntasks_per_node = 1\nwalltime = "00:20:00"\n'
                    f'launcher = "srun"\nworker_init = "cd {ROOT}"\n')
    r = _cli("validate", "--spec", str(spec), "--sbatch")
    assert r.returncode == 0, r.stderr
    script = tmp_path / "validate.sbatch"
    script.write_text(r.stdout)
    assert "#SBATCH --partition=debug" in r.stdout and "srun -n 1 gpaw python -m surfchem validate" in r.stdout
    t0 = time.time()
    job = subprocess.run(["sbatch", "--wait", "-o", str(tmp_path / "job.log"), str(script)],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path)
    log = (tmp_path / "job.log").read_text() if (tmp_path / "job.log").exists() else ""
    assert job.returncode == 0, job.stderr + log[-3000:]
    res = json.loads((out / "validate.json").read_text())
    a0 = {row["system"]: row["a0_A"] for row in res["rows"] if row.get("a0_A") is not None}
    assert res["profile"] == "quick" and len(a0) == 2, res["rows"]
    # experiment: CsBr 4.29 A (CsCl type), cubic CsPbBr3 5.87 A; CHGNet within 4 %
    assert abs(a0["bulk:CsBr"] / 4.29 - 1) < 0.04 and abs(a0["bulk:CsPbBr3"] / 5.87 - 1) < 0.04, a0
    print(f"validation job: {time.time() - t0:.0f} s")


def test_claims_of_a_killed_driver_are_taken_over(tmp_path):
    """A claim blocks other drivers while its owner lives and heartbeats; the claim of a driver
    killed with SIGKILL on this host is taken over at once, one on another host once its
    heartbeat is older than the timeout."""
    import signal

    db = str(tmp_path / "claims.db")
    store = ResultStore(db)
    code = ("import sys, time; from surfchem.core.store import ResultStore, new_owner; "
            f"c = ResultStore({db!r}).claims; assert c.claim('h' + '1' * 20, new_owner(), 600); "
            "print('claimed', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "claimed"
        holder = store.claims.held()["h" + "1" * 20]
        assert holder.split(":")[1] == str(proc.pid)
        assert not store.claims.claim("h" + "1" * 20, "me:1:x", 600)  # alive: not ours
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert store.claims.claim("h" + "1" * 20, "me:1:x", 600)  # its owner is dead: taken over
    assert store.claims.held() == {"h" + "1" * 20: "me:1:x"}
    # a driver on another host: blocked until its heartbeat is older than the timeout
    assert store.claims.claim("h" + "2" * 20, "otherhost:1:y", 600)
    assert not store.claims.claim("h" + "2" * 20, "me:1:x", 600)
    time.sleep(1.2)
    assert store.claims.claim("h" + "2" * 20, "me:1:x", 1.0)
    store.claims.release_all("me:1:x")
    assert store.claims.held() == {}
