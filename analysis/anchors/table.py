"""Issue 18: the held-out test of the per-ligand DFT anchor, from the rows of ``study.py``.

For each ligand L the anchor delta_L = E_exch(GPAW) - E_exch(ML) is measured on one ligand on the
anchor system (the default 1x1x3 slab; also tried: the 2x2x3 slab). It is then applied, unchanged,
to the systems it was not fitted on:

- ``2x2x3``: one ligand on the 2x2 slab (a second slab size: 4x the area, no lateral neighbour);
  ``1x1x3`` when the anchor is fitted on 2x2x3;
- ``2x2x3@0,1``: two neighbouring ligands on one face of the 2x2 slab (lateral interaction);
- leave-one-ligand-out: each ligand's held-out systems corrected with the mean delta of the
  *other* ligands (a single, ligand-independent shift), to see whether per-ligand anchors matter.

anchored ML = E_exch(ML) + n_ligands * delta_L; errors against GPAW on the same ML geometries.
Writes ``heldout.csv``, ``anchors.csv`` and ``heldout.md`` next to this script (or ``--out``).

Usage: python analysis/anchors/table.py CACHE_DIR/rows.json [--bare BARE_DIR/bare.json] [--out analysis/anchors]
       python analysis/anchors/table.py analysis/anchors/pw_heldout.csv --dft gpaw-pbe-d3-pw --suffix _pw
(the second: the plane-wave rows of ``pw_heldout.py``, already against the relaxed bare slab)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

DFT = "gpaw-pbe-d3-lcao"
DFT_NAMES = {"gpaw-pbe-d3-lcao": "GPAW LCAO dzp, 'here' settings",
             "gpaw-pbe-d3-pw": "GPAW plane waves 400 eV, k-point density 3 Å, 'here' settings"}
#: the anchor systems tried: the default (one ligand on 1x1x3) and one ligand on the 2x2 slab
ANCHOR_SYSTEMS = ("1x1x3", "2x2x3")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rows")
    p.add_argument("--out", default=str(Path(__file__).parent))
    p.add_argument("--bare", default=None,
                   help="bare.json of study_bare.py: exchange against the ML-relaxed bare slab instead of "
                        "the bulk-terminated one (E_exch - R); writes *_relaxed_bare files")
    p.add_argument("--dft", default=DFT, choices=sorted(DFT_NAMES), help="the reference (default %(default)s)")
    p.add_argument("--suffix", default=None, help="output file suffix (default: none, or _relaxed_bare with --bare)")
    args = p.parse_args(argv)
    dft = args.dft
    path = Path(args.rows)
    rows = pd.read_csv(path) if path.suffix == ".csv" else pd.DataFrame(json.loads(path.read_text()))
    if "error" in rows:
        rows = rows[rows["error"].isna()].copy()
    suffix, note = "", "the bulk-terminated bare slab (the validation's protocol)"
    if "system" in rows and rows["system"].astype(str).str.endswith("+rb").all():
        note = "the bare slab relaxed with CHGNet+D3 (relax_bare, as in the screen)"
    if args.bare:
        bare = pd.DataFrame(json.loads(Path(args.bare).read_text())).set_index(["slab", "calculator"])
        key = list(zip(rows["slab"].str.split("@").str[0], rows["calculator"], strict=True))
        rows["exchange_energy_eV"] = rows["exchange_energy_eV"] - bare["relaxation_eV"].reindex(key).to_numpy()
        rows = rows[rows["exchange_energy_eV"].notna()]
        suffix, note = "_relaxed_bare", "the bare slab relaxed with CHGNet+D3 (E_exch - R, study_bare.py)"
    suffix = suffix if args.suffix is None else args.suffix
    e = rows.pivot_table(index=["ligand", "slab", "n_ligands"], columns="calculator",
                         values="exchange_energy_eV").reset_index()
    mls = [c for c in e.columns if c not in ("ligand", "slab", "n_ligands") and c not in DFT_NAMES]
    out_rows, anc_rows = [], []
    for anchor_system, ml in ((a, m) for a in ANCHOR_SYSTEMS for m in mls):
        anchors = e[e["slab"] == anchor_system].set_index("ligand")
        if anchors.empty:
            continue
        delta = (anchors[dft] - anchors[ml]).dropna()
        for lig, d in delta.items():
            anc_rows.append({"anchor_system": anchor_system, "ml": ml, "ligand": lig,
                             "E_exch_ml_eV": anchors.loc[lig, ml], "E_exch_dft_eV": anchors.loc[lig, dft],
                             "delta_eV": d})
        for _, r in e[e["slab"] != anchor_system].iterrows():
            if pd.isna(r[dft]) or r["ligand"] not in delta:
                continue
            e_ml, e_dft, n = r[ml], r[dft], int(r["n_ligands"])
            others = delta.drop(r["ligand"])
            out_rows.append({
                "anchor_system": anchor_system, "ml": ml, "ligand": r["ligand"], "system": r["slab"], "n_ligands": n,
                "E_dft_eV": e_dft, "E_ml_eV": e_ml, "E_anchored_eV": e_ml + n * delta[r["ligand"]],
                "err_ml_eV": e_ml - e_dft, "err_anchored_eV": e_ml + n * delta[r["ligand"]] - e_dft,
                "err_anchored_per_ligand_eV": (e_ml + n * delta[r["ligand"]] - e_dft) / n,
                "err_leave_one_out_eV": (e_ml + n * others.mean() - e_dft) if len(others) else float("nan"),
            })
    held = pd.DataFrame(out_rows, columns=["anchor_system", "ml", "ligand", "system", "n_ligands", "E_dft_eV", "E_ml_eV",
                                           "E_anchored_eV", "err_ml_eV", "err_anchored_eV",
                                           "err_anchored_per_ligand_eV", "err_leave_one_out_eV"])
    anc = pd.DataFrame(anc_rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    held.to_csv(out / f"heldout{suffix}.csv", index=False, float_format="%.4f")
    anc.to_csv(out / f"anchors{suffix}.csv", index=False, float_format="%.4f")
    lines = ["# Per-ligand DFT anchors: held-out test", "",
             f"DFT = {dft} ({DFT_NAMES[dft]}), on the ML (chgnet-d3) geometries; "
             f"exchange against {note}. Generated by `analysis/anchors/table.py`; see docs/anchors.md.", "",
             "## Anchors (one ligand on the anchor system)", "", anc.to_markdown(index=False, floatfmt=".3f"), "",
             "## Held-out systems (eV, whole slab: n ligands exchanged)", "",
             held.to_markdown(index=False, floatfmt=".3f"), ""]
    for (anchor_system, ml), g in held.groupby(["anchor_system", "ml"]):
        lines.append(f"- anchor on {anchor_system}, {ml}: max |error| plain {g['err_ml_eV'].abs().max():.3f} eV, anchored "
                     f"{g['err_anchored_eV'].abs().max():.3f} eV (per ligand "
                     f"{g['err_anchored_per_ligand_eV'].abs().max():.3f}), one shared shift (leave one "
                     f"ligand out) {g['err_leave_one_out_eV'].abs().max():.3f} eV")
        for sysname, h in g.groupby("system"):
            order = {col: " < ".join(h.sort_values(col)["ligand"]) for col in ("E_dft_eV", "E_ml_eV", "E_anchored_eV")}
            lines.append(f"  - {sysname}: ligand order (most favourable first) GPAW {order['E_dft_eV']}; "
                         f"plain {order['E_ml_eV']}; anchored {order['E_anchored_eV']}")
    (out / f"heldout{suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
