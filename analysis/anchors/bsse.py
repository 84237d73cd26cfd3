"""Issue 18: the anchors' own basis-set superposition error (LCAO dzp), Boys-Bernardi counterpoise
on the anchor systems (one ligand on the 1x1x3 slab, ML geometry; the ion pair), GPAW PBE LCAO
with the validation's 'here' settings (D3 has no basis and is left out).

Usage: python analysis/anchors/bsse.py CACHE_DIR [LIGAND ...]   (resumable: every energy is cached
in CACHE_DIR, the geometries are those of study.py; writes analysis/anchors/bsse.csv)
"""
import sys
from pathlib import Path

import pandas as pd

from surfchem.validate.counterpoise import exchange_bsse
from surfchem.validate.engine import Evaluator
from surfchem.validate.recipes import binding_systems
from surfchem.validate.suite import GPAW_HERE

out = sys.argv[1]
ligands = sys.argv[2:] or ["IPA", "PEA", "DDA2"]
ev = Evaluator(out, overrides=GPAW_HERE)
csv = Path(__file__).with_name("bsse.csv")
rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
for lig in ligands:
    s = binding_systems(lig, ev, size=(1, 1), layers=3, vacuum=10.0)
    r = exchange_bsse(s, ev).as_dict()
    old = [x for x in rows if x["ligand"] == lig]
    if old and r["wall_s"] == 0.0:  # all cached: keep the time of the run that computed them
        r["wall_s"] = old[0]["wall_s"]
    rows = [x for x in rows if x["ligand"] != lig] + [r]
    pd.DataFrame(rows).to_csv(csv, index=False, float_format="%.4f")
    print(r, flush=True)
print("done", flush=True)
