"""Issue 18 measurement, the confound check: the exchange energies of ``study.py`` use the
bulk-terminated (unrelaxed) bare slab, so on the 2x2 slab they include the ML-relaxed framework's
relaxation (octahedral tilts), which the 1x1 cell cannot have. This computes, per calculator, the
bare slab's relaxation energy on the ML-relaxed bare geometry:

    R = E(bare slab relaxed with the ML calculator) - E(bare slab, bulk-terminated)

so that E_exch - R is the exchange against a relaxed bare slab (analysis/anchors/table.py).

Usage: python analysis/anchors/study_bare.py CACHE_DIR   (resumable; writes CACHE_DIR/bare.json)
"""

import json
import sys
import time

from surfchem.build import slab
from surfchem.validate.engine import Evaluator
from surfchem.validate.recipes import relaxed
from surfchem.validate.suite import GPAW_HERE

out = sys.argv[1]
calcs = ["chgnet-d3", "sevennet-d3", "gpaw-pbe-d3-lcao"]
ev = Evaluator(out, overrides=GPAW_HERE)
rows = []
for size in [(1, 1), (2, 2)]:
    tag = f"{size[0]}x{size[1]}x3"
    bare = slab("CsPbBr3", size=size, layers=3, vacuum=10.0)
    t0 = time.time()
    rel = relaxed(bare, ev, "chgnet-d3", system=f"bare-{tag}")
    print(f"relaxed bare {tag} {time.time() - t0:.0f} s", flush=True)
    for c in calcs:
        t0 = time.time()
        e0 = ev.energy(bare, c, f"slab-{tag}-v10").energy_eV
        e1 = ev.energy(rel, c, f"slab-{tag}-relaxed").energy_eV
        rows.append({"slab": tag, "calculator": c, "E_unrelaxed_eV": e0, "E_relaxed_eV": e1,
                     "relaxation_eV": e1 - e0, "wall_s": time.time() - t0})
        print(json.dumps(rows[-1]), flush=True)
        json.dump(rows, open(f"{out}/bare.json", "w"), indent=1)
print("done", flush=True)
