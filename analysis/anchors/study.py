"""Issue 18 measurement: per-ligand anchors (1x1x3) and held-out systems (2x2x3: one ligand; two
neighbouring ligands on one face), ML vs GPAW PBE+D3 LCAO on ML geometries.

Usage: python analysis/anchors/study.py CACHE_DIR   (resumable: every energy is cached there;
writes CACHE_DIR/rows.json, read by analysis/anchors/table.py)
"""
import json
import sys
import time

from surfchem.validate.engine import Evaluator
from surfchem.validate.recipes import binding_systems, ligand_exchange
from surfchem.validate.suite import GPAW_HERE

out = sys.argv[1]
ligands = ["IPA", "PEA", "DDA2"]
calcs = ["chgnet-d3", "sevennet-d3", "gpaw-pbe-d3-lcao"]
systems = [((1, 1), (0,)), ((2, 2), (0,)), ((2, 2), (0, 1))]
ev = Evaluator(out, overrides=GPAW_HERE)
rows = []
for size, sites in systems:
    for lig in ligands:
        t0 = time.time()
        try:
            s = binding_systems(lig, ev, size=size, layers=3, vacuum=10.0, sites=sites)
        except Exception as e:  # noqa: BLE001
            print("FAIL geometry", lig, size, sites, e, flush=True)
            continue
        print(f"geometry {lig} {s.slab_tag} {len(s.decorated)} atoms {time.time()-t0:.0f} s", flush=True)
        for c in calcs:
            t0 = time.time()
            r = ligand_exchange(s, c, ev)
            d = r.as_dict()
            d["wall_total_s"] = time.time() - t0
            rows.append(d)
            print(json.dumps(d), flush=True)
            json.dump(rows, open(f"{out}/rows.json", "w"), indent=1)
print("done", flush=True)
