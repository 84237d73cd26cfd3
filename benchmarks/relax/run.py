"""Relaxation cost on the screen's slabs: optimisers, a loose-then-tight force criterion, batching.

For each start structure in ``starts/`` (the first frame of a grow-chain start of the README main
job: a ligand slab of 100-300 atoms) and each optimiser, relax with the default calculator and
record every step (energy, fmax). From the steps:

- force calls and wall time to fmax 0.05 eV/Å (the screen's criterion) per optimiser;
- the loose-then-tight split: force calls to fmax 0.15 eV/Å, and how far the energy there is
  above the final one (a loose criterion is only useful for ranking starts if that gap is small
  compared with the energy differences between starts);
- batching: the time per structure of CHGNet predicting k structures in one call against k calls.

Usage::

    python benchmarks/relax/run.py relax [--optimizers BFGS,FIRE,LBFGS,PreconLBFGS]
    python benchmarks/relax/run.py batch [--k 4]

Writes ``steps.csv``, ``relax.csv`` and ``batch.csv`` next to this script.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from ase.io import read

from surfchem.calculators import get_calculator

HERE = Path(__file__).parent
FMAX_TIGHT, FMAX_LOOSE = 0.05, 0.15


def optimizer(name: str, atoms):
    """An ASE optimiser by name; ``PreconLBFGS`` uses ASE's Exp preconditioner."""
    import ase.optimize

    if name == "PreconLBFGS":
        from ase.optimize.precon import Exp, PreconLBFGS

        return PreconLBFGS(atoms, precon=Exp(A=3), logfile=None)
    return getattr(ase.optimize, name)(atoms, logfile=None)


def relax_one(path: Path, name: str, steps: int = 400) -> pd.DataFrame:
    """Every step of one relaxation: step, energy (eV), fmax (eV/Å), elapsed (s)."""
    atoms = read(path)
    atoms.calc = get_calculator()
    opt = optimizer(name, atoms)
    rows, t0 = [], time.perf_counter()

    def record():
        f = atoms.get_forces()
        rows.append((len(rows), atoms.get_potential_energy(), float(np.sqrt((f**2).sum(1)).max()),
                     time.perf_counter() - t0))

    opt.attach(record)
    opt.run(fmax=FMAX_TIGHT, steps=steps)
    return pd.DataFrame(rows, columns=["step", "energy_eV", "fmax_eV_A", "elapsed_s"]).assign(
        start=path.stem, optimizer=name, n_atoms=len(atoms))


def summarise(steps: pd.DataFrame) -> pd.DataFrame:
    """Per (start, optimiser): calls and time to the tight and the loose criterion, loose gap."""
    out = []
    for (start, opt), g in steps.groupby(["start", "optimizer"], sort=False):
        tight = g[g["fmax_eV_A"] < FMAX_TIGHT]
        loose = g[g["fmax_eV_A"] < FMAX_LOOSE]
        end = tight.iloc[0] if len(tight) else g.iloc[-1]
        first_loose = loose.iloc[0] if len(loose) else g.iloc[-1]
        out.append({"start": start, "optimizer": opt, "n_atoms": int(g["n_atoms"].iloc[0]),
                    "converged": bool(len(tight)), "calls": int(end["step"]) + 1,
                    "wall_s": float(end["elapsed_s"]), "energy_eV": float(end["energy_eV"]),
                    "calls_loose": int(first_loose["step"]) + 1,
                    "loose_gap_eV": float(first_loose["energy_eV"] - end["energy_eV"])})
    return pd.DataFrame(out)


def batch(k: int) -> pd.DataFrame:
    """Seconds per structure: k single CHGNet calls against one batched call of k structures."""
    from chgnet.model import CHGNet
    from pymatgen.io.ase import AseAtomsAdaptor

    get_calculator()  # sets one torch thread, as the screen does
    model = CHGNet.load(verbose=False)
    rows = []
    for path in sorted((HERE / "starts").glob("*.extxyz")):
        atoms = read(path)
        structs = []
        for i in range(k):
            a = atoms.copy()
            a.rattle(0.02, seed=i)
            structs.append(AseAtomsAdaptor.get_structure(a))
        model.predict_structure(structs[0])  # warm-up
        t = time.perf_counter()
        for s in structs:
            model.predict_structure(s)
        single = (time.perf_counter() - t) / k
        t = time.perf_counter()
        model.predict_structure(structs, batch_size=k)
        batched = (time.perf_counter() - t) / k
        rows.append({"start": path.stem, "n_atoms": len(atoms), "k": k, "single_s": single,
                     "batched_s": batched, "speedup": single / batched})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("relax")
    r.add_argument("--optimizers", default="BFGS,FIRE,LBFGS,PreconLBFGS")
    r.add_argument("--starts", default="", help="comma-separated start names (default all)")
    b = sub.add_parser("batch")
    b.add_argument("--k", type=int, default=4)
    args = p.parse_args(argv)
    if args.cmd == "batch":
        table = batch(args.k)
        table.to_csv(HERE / "batch.csv", index=False)
        print(table.to_string(index=False))
        return 0
    names = [x for x in args.starts.split(",") if x]
    starts = [s for s in sorted((HERE / "starts").glob("*.extxyz")) if not names or s.stem in names]
    steps_file = HERE / "steps.csv"
    done = pd.read_csv(steps_file) if steps_file.exists() else pd.DataFrame()
    for path in starts:
        for name in args.optimizers.split(","):
            if len(done) and ((done["start"] == path.stem) & (done["optimizer"] == name)).any():
                continue
            steps = relax_one(path, name)
            done = pd.concat([done, steps], ignore_index=True)
            done.to_csv(steps_file, index=False)  # after every relaxation: a kill loses one
            print(summarise(steps).to_string(index=False), flush=True)
    table = summarise(done)
    table.to_csv(HERE / "relax.csv", index=False)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
