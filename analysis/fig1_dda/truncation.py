"""Truncation dependence of the paper's DDA (didodecyldimethylammonium) against PEA.

Reads screen output directories (``surfchem screen ... --out DIR``) and writes, next to this
script (or to ``--out``):

- ``truncation.csv``: per (ligand, N) the lowest row: gamma(N) (J/m^2), dG(N) (eV), its error
  bar, flags, the steric descriptors, and whether it comes from the searched screen or the
  single-start preview (``search``);
- ``n_min.csv``: N_min per ligand under each free-energy model (energy only; rotor and
  conformer entropy with fully frozen bound ligands; both with ``freezing="neighbours"``);
- ``windows.csv`` / ``contrast.csv``: stability windows in dmu_LX and the interval in which a
  DDA<n> stops short of full coverage while PEA reaches it (rotor model), per source;
  ``contrast_vs_pea.csv``: the same interval for every DDA<n> row set against PEA of one source
  (``--pea-source``, default ``searched``), for screens that computed a DDA<n> without PEA (dmu is
  each ligand's own offset from its ion pair, so windows of two screens with the same
  calculator and references compare directly);
- ``cost.csv``: relaxations, optimiser steps and summed task wall time (one core each) per
  ligand and source;
- ``truncation.png``: gamma(N) and dG(N) of every ligand and source.

Every number comes from the library (:mod:`surfchem.thermo`); nothing here is fitted.

Usage::

    python analysis/fig1_dda/truncation.py searched=results/fig1 searched_1start=DIR preview=DIR [--out DIR]

Each ``LABEL=DIR`` is a source; the label is free text written in the ``search`` column
(``searched`` = the full search, drawn solid; ``searched_1start`` = ``--starts 1 --sweeps 3``;
``preview`` = ``--starts 1``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from surfchem.core.screendir import ScreenDir
from surfchem.plot.common import pyplot, save_png
from surfchem.thermo import n_min
from surfchem.thermo.models import ThermoSettings, thermo_summary, thermo_table
from surfchem.thermo.results import load_screen
from surfchem.thermo.sweeps import contrast_windows, stability_windows

#: the free-energy models of the N_min table: (label, ThermoSettings fields)
MODELS = [
    ("energy", dict(model="none")),
    ("rotor", dict(model="rotor")),
    ("conformers", dict(model="conformers")),
    ("rotor+neighbours", dict(model="rotor", freezing="neighbours")),
    ("conformers+neighbours", dict(model="conformers", freezing="neighbours")),
]
KEEP = ["ligand", "smiles", "n", "energy_eV", "gamma_J_m2", "dG_eV", "gamma_err_J_m2", "dG_err_eV",
        "n_starts", "face_eq_violation_eV", "flags", "chains_top_nm2", "chains_bottom_nm2",
        "tail_hh_min_A", "tail_cc_min_A", "tail_tilt_deg", "flag_overpacked", "n_atoms"]


def analyse(label: str, path: Path) -> dict[str, pd.DataFrame]:
    """Tables of one screen directory, every row tagged with ``search=label``."""
    data = load_screen(path)
    res = ScreenDir(path).read_results()
    ok = res[(res["status"] == "ok") & res["is_min"].astype(bool)]
    best = ok.sort_values("energy_eV").drop_duplicates(["ligand", "n"]).sort_values(["ligand", "n"])
    best = best[[c for c in KEEP if c in best]].assign(search=label)
    kw = dict(structure=data.structure if data.has_structures else None, free_reference=data.free_reference)
    mins, win, con = [], [], []
    for name, fields in MODELS:
        table = thermo_table(data.records, data.refs, ThermoSettings(**fields), **kw)
        summ = thermo_summary(table)
        mins += [(label, lig, name, k) for lig, k in n_min(summ).items()]
        if name == "rotor":
            w = stability_windows(table)
            win.append(w.assign(search=label))
            con.append(contrast_windows(w).assign(search=label))
            best = best.merge(summ[["ligand", "n", "gamma_J_m2", "dG_eV"]].rename(
                columns={"gamma_J_m2": "gamma_rotor_J_m2", "dG_eV": "dG_rotor_eV"}), on=["ligand", "n"], how="left")
    slabs = res[res["ligand"].notna() & (res["status"] == "ok")]
    cost = slabs.groupby("ligand").agg(relaxations=("n_steps", "size"), steps=("n_steps", "sum"),
                                       task_wall_s=("wall_s", "sum"), atoms_max=("n_atoms", "max")).reset_index()
    return {"truncation": best, "n_min": pd.DataFrame(mins, columns=["search", "ligand", "model", "n_min"]),
            "windows": pd.concat(win), "contrast": pd.concat(con), "cost": cost.assign(search=label)}


def plot(trunc: pd.DataFrame, out: Path) -> Path:
    """gamma(N) (J/m^2) and dG(N) (eV) per ligand; solid: the source labelled ``searched``, dashed:
    every other source (one-start searches, previews)."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
    for (lig, src), g in trunc.groupby(["ligand", "search"]):
        g = g.sort_values("n")
        ls = "-" if src == "searched" else "--"
        line = a1.plot(g["n"], g["gamma_J_m2"], ls, marker="o", ms=3, label=f"{lig} ({src})")[0]
        a2.plot(g["n"], g["dG_eV"], ls, marker="o", ms=3, color=line.get_color())
    a1.set(xlabel="N (ligands per 2x2 slab, both faces)", ylabel="gamma (J/m$^2$)")
    a2.set(xlabel="N", ylabel="dG(N) (eV)")
    a1.legend(fontsize=7)
    return save_png(fig, out / "truncation")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("screens", nargs="+", help="LABEL=DIR (e.g. searched, searched_1start, preview)")
    p.add_argument("--out", type=Path, default=Path(__file__).parent)
    p.add_argument("--pea-source", default="searched", help="source label whose PEA windows the DDA<n> are compared with")
    args = p.parse_args(argv)
    parts: dict[str, list[pd.DataFrame]] = {}
    for spec in args.screens:
        label, _, d = spec.partition("=")
        for k, v in analyse(label, Path(d)).items():
            parts.setdefault(k, []).append(v)
    args.out.mkdir(parents=True, exist_ok=True)
    tables = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    w = tables["windows"]
    pea = w[(w["ligand"] == "PEA") & (w["search"] == args.pea_source)]
    vs = [contrast_windows(pd.concat([g, pea]), n_full=8).query("ligand_full == 'PEA'").assign(
          search=src, pea_source=args.pea_source)
          for (lig, src), g in w[w["ligand"] != "PEA"].groupby(["ligand", "search"])]
    tables["contrast_vs_pea"] = pd.concat(vs, ignore_index=True) if vs else pd.DataFrame()
    for k, v in tables.items():
        v.to_csv(args.out / f"{k}.csv", index=False)
    plot(tables["truncation"], args.out)
    pd.set_option("display.width", 200)
    wide = tables["n_min"].pivot_table(index=["ligand", "search"], columns="model", values="n_min")
    print(wide[[m for m, _ in MODELS]].to_string())
    print(tables["contrast_vs_pea"].to_string(index=False))
    print(tables["cost"].to_string(index=False))
    cols = ["ligand", "search", "n", "gamma_J_m2", "dG_eV", "gamma_rotor_J_m2", "chains_top_nm2",
            "tail_hh_min_A", "tail_tilt_deg", "flag_overpacked", "flags"]
    t = tables["truncation"]
    print(t[[c for c in cols if c in t]].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
