"""``surfchem link``: join a screen/campaign output with measured single-dot statistics.

    surfchem link --results OUT --experiments analysis/on_fractions.csv --out link/
    surfchem link --results OUT --experiments batch.csv --experiments-ligand PEA --alias DDA6=DDA
    surfchem link --paper-table analysis/on_fractions.csv     # write the paper's table

Writes joined.csv, correlations.csv, candidates.csv, figures and a self-contained report.html;
prints a JSON summary (correlations, caveat, ranking, files).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from surfchem.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``surfchem link`` to the CLI.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``surfchem`` subparsers.
    """
    p = sub.add_parser(
        "link", help="join computed descriptors with measured ON fractions; correlations, ranking, report",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("inputs")
    src.add_argument("--results", metavar="DIR", nargs="+",
                     help="screen/campaign output directory (results.csv, summary.csv, references.json); "
                          "several are combined when their references agree")
    src.add_argument("--campaign", metavar="TOML",
                     help="campaign spec; its output directory is used as --results")
    src.add_argument("--experiments", default="paper", metavar="CSV",
                     help="measured table (CSV with ligand, on_fraction, ...; or a `photons batch` CSV "
                          "with --experiments-ligand); 'paper' = the paper's values (default)")
    src.add_argument("--experiments-ligand", metavar="NAME",
                     help="ligand of every row of --experiments when it has no ligand column")
    src.add_argument("--experiments-material", metavar="NAME",
                     help="material of rows without one (default CsPbBr3)")
    p.add_argument("--out", metavar="DIR", help="output directory (tables, figures, report.html)")
    p.add_argument("--alias", action="append", default=[], metavar="COMPUTED=MEASURED",
                   help="computed ligand stands for a measured one (repeatable); DDA<n> -> DDA is built in")
    p.add_argument("--select", default="primary", choices=("primary", "longest", "mean", "median"),
                   help="how several measured rows of one ligand become one (default: primary rows)")
    p.add_argument("--target", default="on_fraction",
                   choices=("on_fraction", "mandel_q", "k_on", "k_off", "g2_0"),
                   help="measured column to correlate with (default on_fraction)")
    p.add_argument("--descriptor", action="append", metavar="NAME",
                   help="restrict to these descriptors (repeatable; default all available)")
    p.add_argument("--ligands", metavar="L1,L2",
                   help="computed ligands that must have a measurement (error otherwise)")
    p.add_argument("--strict", action="store_true",
                   help="every computed ligand must be measured and vice versa (same material)")
    p.add_argument("--table", default="auto", choices=("auto", "results", "thermo"),
                   help="descriptor source in --results: thermo.csv of `surfchem thermo --out` (entropy-"
                        "corrected) or results.csv; auto = thermo.csv when present")
    p.add_argument("--n-full", type=int, default=8, help="N of full coverage (default 8)")
    p.add_argument("--temperature", type=float, default=298.15, help="K, for T S_conf (default 298.15)")
    p.add_argument("--no-plots", action="store_true", help="tables only (no figures, no report)")
    p.add_argument("--paper-table", metavar="CSV",
                   help="write the paper's measured values (with figure/section/quote) to CSV and exit")
    p.set_defaults(func=run)


def _campaign_dir(toml: str) -> Path:
    """Output directory of a campaign spec (``out``, else ``results/<name>``, relative to the cwd)."""
    try:
        from surfchem.campaign.spec import load_spec
    except ImportError:
        raise InputError(f"--campaign {toml}: this surfchem cannot read campaign specs; give the "
                         "campaign's output directory with --results DIR") from None
    from surfchem.core.screendir import RESULTS_CSV, ScreenDir

    out = Path(load_spec(toml).out_dir())
    if not ScreenDir(out).results_csv.is_file():
        raise InputError(f"campaign {toml}: its output directory {str(out)!r} has no {RESULTS_CSV} yet; "
                         f"run `surfchem campaign run {toml}` first (or give --results DIR)")
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``surfchem link`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem link --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from surfchem.cli._common import print_json

    if args.paper_table:
        from surfchem.link.paper import paper_table

        paper_table().to_csv(args.paper_table, index=False)
        print_json({"written": args.paper_table, "rows": len(paper_table())})
        return 0
    if bool(args.results) == bool(args.campaign):
        raise InputError("give exactly one of --results DIR (a screen output) or --campaign X.toml")
    results = [Path(r) for r in args.results] if args.results else _campaign_dir(args.campaign)
    from surfchem.link.join import parse_aliases
    from surfchem.link.report import link
    from surfchem.plot.link import link_figures

    ligands = [s.strip() for s in args.ligands.split(",") if s.strip()] if args.ligands else None
    res = link(results, experiments=args.experiments, out=args.out, aliases=parse_aliases(args.alias),
               select=args.select, target=args.target, descriptors=args.descriptor, ligands=ligands,
               strict=args.strict, n_full=args.n_full, T=args.temperature,
               experiments_ligand=args.experiments_ligand, experiments_material=args.experiments_material,
               figures=None if args.no_plots else link_figures,
               report=not args.no_plots, table=args.table)
    d = res.as_dict()
    d.pop("settings", None)
    d["correlations"] = [{k: c[k] for k in ("descriptor", "n", "rho", "p_scipy", "p_exact")}
                         for c in d["correlations"]]
    d["caveat"] = (res.correlations.loc[res.correlations["descriptor"] == res.best, "caveat"].iloc[0]
                   if res.best else "fewer than 3 measured ligands share a descriptor: no rank correlation")
    print_json(d)
    return 0
