"""Cost per force call of every ML preset on the reference slab and on a ligand-decorated slab.

Systems: the reference slab ``slab("CsPbBr3", size=(2, 2), layers=5)`` (48 atoms) and the same
slab with PEA on the four top sites ``decorate(slab, "PEA", [0, 1, 2, 3])``. All calculators are
built first (load time recorded), each gets one warm-up call per system, then ``--rounds``
rounds visit every preset in turn with ``--calls`` force calls per system, each on positions
displaced by 1e-4 Å (nothing served from a cache, as in a relaxation), with one torch intra-op
thread (the presets' default). Interleaving spreads the load of a shared machine over all
presets alike. Per call both the wall time and the CPU time of this process
(``time.process_time``: with one thread, the work done, nearly independent of other jobs) are
recorded; the medians and the wall-time spread are written.

Usage::

    python benchmarks/potentials/run.py [--presets chgnet,chgnet-d3,...] [--rounds 3] [--calls 3]

Writes ``cost.csv`` next to this script (one row per preset and system).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from surfchem.build import decorate, slab
from surfchem.calculators import PRESETS, get_calculator

HERE = Path(__file__).parent
#: every ML preset (torch models, with and without D3)
ML_PRESETS = [n for n in PRESETS if n.startswith(("chgnet", "sevennet"))]


def systems() -> dict:
    """The two benchmark structures by name."""
    bare = slab("CsPbBr3", size=(2, 2), layers=5)
    return {"slab-2x2x5": bare, "PEA4-on-2x2x5": decorate(bare, "PEA", [0, 1, 2, 3])}


def time_calls(work, calls: int, rng) -> list[tuple[float, float]]:
    """(wall, CPU) time in s of ``calls`` force calls on ``work`` (calculator attached)."""
    out = []
    for _ in range(calls):
        work.positions = work.positions + rng.normal(0.0, 1e-4, work.positions.shape)
        t0, c0 = time.perf_counter(), time.process_time()
        work.get_forces()
        out.append((time.perf_counter() - t0, time.process_time() - c0))
    return out


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default=",".join(ML_PRESETS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--calls", type=int, default=3, help="force calls per round (>= 5 in all)")
    ap.add_argument("--out", default=str(HERE / "cost.csv"))
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    structs = systems()
    names = [p for p in args.presets.split(",") if p]
    rng = np.random.default_rng(0)
    work, load_s = {}, {}
    for name in names:
        t0 = time.perf_counter()
        calc = get_calculator(name)  # torch_threads=1 (preset default)
        load_s[name] = time.perf_counter() - t0
        for sname, atoms in structs.items():
            w = atoms.copy()
            w.calc = calc
            w.get_forces()  # warm-up (graph building, lazy init)
            work[name, sname] = w
    times: dict[tuple[str, str], list] = {k: [] for k in work}
    loads = []
    for _ in range(args.rounds):
        for key, w in work.items():
            times[key] += time_calls(w, args.calls, rng)
        loads.append(os.getloadavg()[0])
    rows = []
    for (name, sname), tc in times.items():
        wall, cpu = np.array(tc).T
        rows.append({"preset": name, "system": sname, "n_atoms": len(work[name, sname]),
                     "calls": len(wall), "median_s": float(np.median(wall)),
                     "min_s": float(wall.min()), "max_s": float(wall.max()),
                     "median_cpu_s": float(np.median(cpu)), "load_s": load_s[name],
                     "loadavg_1min": float(np.mean(loads))})
        print(f"{name:24s} {sname:16s} {len(work[name, sname]):4d} atoms  wall median "
              f"{np.median(wall):.3f} s (min {wall.min():.3f}, max {wall.max():.3f})  CPU "
              f"{np.median(cpu):.3f} s  load {load_s[name]:.1f} s", flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(args.out, index=False, float_format="%.4g")
    return df


if __name__ == "__main__":
    main()
