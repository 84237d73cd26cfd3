"""The benchmark of minima: run search configurations, keep the best-known minima, score each.

    python benchmarks/minima/run.py run --set cheap [--configs preview,s1w3,default] [--workers 2]
    python benchmarks/minima/run.py update DIR [DIR ...] [--rename DDA6=C6A] [--label NAME]
    python benchmarks/minima/run.py score DIR [DIR ...] [--out TABLE.csv]

``run`` screens every system of a set with each configuration into ``runs/<set>/<config>/``
(cached by content hash like every screen: a rerun computes only what is missing), lowers
``best_known.csv`` with every run's physical minima, then scores every configuration against it
and writes ``results_<set>.csv``. See README.md in this folder for the sets, the configurations
and the measured table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

from surfchem.campaign.screen import SCREEN_SEARCH, screen
from surfchem.trust.benchmark import score, update_best_known

HERE = Path(__file__).resolve().parent
BEST_KNOWN = HERE / "best_known.csv"

#: systems: the cheap set runs in minutes; fig1 is the README main job's slab (5 layers)
SETS = {
    "cheap": {"ligands": ["MA", "IPA"], "layers": 3, "n": "0-8"},
    "fig1": {"ligands": ["DDA2", "PEA"], "layers": 5, "n": "0-8"},
}
#: search configurations (``screen(search=...)``); ``default`` is what ``surfchem screen`` runs
CONFIGS = {
    "preview": None,
    "s1w0": {"n_starts": 1, "sweeps": 0},
    "s1w3": {"n_starts": 1, "sweeps": 3},
    "s3w0": {"n_starts": 3, "sweeps": 0},
    "s3w1": {"n_starts": 3, "sweeps": 1},
    "default": dict(SCREEN_SEARCH),
}


def run_set(name: str, configs: list[str], workers: int | None) -> pd.DataFrame:
    spec = SETS[name]
    dirs = []
    for cfg in configs:
        out = HERE / "runs" / name / cfg
        t0 = time.perf_counter()
        screen(ligands=spec["ligands"], n=spec["n"], layers=spec["layers"], out=out,
               search=CONFIGS[cfg], workers=workers, progress=False)
        print(f"{name}/{cfg}: {time.perf_counter() - t0:.0f} s", flush=True)
        dirs.append(out)
    return score_dirs(dirs, update=True)


def score_dirs(dirs: list[Path], update: bool, rename: dict[str, str] | None = None,
               label: str | None = None) -> pd.DataFrame:
    if update:
        for d in dirs:
            for u in update_best_known(BEST_KNOWN, d, label=label or f"{Path(d).parent.name}/{Path(d).name}",
                                       rename=rename):
                old = "new" if u.old_eV is None else f"{u.old_eV:.4f}"
                print(f"best known {u.ligand} N={u.n}: {old} -> {u.new_eV:.4f} eV ({d})")
    rows = []
    for d in dirs:
        s = score(d, BEST_KNOWN, rename=rename)
        s.pop("excess_eV")
        s["results"] = os.path.relpath(d)  # no absolute machine paths in the written table
        rows.append({"config": Path(d).name, **s})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--set", choices=sorted(SETS), default="cheap")
    r.add_argument("--configs", default=",".join(CONFIGS))
    r.add_argument("--workers", type=int, default=None)
    for verb in ("update", "score"):
        p = sub.add_parser(verb)
        p.add_argument("dirs", nargs="+")
        p.add_argument("--rename", action="append", default=[], help="OLD=NEW ligand name")
        p.add_argument("--label", default=None)
        p.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    if a.cmd == "run":
        bad = [c for c in a.configs.split(",") if c not in CONFIGS]
        if bad:
            ap.error(f"unknown configs {bad}; known: {sorted(CONFIGS)}")
        table = run_set(a.set, a.configs.split(","), a.workers)
        out = HERE / f"results_{a.set}.csv"
    else:
        rename = dict(x.split("=", 1) for x in a.rename)
        table = score_dirs([Path(d) for d in a.dirs], update=a.cmd == "update", rename=rename, label=a.label)
        out = Path(a.out) if a.out else None
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if out is not None:
        table.to_csv(out, index=False)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
