"""One row per ML preset: accuracy against GPAW (the 'here' validation) and cost per force call.

Reads ``analysis/validation/here/results.json`` (``surfchem validate --profile here``) and
``cost.csv`` (``run.py``) and writes ``comparison.csv`` next to this script; prints it as a
Markdown table. Columns (errors are calculator - GPAW on identical geometries):

- ``exchange_mae_eV``: MAE of the Cs+ -> ligand exchange energies (IPA, PEA, DDA2) against the
  preset's parity reference (GPAW PBE-D3 LCAO for D3 presets, PBE LCAO otherwise);
- ``exchange_mae_vs_d3_eV``: the same against GPAW PBE-D3 LCAO for every preset (the physics
  the screen needs: with dispersion);
- ``d_PEA_IPA_err_eV``, ``d_DDA2_IPA_err_eV``, ``d_PEA_DDA2_err_eV``: error of the ligand
  differences E(PEA) - E(IPA), E(DDA2) - E(IPA) and E(PEA) - E(DDA2) (what a ligand ranking
  uses; PEA vs DDA2 is the main job's contrast) against the parity reference;
- ``a0_mae_A``: a0 of CsBr, CsPbBr3, CsPbI3 against GPAW PW (own minimum each);
- ``gamma_mae_meV_A2``: bare-slab gamma at 3/5/7 layers against GPAW LCAO;
- ``stacking_err_eV``: PEA-PEA stacking energy error;
- ``slab48_cpu_s``, ``pea4_cpu_s`` (``slab48_s``, ``pea4_s``): median CPU (wall) time per force
  call in s from ``cost.csv``, on the 48-atom slab and the 128-atom PEA4 slab.

Usage::

    python benchmarks/potentials/compare.py [--results analysis/validation/here/results.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
#: ligand differences of the comparison (first minus second)
PAIRS = (("PEA", "IPA"), ("DDA2", "IPA"), ("PEA", "DDA2"))


def comparison(results: dict, cost: pd.DataFrame | None) -> pd.DataFrame:
    """The comparison table (one row per non-GPAW, non-xTB calculator of ``results``)."""
    par = pd.DataFrame(results["parity"])
    ex = pd.DataFrame([r for r in results["binding"] if not r.get("error")])
    exchange = ex.pivot(index="calculator", columns="ligand", values="exchange_energy_eV")
    ref_d3 = exchange.loc["gpaw-pbe-d3-lcao"]
    rows = []
    calcs = [c for c in results["calculators"] if c.startswith(("chgnet", "sevennet"))]
    for c in calcs:
        p = par[par["calculator"] == c]
        row = {"preset": c}
        for q, col in (("exchange_energy_eV", "exchange_mae_eV"), ("a0_A", "a0_mae_A"),
                       ("gamma_meV_A2", "gamma_mae_meV_A2")):
            sel = p[p["quantity"] == q]
            row[col] = float(np.abs(sel["error"]).mean()) if len(sel) else np.nan
        st = p[p["quantity"] == "stacking_energy_eV"]
        row["stacking_err_eV"] = float(st["error"].iloc[0]) if len(st) else np.nan
        if c in exchange.index:
            mine = exchange.loc[c]
            row["exchange_mae_vs_d3_eV"] = float(np.abs(mine - ref_d3).mean())
            ref = exchange.loc[p[p["quantity"] == "exchange_energy_eV"]["reference"].iloc[0]]
            for a, b in PAIRS:
                row[f"d_{a}_{b}_eV"] = float(mine[a] - mine[b])
                row[f"d_{a}_{b}_err_eV"] = float((mine[a] - mine[b]) - (ref[a] - ref[b]))
            for lig in mine.index:
                row[f"exchange_{lig}_eV"] = float(mine[lig])
        if cost is not None:
            for sysname, col in (("slab-2x2x5", "slab48"), ("PEA4-on-2x2x5", "pea4")):
                hit = cost[(cost["preset"] == c) & (cost["system"] == sysname)]
                for key, suffix in (("median_cpu_s", "_cpu_s"), ("median_s", "_s")):
                    row[col + suffix] = float(hit[key].iloc[0]) if len(hit) else np.nan
        rows.append(row)
    for ref in ("gpaw-pbe-lcao", "gpaw-pbe-d3-lcao"):  # the reference's own ligand differences
        if ref in exchange.index:
            e = exchange.loc[ref]
            rows.append({"preset": ref, **{f"exchange_{lig}_eV": float(e[lig]) for lig in e.index},
                         **{f"d_{a}_{b}_eV": float(e[a] - e[b]) for a, b in PAIRS}})
    return pd.DataFrame(rows)


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(ROOT / "analysis/validation/here/results.json"))
    ap.add_argument("--cost", default=str(HERE / "cost.csv"))
    ap.add_argument("--out", default=str(HERE / "comparison.csv"))
    args = ap.parse_args(argv)
    results = json.loads(Path(args.results).read_text())
    cost = pd.read_csv(args.cost) if Path(args.cost).exists() else None
    df = comparison(results, cost)
    df.to_csv(args.out, index=False, float_format="%.4g")
    cols = ["preset", "exchange_mae_eV", "exchange_mae_vs_d3_eV", "d_PEA_IPA_err_eV",
            "d_DDA2_IPA_err_eV", "d_PEA_DDA2_err_eV", "a0_mae_A", "gamma_mae_meV_A2", "stacking_err_eV", "slab48_cpu_s",
            "pea4_cpu_s", "slab48_s", "pea4_s"]
    show = df[[c for c in cols if c in df]].dropna(subset=["exchange_mae_eV"])
    print("| " + " | ".join(show.columns) + " |")
    print("|" + "---|" * len(show.columns))
    for _, r in show.iterrows():
        print("| " + " | ".join(r["preset"] if k == "preset" else
                                ("-" if pd.isna(r[k]) else f"{r[k]:.3f}") for k in show.columns) + " |")
    refs = df[df["preset"].str.startswith("gpaw")]
    for _, r in refs.iterrows():
        print(f"{r['preset']}: " + ", ".join(f"{a}-{b} {r[f'd_{a}_{b}_eV']:+.3f} eV" for a, b in PAIRS))
    return df


if __name__ == "__main__":
    main()
