"""Issue 18: the anchor's basis error, LCAO (dzp) against plane waves, on the anchor system itself
(one ligand on the 1x1x3 slab against its relaxed bare slab, the ion pair and bulk CsBr; the same
CHGNet+D3 geometries), GPAW PBE+D3 with the validation's 'here' settings for each mode. The two
modes' 'here' settings also differ in k-point density (LCAO 2.0, PW 3.0 Å); LCAO is computed at
3.0 Å as well, so that the basis and the k-point parts of the difference are separated.

Usage: python analysis/anchors/pw_anchor.py CACHE_DIR [LIGAND ...]   (resumable; every energy is
cached in CACHE_DIR; appends to analysis/anchors/pw_anchor.csv)
"""
import sys
import time
from pathlib import Path

import pandas as pd

from surfchem.validate.anchor import ligand_anchor
from surfchem.validate.engine import Evaluator
from surfchem.validate.recipes import binding_systems, ligand_exchange
from surfchem.validate.suite import GPAW_HERE

ev = Evaluator(sys.argv[1], overrides=GPAW_HERE)
ligands = sys.argv[2:] or ["IPA"]
csv = Path(__file__).with_name("pw_anchor.csv")
rows = pd.read_csv(csv).to_dict("records") if csv.exists() else []
for lig in ligands:
    t0 = time.time()
    lcao = ligand_anchor(lig, ev, dft="gpaw-pbe-d3-lcao")
    pw = ligand_anchor(lig, ev, dft="gpaw-pbe-d3-pw")
    k3 = ev.sub({"gpaw-pbe-lcao": {"kpt_density_A": GPAW_HERE["gpaw-pbe-pw"]["kpt_density_A"]}})
    systems = binding_systems(lig, k3, size=(1, 1), layers=3, vacuum=10.0, relax_bare=True)
    lcao_k3 = ligand_exchange(systems, "gpaw-pbe-d3-lcao", k3).exchange_energy_eV
    row = {"ligand": lig, "system": pw.system, "E_exch_ml_eV": pw.exchange_ml_eV,
           "E_exch_lcao_eV": lcao.exchange_dft_eV, "E_exch_lcao_k3_eV": lcao_k3,
           "E_exch_pw_eV": pw.exchange_dft_eV,
           "delta_lcao_eV": lcao.delta_eV, "delta_pw_eV": pw.delta_eV,
           "lcao_minus_pw_eV": lcao.exchange_dft_eV - pw.exchange_dft_eV, "wall_s": time.time() - t0}
    rows = [r for r in rows if r["ligand"] != lig] + [row]
    pd.DataFrame(rows).to_csv(csv, index=False, float_format="%.4f")
    print(row, flush=True)
print("done", flush=True)
