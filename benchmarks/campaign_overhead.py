"""Framework overhead per task of the campaign machinery (spec -> Parsl -> worker -> ASE-db row).

200 tiny relaxations (rattled 4-atom Cu cell, ASE EMT) run through the same driver loop, Parsl
engine and SQLite store as a campaign, one worker. Overhead per task = (wall time - time spent
inside the tasks) / n. The target is < 5 % of a typical 10 s task, i.e. < 0.5 s per task.

    python benchmarks/campaign_overhead.py [--n 200] [--workers 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ase.build import bulk

from surfchem.campaign.engine import Engine
from surfchem.campaign.loop import Loop
from surfchem.campaign.spec_run import ExecutorSpec
from surfchem.core.hashing import task_hash
from surfchem.core.store import ResultStore


class _Bar:
    def update(self, n: int) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(Path(tmp) / "bench.db")
        t0 = time.perf_counter()
        with Engine(ExecutorSpec(kind="threads", workers=args.workers), tmp) as engine:
            loop = Loop(store, engine, _Bar(), retry_failed=True)
            settings = {"fmax": 0.05, "steps": 50, "optimizer": "BFGS", "fix": "none"}
            for i in range(args.n):
                atoms = bulk("Cu", cubic=True)
                atoms.rattle(0.05, seed=i)
                h = task_hash(atoms, {"preset": "emt"}, settings)
                loop.submit({"kind": "relax", "hash": h, "atoms": atoms, "calculator": "emt",
                             "calc_params": {}, "settings": settings, "trajectory": f"{tmp}/{h}.traj",
                             "record": {"kind": "bench", "i": i}})
            loop.run()
        wall = time.perf_counter() - t0
        inside = sum(r["wall_s"] for r in store.records())
        n = len(store)
    per_task = (wall - inside) / n
    print(f"tasks: {n}, wall {wall:.2f} s, inside tasks {inside:.2f} s")
    print(f"framework overhead per task: {per_task * 1e3:.1f} ms = {per_task / 10 * 100:.2f} % of a 10 s task")


if __name__ == "__main__":
    main()
