"""The analysis/ example, end to end in its --quick (CI) setting, on the real default calculator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]


def test_screen_new_ligands_quick(mini_screen, tmp_path):
    out = tmp_path / "new"
    # share the bulk/salt lattice fits of the session screen (same calculator): a cache, not a shortcut
    db = mini_screen.out / "results.db"
    cmd = [sys.executable, str(ROOT / "analysis" / "screen_new_ligands.py"), "--quick", "--out", str(out),
           "--db", str(db)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    d = json.loads(r.stdout)
    assert d["mode"] == "quick" and Path(d["report"]).is_file() and Path(d["comparison_figure"]).is_file()
    assert any("DDA2" in a and "DDA" in a for a in d["aliases"])
    j = pd.read_csv(out / "link" / "joined.csv")
    measured = j[j["measured"]]
    assert sorted(measured["measured_ligand"]) == ["DDA", "IPA", "PEA"]
    assert list(j.loc[~j["measured"], "ligand"]) == ["[NH3+]Cc1ccccc1"]
    # the correlation rows equal scipy's on the joined numbers
    corr = pd.read_csv(out / "link" / "correlations.csv").set_index("descriptor")
    for desc in ("gamma_nmax_J_m2", "lateral_eV"):
        if desc not in corr.index:
            continue
        sub = measured[[desc, "on_fraction"]].dropna()
        assert corr.loc[desc, "n"] == len(sub) == 3
        ref = stats.spearmanr(sub[desc], sub["on_fraction"]).statistic
        assert corr.loc[desc, "rho"] == pytest.approx(ref)
    # the candidate is ranked (3 measured ligands give a rank correlation) or the reason is stated
    cand = pd.read_csv(out / "link" / "candidates.csv")
    assert (len(cand) == 1 and cand["rank"].iloc[0] == 1) or "no ranking" in d["ranking"]
    assert "n = 3" in d["ranking"] or "no ranking" in d["ranking"]
    # a five-layer screen and this three-layer one are not comparable: refused, not mixed
    from surfchem.errors import InputError
    from surfchem.link import descriptors_from_results

    with pytest.raises(InputError, match="bare_slab"):
        descriptors_from_results([mini_screen.out, out / "screen"])
