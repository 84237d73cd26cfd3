"""``surfchem validate``: the fast calculators against the GPAW reference (tables + plot)."""

from __future__ import annotations

import argparse
import sys

from surfchem.cli._common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``surfchem validate`` to the CLI.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``surfchem`` subparsers.
    """
    p = sub.add_parser(
        "validate", help="validate calculators against GPAW: a0, gamma, exchange, stacking",
        description="Compute bulk a0 (CsBr, CsPbBr3, CsPbI3), the bare-slab surface energy vs "
        "layers, ligand exchange energies and the PEA-PEA stacking energy with each calculator, "
        "and the parity table against GPAW PBE(+D3). Energies are cached in OUT/validation.db, "
        "GPAW logs and .gpw files go to OUT/gpaw/. Calculator names: any preset, or gpaw-pw, "
        "gpaw-lcao (their D3 twins are added for free).",
    )
    p.add_argument("--calculators", default="chgnet-d3,gfn1,gpaw-lcao",
                   help="comma-separated calculators (default chgnet-d3,gfn1,gpaw-lcao)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="the quick profile (< 15 min on 2 cores; reduced GPAW settings)")
    mode.add_argument("--profile", default=None, choices=["quick", "here", "cluster"],
                      help="quick | here (~1 h on 2 cores) | cluster (full size)")
    mode.add_argument("--spec", default=None, help="a calculations/validation_*.toml spec")
    p.add_argument("--parts", default="bulk,surface,binding,stacking",
                   help="subset of bulk,surface,binding,stacking")
    p.add_argument("--materials", default=None,
                   help="comma-separated bulk materials (default: the profile's)")
    p.add_argument("--out", default=None, help="output directory (default analysis/validation/<profile>)")
    p.add_argument("--geometry-calculator", default="chgnet-d3",
                   help="preset relaxing the exchange/stacking geometries (default chgnet-d3)")
    p.add_argument("--convergence", action="store_true",
                   help="also run the GPAW PW cutoff/k-point convergence scan of CsPbBr3")
    p.add_argument("--sbatch", action="store_true",
                   help="with --spec: print the Slurm batch script of the spec and exit")
    p.add_argument("--json", action="store_true", help="print JSON rows (energy_eV, a0_A)")
    p.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    """Run ``surfchem validate`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem validate --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from ase.parallel import world

    from surfchem.plot.validate import plot_validation
    from surfchem.validate.suite import cli_rows, run_validation

    calcs = [c for c in args.calculators.split(",") if c.strip()]
    profile = "quick" if args.quick else (args.profile or "quick")
    overrides = None
    if args.spec:
        from surfchem.validate.spec import load_spec

        spec = load_spec(args.spec)
        if args.sbatch:
            from surfchem.validate.spec import sbatch_script

            print(sbatch_script(spec, args.spec))
            return 0
        profile, calcs, overrides = spec["profile"], spec["calculators"], spec["gpaw"]
        out = args.out or spec.get("out")
        args.geometry_calculator = spec["geometry_calculator"]
        args.parts = ",".join(spec["parts"])
    else:
        out = args.out
    out = out or f"analysis/validation/{profile}"
    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())

    def log(msg: str) -> None:
        print(f"[validate] {msg}", file=sys.stderr, flush=True)

    res = run_validation(calcs, profile, out, gpaw_overrides=overrides,
                         geometry_calculator=args.geometry_calculator, parts=parts, log=log,
                         materials=tuple(args.materials.split(",")) if args.materials else None)
    if world.rank == 0 and (res.parity or res.bulk):  # rank 0 alone writes (as the tables)
        plot_validation(res, out)
    if args.convergence:
        from surfchem.validate.convergence import convergence_scan
        from surfchem.validate.engine import Evaluator

        convergence_scan("CsPbBr3", Evaluator(out), out=out)
    if args.json:
        print_json({"profile": profile, "calculators": res.calculators, "out": out,
                    "wall_s": res.wall_s, "rows": cli_rows(res), "summary": res.summary})
        return 0
    print(f"validation profile {profile}: {len(res.calculators)} calculators, "
          f"{res.wall_s:.0f} s, tables in {out}")
    print(f"{'system':28s} {'calculator':18s} {'energy_eV':>12s} {'a0_A':>8s}")
    for r in cli_rows(res):
        e = r.get("energy_eV")
        a = r.get("a0_A")
        print(f"{r['system']:28s} {r['calculator']:18s} "
              f"{(f'{e:12.4f}' if e is not None else 'error'):>12s} "
              f"{(f'{a:8.4f}' if a is not None else ''):>8s}")
    print()
    print(f"{'calculator':18s} {'quantity':20s} {'n':>3s} {'MAE':>9s} {'max':>9s} {'MAE meV/at':>11s}")
    for s in res.summary:
        print(f"{s['calculator']:18s} {s['quantity']:20s} {s['n']:3d} {s['mae']:9.4f} "
              f"{s['max_abs_error']:9.4f} {s['mae_meV_atom']:11.2f}")
    return 0
