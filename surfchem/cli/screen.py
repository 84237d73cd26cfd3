"""``surfchem screen``: the ligand-coverage screen (paper Fig. 1c,d) end to end."""

from __future__ import annotations

import argparse

from surfchem.cli._common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    from surfchem.calculators import DEFAULT_PRESET, PRESETS
    from surfchem.campaign.defaults import SCREEN_SEARCH as D

    p = sub.add_parser(
        "screen", help="relax N = 0..8 ligand slabs, report gamma(N), dG(N) and plot them",
        description="Build, relax and analyse ligand-capped slabs for each ligand and coverage. "
        "Results are cached by content hash in OUT/results.db: rerunning resumes.",
    )
    p.add_argument("--ligands", default="C6A,PEA",
                   help="comma-separated names or SMILES (default C6A,PEA; C6A = hexylammonium; the paper's DDA is DDA, DDA<n> truncates both tails)")
    p.add_argument("--n", default="0-8", help="coverages, e.g. 0-8 or 0,4,8 (default 0-8)")
    p.add_argument("--calculator", default=DEFAULT_PRESET,
                   help=f"preset: {', '.join(PRESETS)} (default {DEFAULT_PRESET})")
    p.add_argument("--material", default="CsPbBr3")
    p.add_argument("--arrangements", default="grow",
                   help="grow (default: N grown from relaxed N-1), first, all, or an int k")
    p.add_argument("--fmax", type=float, default=0.05, help="force criterion, eV/Å (default 0.05)")
    p.add_argument("--steps", type=int, default=300, help="max optimiser steps (default 300)")
    p.add_argument("--optimizer", default="BFGS", help="BFGS (default), FIRE, LBFGS, BFGSLineSearch")
    p.add_argument("--fix", default="none", choices=["none", "center", "bottom"],
                   help="freeze slab layers during relaxation")
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--vacuum", type=float, default=15.0, help="vacuum between ligand tips, Å")
    p.add_argument("--mu", action="append", default=[], metavar="LIGAND=EV",
                   help="user chemical potential of L-HX in eV (instead of the ion pair); repeatable")
    p.add_argument("--starts", type=int, default=D["n_starts"],
                   help=f"minimum search: starts per ligand slab, then consistency sweeps (default {D['n_starts']}; "
                        "1 = one relaxation per slab, no search, a fast preview flagged single_start)")
    p.add_argument("--patience", type=int, default=D["patience"], help="search stop rule: starts without improvement")
    p.add_argument("--search-tol", type=float, default=D["tol_eV"], help="search stop rule: improvement, eV")
    p.add_argument("--anneal-steps", type=int, default=D["anneal_steps"],
                   help="Langevin MD steps before each perturbed start")
    p.add_argument("--sweeps", type=int, default=D["sweeps"],
                   help="with --starts > 1: at most this many rounds of shrink-from-N+1 and mirror/splice "
                        f"relaxations (default {D['sweeps']})")
    p.add_argument("--regrow", action="store_true", help="sweeps also regrow N from N-1 (off by default)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel tasks (Parsl threads; default: one per ligand, at most the CPU count)")
    p.add_argument("--db", default=None, help="database path or postgresql:// URL (default OUT/results.db)")
    p.add_argument("--out", default="results/screen", help="output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run_screen)


def _mu(items: list[str]) -> dict[str, float]:
    from surfchem.errors import InputError

    out = {}
    for item in items:
        try:
            k, v = item.split("=", 1)
            out[k.strip()] = float(v)
        except ValueError:
            raise InputError(f"--mu must look like PEA=-40.1 (eV), got {item!r}") from None
    return out


def run_screen(args: argparse.Namespace) -> int:
    from surfchem.campaign.screen import screen
    from surfchem.cli.campaign import draw_coverage, report_problems

    arr = int(args.arrangements) if args.arrangements.isdigit() else args.arrangements
    res = screen(
        ligands=[s.strip() for s in args.ligands.split(",") if s.strip()],
        n=args.n, calculator=args.calculator, material=args.material, out=args.out,
        arrangements=arr, fmax=args.fmax, steps=args.steps, optimizer=args.optimizer,
        fix=args.fix, layers=args.layers, vacuum=args.vacuum, mu_LX_eV=_mu(args.mu),
        db=args.db, progress=not args.no_progress, workers=args.workers,
        search=None if args.starts <= 1 else {"n_starts": args.starts, "patience": args.patience,
                                              "tol_eV": args.search_tol, "anneal_steps": args.anneal_steps,
                                              "sweeps": args.sweeps, "regrow": args.regrow},
    )
    draw_coverage(res)
    if args.json:
        print_json({
            "n_min": res.n_min,
            "complete": res.complete,
            "missing": res.missing,
            "failures": res.failures,
            "counts": res.counts,
            "wall_s": res.wall_s,
            "files": res.files,
            "references": res.references.as_dict(),
            "summary": res.summary.to_dict(orient="records"),
        })
    else:
        print(res.summary.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        print(f"N_min: {res.n_min}; wrote {res.files.get('results')} and {res.files.get('figure')} "
              f"in {res.wall_s:.0f} s")
    return report_problems(res)
