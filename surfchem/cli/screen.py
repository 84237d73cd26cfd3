"""``surfchem screen``: the ligand-coverage screen (paper Fig. 1c,d) end to end."""

from __future__ import annotations

import argparse

from surfchem.cli._common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``surfchem screen`` to the CLI.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``surfchem`` subparsers.
    """
    from surfchem.calculators import DEFAULT_PRESET, PRESETS
    from surfchem.campaign.defaults import SCREEN_SEARCH as D

    p = sub.add_parser(
        "screen", help="relax N = 0..8 ligand slabs, report gamma(N), dG(N) and plot them",
        description="Build, relax and analyse ligand-capped slabs for each ligand and coverage. "
        "Results are cached by content hash in OUT/results.db: rerunning resumes.",
    )
    p.add_argument("--ligands", default="DDA2,PEA",
                   help="comma-separated names or SMILES (default DDA2,PEA, the README main job; the paper's "
                        "DDA is DDA, DDA<n> truncates both tails; C<n>A = primary n-alkylammonium)")
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
                        "1 without --sweeps = one relaxation per slab, a fast preview flagged single_start)")
    p.add_argument("--patience", type=int, default=D["patience"], help="search stop rule: starts without improvement")
    p.add_argument("--search-tol", type=float, default=D["tol_eV"], help="search stop rule: improvement, eV")
    p.add_argument("--anneal-steps", type=int, default=D["anneal_steps"],
                   help="Langevin MD steps before each perturbed start")
    p.add_argument("--sweeps", type=int, default=None,
                   help="at most this many rounds of shrink-from-N+1 and mirror/splice relaxations "
                        f"(default {D['sweeps']}; with --starts 1 the default is 0, the preview; "
                        "--starts 1 --sweeps 3 = one start per slab, then sweeps)")
    p.add_argument("--regrow", action="store_true", help="sweeps also regrow N from N-1 (off by default)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel tasks (Parsl threads; default: one per ligand, at most the CPU count)")
    p.add_argument("--db", default=None, help="database path or postgresql:// URL (default OUT/results.db)")
    p.add_argument("--out", default="results/screen", help="output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--anchor", default=None, metavar="DFT",
                   help="per-ligand DFT anchors with this preset (e.g. gpaw-pbe-d3-pw): the exchange "
                        "on a small slab, DFT minus the screen's ML; adds anchored gamma/dG columns "
                        "(docs/anchors.md)")
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


def search_settings(args: argparse.Namespace) -> dict | None:
    """The screen's search settings from the options: ``None`` (the single-relaxation preview) for
    ``--starts 1`` without sweeps, else starts and sweep rounds as given (sweeps need no extra
    starts: ``--starts 1 --sweeps 3`` runs one start per slab and three sweep rounds).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``surfchem screen`` options.

    Returns
    -------
    dict or None
        Search settings (:class:`surfchem.campaign.spec_compute.SearchSpec` keys), or None for the preview.
    """
    from surfchem.campaign.defaults import SCREEN_SEARCH as D

    sweeps = args.sweeps if args.sweeps is not None else (0 if args.starts <= 1 else D["sweeps"])
    if sweeps < 0 or args.starts < 1:
        from surfchem.errors import InputError

        raise InputError(f"--starts must be >= 1 and --sweeps >= 0, got {args.starts} and {sweeps}")
    if args.starts <= 1 and sweeps == 0:
        return None
    return {"n_starts": args.starts, "patience": args.patience, "tol_eV": args.search_tol,
            "anneal_steps": args.anneal_steps, "sweeps": sweeps, "regrow": args.regrow}


def run_screen(args: argparse.Namespace) -> int:
    """Run ``surfchem screen`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem screen --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from surfchem.campaign.screen import screen
    from surfchem.cli.campaign import draw_coverage, report_problems

    arr = int(args.arrangements) if args.arrangements.isdigit() else args.arrangements
    res = screen(
        ligands=[s.strip() for s in args.ligands.split(",") if s.strip()],
        n=args.n, calculator=args.calculator, material=args.material, out=args.out,
        arrangements=arr, fmax=args.fmax, steps=args.steps, optimizer=args.optimizer,
        fix=args.fix, layers=args.layers, vacuum=args.vacuum, mu_LX_eV=_mu(args.mu),
        db=args.db, progress=not args.no_progress, workers=args.workers,
        search=search_settings(args),
        anchor=args.anchor,
    )
    nm_anchored = res.n_min_anchored
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
            "anchors": [a.as_dict() for a in res.anchors.values()],
            "n_min_anchored": nm_anchored,
        })
    else:
        print(res.summary.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        for a in res.anchors.values():
            print(f"anchor {a.ligand}: delta = {a.delta_eV:+.3f} eV (E_exch {a.exchange_dft_eV:.3f} with {a.dft}, "
                  f"{a.exchange_ml_eV:.3f} with {a.ml}, {a.system})")
        if nm_anchored is not None:
            print(f"N_min anchored: {nm_anchored}")
        print(f"N_min: {res.n_min}; wrote {res.files.get('results')} and {res.files.get('figure')} "
              f"in {res.wall_s:.0f} s")
    return report_problems(res)
