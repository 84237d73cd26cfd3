"""``surfchem thermo``: free energies G(N, T) of a finished screen with a chosen entropy model."""

from __future__ import annotations

import argparse

from surfchem.cli._common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``surfchem thermo`` to the CLI.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The ``surfchem`` subparsers.
    """
    p = sub.add_parser(
        "thermo", help="add entropy / vibrational free energies to a screen: gamma(N), dG(N) at T",
        description="Read RESULTS (a screen output directory with results.csv, references.json, "
        "results.db or structures/), add F_vib(T) - T S_conf relative to the free ligand (ion pair) "
        "and report gamma(N), dG(N) and N_min. Nothing is written into RESULTS.",
    )
    p.add_argument("results", help="screen/campaign output directory")
    p.add_argument("--ligands", default=None, help="comma-separated subset of the screen's ligands (default all)")
    p.add_argument("--entropy", default="rotor",
                   help="none | rotor | conformers | harmonic | qrrho, or vib+conf such as "
                   "qrrho+rotor (default rotor)")
    p.add_argument("--T", type=float, default=298.15, help="temperature, K (default 298.15)")
    p.add_argument("--freezing", default="full", choices=["full", "neighbours"],
                   help="bound ligands fully frozen (default) or by nearest-neighbour count")
    p.add_argument("--freeze-isolated", type=float, default=0.0,
                   help="frozen fraction of a ligand with no neighbours (freezing=neighbours; default 0)")
    p.add_argument("--configurational", default="none", choices=["none", "multiplicity", "boltzmann"],
                   help="configurational entropy of arrangements (default none)")
    p.add_argument("--include-other-rotors", action="store_true",
                   help="also count sp2-sp3 torsions (R ln 2 each) in the rotor model")
    p.add_argument("--conformers", type=int, default=300, help="conformers embedded (default 300)")
    p.add_argument("--conformer-energies", default="mmff", choices=["mmff", "gfn1", "gfn2"])
    p.add_argument("--calculator", default=None,
                   help="preset for the harmonic models (default: the screen's, from references.json)")
    p.add_argument("--cache", default=None,
                   help="force cache directory of the harmonic models (default ~/.cache/surfchem/vib)")
    p.add_argument("--rows", default="min", choices=["min", "all"],
                   help="harmonic models: lowest-energy row per (ligand, N) only (default) or all rows")
    p.add_argument("--free-state", default="frozen", choices=["frozen", "gas"],
                   help="free ion pair without (default) or with ideal-gas translations + rotations")
    p.add_argument("--pressure", type=float, default=1.0e5, help="ideal-gas pressure for --free-state gas, Pa")
    p.add_argument("--T-sweep", default=None, metavar="T0:T1:STEP",
                   help="also report N_min(T), e.g. 77:400:25 or 77,298,400")
    p.add_argument("--mu-range", default="auto", metavar="LO:HI:STEP",
                   help="dmu_LX grid of the stability-window plot, eV (default: all window edges +- 0.5)")
    p.add_argument("--penalty-ligands", default=None,
                   help="ligands of the entropy-penalty bar chart (default: the screen's), e.g. DDA,DDA6,PEA,OAm")
    p.add_argument("--anchored", action="store_true",
                   help="use the screen's per-ligand DFT anchors (anchors.json, from `surfchem screen "
                        "--anchor`): mu_LX of each ligand moved by its anchor, everything else as given")
    p.add_argument("--out", default=None, help="write thermo.csv, thermo_summary.csv and figures here")
    p.add_argument("--plot", action="store_true", help="with --out: gamma/dG, stability and penalty figures")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_thermo)


def run_thermo(args: argparse.Namespace) -> int:
    """Run ``surfchem thermo`` with the parsed options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options (``surfchem thermo --help``).

    Returns
    -------
    int
        Exit code (0 = success).
    """
    from pathlib import Path

    from surfchem.core.screendir import ScreenDir
    from surfchem.errors import InputError
    from surfchem.thermo import n_min
    from surfchem.thermo.models import (
        CONF_MODELS,
        Memo,
        ThermoSettings,
        entropy_penalties,
        parse_model,
        thermo_summary,
        thermo_table,
    )
    from surfchem.thermo.results import load_screen
    from surfchem.thermo.sweeps import (
        contrast_windows,
        gamma_vs_mu,
        parse_range,
        stability_windows,
        temperature_sweep,
    )

    data = load_screen(args.results)
    if args.ligands:
        keep = [x.strip() for x in args.ligands.split(",") if x.strip()]
        unknown = sorted(set(keep) - set(data.records["ligand"]))
        if unknown:
            raise InputError(f"--ligands {unknown} not in {args.results}; it has "
                             f"{sorted(set(data.records['ligand']) - {''})}")
        data.records = data.records[data.records["ligand"].isin([*keep, ""])].reset_index(drop=True)
    if args.anchored:
        if not data.anchors:
            raise InputError(f"--anchored: {args.results} has no anchors.json; run the screen with "
                             "--anchor gpaw-pbe-d3-pw (or [anchor] in a campaign spec)")
        from surfchem.thermo.anchors import anchored

        data.refs = anchored(data.refs, data.anchors)
    settings = ThermoSettings(
        model=args.entropy, T_K=args.T, freezing=args.freezing, freeze_isolated=args.freeze_isolated,
        configurational=args.configurational, include_other_rotors=args.include_other_rotors,
        n_conformers=args.conformers, conformer_energies=args.conformer_energies,
        calculator=args.calculator or data.refs.calculator or None, cache_dir=args.cache, rows=args.rows,
        free_state=args.free_state, pressure_Pa=args.pressure,
    )
    settings.validate()
    if args.plot and not args.out:
        raise InputError("--plot needs --out DIR (nothing is written into RESULTS)")
    memo = Memo()
    kw = dict(structure=data.structure if data.has_structures else None,
              free_reference=data.free_reference, memo=memo)
    table = thermo_table(data.records, data.refs, settings, **kw)
    summ = thermo_summary(table)
    base = thermo_summary(thermo_table(data.records, data.refs, ThermoSettings(model="none", T_K=args.T)))
    windows = stability_windows(table)
    contrast = contrast_windows(windows)
    ligands = sorted(set(summ.loc[summ["n"] > 0, "ligand"]))
    conf, _ = parse_model(settings.model)
    penalties = entropy_penalties(ligands, args.T, models=[conf] if conf else ["rotor"],
                                  n_conformers=args.conformers, conformer_energies=args.conformer_energies,
                                  include_other_rotors=args.include_other_rotors)
    tsweep = None
    if args.T_sweep:
        _, tsweep = temperature_sweep(data.records, data.refs, parse_range(args.T_sweep), settings, **kw)
    files = {}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        thermo_csv, thermo_summary_csv = ScreenDir(out).write_thermo(table, summ)
        windows.to_csv(out / "stability_windows.csv", index=False)
        contrast.to_csv(out / "contrast_windows.csv", index=False)
        files = {"table": str(thermo_csv), "summary": str(thermo_summary_csv)}
        if tsweep is not None:
            tsweep.to_csv(out / "n_min_vs_T.csv", index=False)
        if args.plot:
            from surfchem.plot.thermo import (
                plot_entropy_penalty,
                plot_stability_windows,
                plot_thermo_coverage,
            )

            files["coverage_figure"] = str(plot_thermo_coverage(summ, out / "thermo_coverage", base)[0])
            curves = gamma_vs_mu(table, _mu_grid(args.mu_range, windows))
            files["stability_figure"] = str(plot_stability_windows(curves, windows, out / "stability_windows")[0])
            pl = [x.strip() for x in args.penalty_ligands.split(",")] if args.penalty_ligands else ligands
            pen = entropy_penalties(pl, args.T, models=CONF_MODELS, n_conformers=args.conformers,
                                    conformer_energies=args.conformer_energies)
            files["penalty_figure"] = str(plot_entropy_penalty(pen, out / "entropy_penalty")[0])
    result = {
        "results": str(args.results),
        "settings": settings.__dict__,
        "references": data.refs.as_dict(),
        "n_min": n_min(summ),
        "n_min_energy_only": n_min(base),
        "rows": summ.to_dict(orient="records"),
        "entropy_penalty": penalties.to_dict(orient="records"),
        "stability_windows": windows.to_dict(orient="records"),
        "contrast_windows": contrast.to_dict(orient="records"),
        "files": files,
    }
    if tsweep is not None:
        result["n_min_vs_T"] = tsweep.to_dict(orient="records")
    if args.json:
        print_json(result)
    else:
        cols = [c for c in ("ligand", "n", "energy_eV", "F_vib_eV", "TS_conf_eV", "G_transrot_eV", "G_eV",
                        "gamma_J_m2", "dG_eV")
                if c in summ]
        print(f"entropy model {settings.model} at {settings.T_K:g} K (corrections vs the free ion pair; eV, J/m2)")
        print(summ[cols].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        print(f"N_min: {result['n_min']} (energy only: {result['n_min_energy_only']})")
        print("stability windows (dmu_LX, eV): " + "; ".join(
            f"{w.ligand} N={w.n}: [{w.dmu_lo_eV:.3f}, {w.dmu_hi_eV:.3f})" for w in windows.itertuples()))
        for c in contrast.itertuples():
            print(f"N_min({c.ligand_below}) < full while N_min({c.ligand_full}) = full for dmu_LX in "
                  f"[{c.dmu_lo_eV:.3f}, {c.dmu_hi_eV:.3f}) eV (there {c.ligand_below} takes N = {c.n_below})")
        if len(ligands) > 1 and contrast.empty:
            print("no dmu_LX at which one ligand stops short of full coverage while another reaches it")
        if tsweep is not None:
            for lig, g in tsweep.groupby("ligand"):
                print(f"N_min(T) {lig}: " + ", ".join(f"{t:g} K: {k}" for t, k in zip(g["T_K"], g["n_min"], strict=True)))
    return 0


def _mu_grid(spec: str, windows):
    import numpy as np

    from surfchem.thermo.sweeps import parse_range

    if spec != "auto":
        return parse_range(spec)
    edges = np.r_[windows["dmu_lo_eV"].to_numpy(float), windows["dmu_hi_eV"].to_numpy(float), 0.0]
    edges = edges[np.isfinite(edges)]
    return np.linspace(edges.min() - 0.5, edges.max() + 0.5, 400)
