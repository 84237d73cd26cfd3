"""Ablation of sweep rounds from one finished screen: what ``--sweeps K`` would have reported.

The chain is deterministic and its sweep rounds run in sequence (:mod:`surfchem.trust.chain`):
round r of a ``--sweeps 3`` run is exactly round r of a ``--sweeps r`` run (same parents, same
starts, same task hashes). So the rows of a finished run with rounds <= K *are* the run with
``--sweeps K``: this rebuilds its table with the campaign's own code
(:func:`surfchem.campaign.results.stage_result`), scores its minima against the best-known table
(:func:`surfchem.trust.benchmark.score_table`) and counts its cost. Force calls and task-seconds
are exact; the wall time is estimated by :func:`surfchem.trust.benchmark.estimated_wall_s` (the
shared work plus the slowest ligand's chain).

Usage:
    python benchmarks/minima/rounds.py DIR [--label NAME] [--layers 5] [--out rounds.csv]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

from surfchem.build.arrangements import site_permutations
from surfchem.build.bulk import get_material
from surfchem.build.ligands import resolve_ligand
from surfchem.build.slab import build_slab
from surfchem.campaign.results import stage_result
from surfchem.campaign.spec_compute import StageSpec
from surfchem.core.screendir import ScreenDir
from surfchem.trust.benchmark import (
    estimated_wall_s,
    read_best_known,
    records_system_key,
    score_table,
)

HERE = Path(__file__).resolve().parent


def sweep_round(build) -> int:
    """Round of a row's start: 0 for the chain's starts (grow, bare starts), r for ``shrink{r}``,
    ``mirror_top{r}``, ``splice{r}``, ``regrow{r}``."""
    if not isinstance(build, str) or not build or build == "grow":
        return 0
    m = re.search(r"(\d+)$", build)
    return int(m.group(1)) if m else 0


def prefix_scores(path: Path, layers: int, label: str, best: pd.DataFrame) -> list[dict]:
    sd = ScreenDir(path)
    rows = sd.read_results()
    refs = sd.read_references()
    rows["round"] = rows["build"].map(sweep_round)
    material = get_material(refs["material"])
    template = build_slab(material.name, size=(2, 2), layers=layers)
    perms = site_permutations(template)
    ligands = [resolve_ligand(name) for name in refs["mu_LX_eV"]]
    n_values = sorted(int(n) for n in rows["n"].unique())
    out = []
    for k in range(int(rows["round"].max()) + 1):
        sub = rows[rows["round"] <= k]
        keep = [c for c in sub.columns if c not in ("is_min", "G_eV", "gamma_J_m2", "dG_eV")]
        res = stage_result(0, sub[keep].to_dict("records"), refs, material, refs["calculator"],
                           ligands, n_values, perms, StageSpec().diagnostics_tol_eV)
        s = score_table(res.table, records_system_key(res.table, material.name, refs["calculator"]), best)
        out.append({"run": label, "sweeps": k, **{c: s[c] for c in (
            "n_pairs", "success_0.05", "success_0.1", "max_excess_eV", "max_face_eq_eV", "n_flagged")},
            "relaxations": len(sub), "force_calls": int(sub["n_steps"].fillna(0).sum()),
            "task_s": round(float(sub["wall_s"].fillna(0).sum())),
            "wall_est_s": round(estimated_wall_s(sub))})
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--label", action="append", help="one per DIR (default: the path)")
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    best = read_best_known(HERE / "best_known.csv")
    labels = a.label or [str(d) for d in a.dirs]
    rows = [r for d, lab in zip(a.dirs, labels, strict=True) for r in prefix_scores(d, a.layers, lab, best)]
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    if a.out:
        df.to_csv(a.out, index=False, float_format="%.4f")


if __name__ == "__main__":
    main()
