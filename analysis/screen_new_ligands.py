#!/usr/bin/env python
"""Screen new ligand SMILES against the measured ones (DDA, IPA, PEA) and compare with ON fractions.

End to end on the default calculator (CHGNet + D3): one coverage screen of the measured ligands
and the candidates, then ``surfchem.link.link`` joins the computed descriptors with the paper's
ON fractions (``analysis/on_fractions.csv``), ranks the untested candidates by the descriptor
that best tracks the measurements and writes a self-contained ``report.html``.

    python analysis/screen_new_ligands.py --out results/new_ligands            # full: N = 0..8
    python analysis/screen_new_ligands.py --quick --out /tmp/new_ligands       # CI: minutes
    python analysis/screen_new_ligands.py --candidates "[NH3+]CCc1ccc(F)cc1" --out ...

Full mode: DDA truncated to C6 (``DDA6``, stands for the measured DDA), IPA, PEA and three
candidates, N = 0..8, fmax 0.05 eV/Å, five-layer slab (hours on a workstation). ``--quick``:
DDA truncated to C2, IPA, PEA and the first candidate, N = 0..1, a three-layer slab, fmax
0.25 eV/Å, 40 steps: it exercises every step of the pipeline but its numbers are not
converged and say nothing about the ligands. Rerunning reuses finished relaxations (results.db).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

#: three candidates not measured in the paper: benzylammonium, 4-fluoro-phenethylammonium,
#: 3-phenylpropylammonium (aromatic tails that could stack like PEA, of different length)
CANDIDATES = ["[NH3+]Cc1ccccc1", "[NH3+]CCc1ccc(F)cc1", "[NH3+]CCCc1ccccc1"]
#: measured ligands to compute beside them (DDA<n> stands for the measured DDA: built-in alias)
MEASURED_FULL = ["DDA6", "IPA", "PEA"]
MEASURED_QUICK = ["DDA2", "IPA", "PEA"]

FULL = {"n": "0-8", "fmax": 0.05, "steps": 300, "layers": 5}
QUICK = {"n": "0-1", "fmax": 0.25, "steps": 40, "layers": 3}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="results/new_ligands", help="output directory")
    ap.add_argument("--quick", action="store_true", help="reduced setting for CI (see above)")
    ap.add_argument("--candidates", nargs="+", help=f"candidate SMILES (default {CANDIDATES})")
    ap.add_argument("--measured", nargs="+", help="measured ligands to compute beside them")
    ap.add_argument("--experiments", default=str(Path(__file__).with_name("on_fractions.csv")),
                    help="measured table (default analysis/on_fractions.csv)")
    ap.add_argument("--calculator", default="chgnet-d3", help="calculator preset (default chgnet-d3)")
    ap.add_argument("--db", help="result database to share with other screens (cache)")
    args = ap.parse_args(argv)

    from surfchem.campaign.screen import screen
    from surfchem.link import link
    from surfchem.plot.link import link_figures

    setting = QUICK if args.quick else FULL
    candidates = args.candidates or (CANDIDATES[:1] if args.quick else CANDIDATES)
    measured = args.measured or (MEASURED_QUICK if args.quick else MEASURED_FULL)
    out = Path(args.out)
    t0 = time.perf_counter()
    import contextlib

    with contextlib.redirect_stdout(sys.stderr):  # stdout is the JSON summary (CHGNet prints on load)
        screen(ligands=[*measured, *candidates], out=out / "screen", calculator=args.calculator,
               n=setting["n"], fmax=setting["fmax"], steps=setting["steps"], layers=setting["layers"],
               db=args.db, progress=sys.stderr.isatty(), search=None if args.quick else "default")
    t_screen = time.perf_counter() - t0
    res = link(out / "screen", experiments=args.experiments, out=out / "link", figures=link_figures,
               title=f"New ligands vs DDA/IPA/PEA ({'quick, unconverged' if args.quick else 'full'})")
    summary = {
        "mode": "quick" if args.quick else "full", "setting": setting,
        "ligands": [*measured, *candidates], "screen_s": round(t_screen, 1),
        "link_s": round(time.perf_counter() - t0 - t_screen, 1),
        "aliases": res.joined.alias_notes,
        "correlations": res.correlations[["descriptor", "n", "rho", "p_exact"]].to_dict("records"),
        "best_descriptor": res.best, "ranking": res.ranking_text,
        "candidates": res.candidates.to_dict("records"),
        "report": res.files.get("report"), "comparison_figure": res.files.get("comparison"),
    }
    from surfchem.link.report import jsonable

    print(json.dumps(jsonable(summary), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
