"""What skipping CHGNet's stress pass saves on the main job: per relaxed structure of a finished
screen, the time of a force call with task "ef" (what surfchem's CHGNet calculator now runs for
forces) against "efsm" (what CHGNetCalculator ran before, commit f9dd747), interleaved so that
machine load hits both alike; then each task's wall time of the screen scaled by its (ligand, N)
ratio. The energies and forces of the two are identical (tests/test_calculators.py), so a rerun
takes the same steps and only the time per step changes.

Usage: python benchmarks/relax/stress_pass.py SCREEN_DIR [--calls 3] [--out stress_pass.csv]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import pandas as pd
import torch
from ase.io import read
from chgnet.model import CHGNet
from pymatgen.io.ase import AseAtomsAdaptor

from surfchem.core.screendir import ScreenDir
from surfchem.trust.benchmark import estimated_wall_s


def call_times(atoms, model, calls: int) -> tuple[float, float]:
    graph = model.graph_converter(AseAtomsAdaptor.get_structure(atoms))
    model.predict_graph(graph, task="efsm")  # warm-up
    t = {"ef": 0.0, "efsm": 0.0}
    for _ in range(calls):
        for task in t:
            t0 = time.perf_counter()
            model.predict_graph(graph, task=task)
            t[task] += time.perf_counter() - t0
    return t["ef"] / calls, t["efsm"] / calls


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("screen", type=Path)
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = CHGNet.load(verbose=False)
    sd = ScreenDir(a.screen)
    rows = sd.read_results()
    out = []
    for path in sorted(sd.structures_dir.glob("*_n*.extxyz")):
        m = re.match(r"(.+)_n(\d+)$", path.stem)
        atoms = read(path)
        ef, efsm = call_times(atoms, model, a.calls)
        out.append({"ligand": "" if m.group(1) == "bare" else m.group(1), "n": int(m.group(2)),
                    "n_atoms": len(atoms), "ef_s": ef, "efsm_s": efsm, "ratio": ef / efsm})
        print(out[-1], flush=True)
    ratios = pd.DataFrame(out)
    bare = ratios[ratios["n"] == 0]["ratio"].mean()
    key = {(r.ligand, r.n): r.ratio for r in ratios.itertuples()}
    rows["ratio"] = [key.get((lig, int(n)), bare) for lig, n in zip(rows["ligand"], rows["n"], strict=True)]
    rows["wall_new_s"] = rows["wall_s"].fillna(0) * rows["ratio"]
    before, after = estimated_wall_s(rows), estimated_wall_s(rows, "wall_new_s")
    print(ratios.to_string(index=False))
    print(f"task-seconds {rows['wall_s'].sum():.0f} -> {rows['wall_new_s'].sum():.0f}; "
          f"wall estimate (shared + slowest ligand) {before:.0f} -> {after:.0f} s")
    if a.out:
        ratios.to_csv(a.out, index=False, float_format="%.4f")


if __name__ == "__main__":
    main()
