"""Cost per force call of every ML preset on the reference slab and on a ligand-decorated slab.

Systems: the reference slab ``slab("CsPbBr3", size=(2, 2), layers=5)`` (48 atoms) and the same
slab with PEA on the four top sites ``decorate(slab, "PEA", [0, 1, 2, 3])``. For each preset:
build the calculator (load time recorded separately), one warm-up call, then ``--calls`` force
calls, each on positions displaced by 1e-4 Å (so nothing is served from the calculator's cache,
as in a relaxation), with one torch intra-op thread (the presets' default). The median and the
spread of the wall time per call are written.

Usage::

    python benchmarks/potentials/run.py [--presets chgnet,chgnet-d3,...] [--calls 7]

Writes ``cost.csv`` next to this script (one row per preset and system).
"""

from __future__ import annotations

import argparse
import os
import platform
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


def time_calls(atoms, calc, calls: int, seed: int = 0) -> list[float]:
    """Wall time (s) of ``calls`` force calls after one warm-up call."""
    rng = np.random.default_rng(seed)
    work = atoms.copy()
    work.calc = calc
    work.get_forces()  # warm-up (graph building, lazy init)
    out = []
    for _ in range(calls):
        work.positions = work.positions + rng.normal(0.0, 1e-4, work.positions.shape)
        t0 = time.perf_counter()
        work.get_forces()
        out.append(time.perf_counter() - t0)
    return out


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default=",".join(ML_PRESETS))
    ap.add_argument("--calls", type=int, default=7)
    ap.add_argument("--out", default=str(HERE / "cost.csv"))
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    structs = systems()
    rows = []
    for name in [p for p in args.presets.split(",") if p]:
        t0 = time.perf_counter()
        calc = get_calculator(name)  # torch_threads=1 (preset default)
        load_s = time.perf_counter() - t0
        for sname, atoms in structs.items():
            times = time_calls(atoms, calc, args.calls)
            rows.append({"preset": name, "system": sname, "n_atoms": len(atoms), "calls": len(times),
                         "median_s": float(np.median(times)), "min_s": float(np.min(times)),
                         "max_s": float(np.max(times)), "load_s": load_s,
                         "loadavg_1min": os.getloadavg()[0]})
            print(f"{name:24s} {sname:16s} {len(atoms):4d} atoms  median {np.median(times):.3f} s "
                  f"(min {np.min(times):.3f}, max {np.max(times):.3f})  load {load_s:.1f} s", flush=True)
    df = pd.DataFrame(rows)
    df.attrs["machine"] = f"{platform.node()} {os.cpu_count()} cores"
    df.to_csv(args.out, index=False, float_format="%.4g")
    return df


if __name__ == "__main__":
    main()
