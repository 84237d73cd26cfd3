"""Issue 18: the held-out test against plane waves. The systems of ``study.py`` that the anchor is
not fitted on (one ligand on the 2x2x3 slab; two neighbouring ligands on one face of it), against
the bare slab relaxed with CHGNet+D3 as in the screen (``relax_bare``), on the same CHGNet+D3
geometries, with GPAW PBE+D3 plane waves (the validation's 'here' settings: 400 eV, k-point
density 3 Å) in place of LCAO dzp.

Usage: python analysis/anchors/pw_heldout.py CACHE_DIR [SYSTEM ...]   (resumable: every energy is
cached in CACHE_DIR; SYSTEM is ``<a>x<b>x<layers>[@site,site]``, default ``2x2x3 2x2x3@0,1``;
``1x1x3`` is the anchor system itself; rows are appended to analysis/anchors/pw_heldout.csv as
they finish, read by ``table.py --dft gpaw-pbe-d3-pw``)
"""
import sys
import time
from pathlib import Path

import pandas as pd

from surfchem.validate.engine import Evaluator
from surfchem.validate.recipes import binding_systems, ligand_exchange
from surfchem.validate.suite import GPAW_HERE

ev = Evaluator(sys.argv[1], overrides=GPAW_HERE)
wanted = sys.argv[2:] or ["2x2x3", "2x2x3@0,1"]
ligands = ["IPA", "PEA", "DDA2"]
calcs = ["chgnet-d3", "sevennet-d3", "sevennet-l3i5-d3", "gpaw-pbe-d3-pw"]
csv = Path(__file__).with_name("pw_heldout.csv")
for tag in wanted:
    cell, _, at = tag.partition("@")
    a, b, layers = (int(x) for x in cell.split("x"))
    sites = tuple(int(x) for x in at.split(",")) if at else (0,)
    for lig in ligands:
        t0 = time.time()
        s = binding_systems(lig, ev, size=(a, b), layers=layers, vacuum=10.0, sites=sites, relax_bare=True)
        for c in calcs:
            r = ligand_exchange(s, c, ev)
            rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []  # re-read: runs may overlap
            rows = [x for x in rows if (x["ligand"], x["system"], x["calculator"]) != (lig, s.slab_tag, c)]
            rows.append({"ligand": lig, "slab": s.slab_tag.removesuffix("+rb"), "system": s.slab_tag, "n_ligands": s.n_ligands, "calculator": c,
                         "exchange_energy_eV": r.exchange_energy_eV, "n_atoms": len(s.decorated),
                         "wall_s": time.time() - t0})
            pd.DataFrame(rows).to_csv(csv, index=False, float_format="%.4f")
            print(rows[-1], flush=True)
print("done", flush=True)
