"""``surfchem campaign run|status|results|plot SPEC.toml``: declarative screening campaigns."""

from __future__ import annotations

import argparse

from surfchem.cli._common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``surfchem campaign`` to the CLI.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``surfchem`` subparsers.
    """
    p = sub.add_parser("campaign", help="run and inspect campaigns declared in TOML",
                       description="Campaigns: a TOML spec (see calculations/*.toml) run on Parsl, "
                       "results in an ASE database, content-hash caching, resume after a kill.")
    cs = p.add_subparsers(dest="campaign_command", metavar="ACTION")
    cs.required = True
    r = cs.add_parser("run", help="run (or resume) a campaign, with a progress bar")
    r.add_argument("spec", help="campaign TOML file")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--json", action="store_true", help="print counts and N_min as JSON")
    r.set_defaults(func=run_run)
    s = cs.add_parser("status", help="count done/failed/pending tasks without running anything")
    s.add_argument("spec")
    s.add_argument("--json", action="store_true", help="keys: total, done, failed, pending")
    s.set_defaults(func=run_status)
    q = cs.add_parser("results", help="write the results table of the finished tasks")
    q.add_argument("spec")
    q.add_argument("--csv", required=True, help="output CSV path")
    q.set_defaults(func=run_results)
    g = cs.add_parser("plot", help="plot gamma(N), dG(N) of the finished tasks")
    g.add_argument("spec")
    g.add_argument("--out", required=True, help="output directory")
    g.set_defaults(func=run_plot)


def _status_dict(res) -> dict:
    c = res.counts
    return {"total": c["total"], "done": c["done"], "failed": c["failed"], "rejected": c.get("rejected", 0),
            "pending": c["pending"], "failures": res.failures, "n_min": res.n_min if res.stages else {},
            "missing": res.missing, "complete": res.complete}


def report_problems(res) -> int:
    """Print failures and missing (ligand, N) on stderr.

    Parameters
    ----------
    res : surfchem.campaign.results.CampaignResult
        A finished (or partial) run.

    Returns
    -------
    int
        1 if there are failures or missing rows, else 0 (the exit code).
    """
    import sys

    for f in res.failures:
        print(f"error: {f['kind']} failed: {f.get('ligand') or ''} n={f.get('n')}: {f['error']}", file=sys.stderr)
    for lig, ns in res.missing.items():
        print(f"error: {lig}: no valid minimum for N = {', '.join(map(str, ns))}; N_min undetermined "
              f"(see {res.out / 'campaign.log'} and the rejected rows of results.csv)", file=sys.stderr)
    return 1 if res.failures or res.missing or not res.stages else 0


def draw_coverage(res) -> None:
    """Fig. 1c,d of a finished run (``OUT/fig1.png``/``.pdf``); its path goes into ``res.files``.

    Parameters
    ----------
    res : surfchem.campaign.results.CampaignResult
        A finished (or partial) run; nothing is drawn without a summary.
    """
    from surfchem.plot.coverage import plot_coverage

    if res.stages and len(res.summary):  # nothing to plot when only references/bare slab finished
        paths = plot_coverage(res.summary, res.out / "fig1", table=res.table)
        res.files["figure"] = str(paths[0])


def run_run(args: argparse.Namespace) -> int:
    """Run ``surfchem campaign run`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem campaign run --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from surfchem.campaign.run import run_campaign
    from surfchem.campaign.spec import load_spec

    spec = load_spec(args.spec)
    res = run_campaign(spec, progress=not args.no_progress)
    draw_coverage(res)
    info = {**_status_dict(res), "wall_s": res.wall_s, "files": res.files, "counts": res.counts}
    if args.json:
        print_json(info)
    else:
        print(f"{spec.name}: {info['done']}/{info['total']} done, {info['failed']} failed, "
              f"{info['rejected']} rejected, {info['pending']} pending in {res.wall_s:.0f} s; "
              f"N_min {info['n_min']}")
    return report_problems(res)


def run_status(args: argparse.Namespace) -> int:
    """Run ``surfchem campaign status`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem campaign status --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from surfchem.campaign.run import run_campaign
    from surfchem.campaign.spec import load_spec

    res = run_campaign(load_spec(args.spec), progress=False, dry=True)
    info = _status_dict(res)
    if args.json:
        print_json(info)
    else:
        print(f"total {info['total']}  done {info['done']}  failed {info['failed']}  pending {info['pending']}")
    return 0


def _dry(spec_path: str):
    from surfchem.campaign.run import run_campaign
    from surfchem.campaign.spec import load_spec
    from surfchem.errors import InputError

    res = run_campaign(load_spec(spec_path), progress=False, dry=True)
    if not res.stages:
        raise InputError(f"campaign {spec_path!r} has no finished results yet: run it first")
    return res


def run_results(args: argparse.Namespace) -> int:
    """Run ``surfchem campaign results`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem campaign results --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    import pandas as pd

    from surfchem.core.screendir import results_columns

    res = _dry(args.spec)
    table = pd.concat([s.table for s in res.stages], ignore_index=True)
    table[results_columns(table.columns)].to_csv(args.csv, index=False)
    print(f"wrote {len(table)} rows to {args.csv}")
    return 0


def run_plot(args: argparse.Namespace) -> int:
    """Run ``surfchem campaign plot`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem campaign plot --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from pathlib import Path

    from surfchem.plot.coverage import plot_coverage

    res = _dry(args.spec)
    paths = plot_coverage(res.summary, Path(args.out) / "fig1", table=res.table)
    print(f"wrote {paths[0]} and {paths[1]}")
    return 0
