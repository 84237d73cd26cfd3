"""Harmonic / quasi-RRHO free energies on a real CHGNet+D3 screen (methylammonium, N = 0..2).

Slow (``-m slow``): about 150 CHGNet force calls on 9-60 atom cells plus the screen itself.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_qrrho_model_on_mini_screen(mini_screen, tmp_path):
    from surfchem.thermo.results import load_screen, thermo_for_screen

    out = mini_screen.out
    data = load_screen(out)
    assert data.free_reference("MA") is not None  # the screen's own ion pair is the reference
    base, base_s = thermo_for_screen(out, {"model": "none"})
    table, summ = thermo_for_screen(out, {"model": "qrrho", "cache_dir": str(tmp_path)})
    s = summ.set_index("n")
    assert s.loc[0, "F_vib_eV"] == 0.0
    for n in (1, 2):
        assert np.isfinite(s.loc[n, "F_vib_eV"])
        # per ligand, bound minus free: tenths of an eV at most for a C1 ligand
        assert abs(s.loc[n, "F_vib_eV"]) / n < 0.6
        assert s.loc[n, "n_imag"] >= 0 and s.loc[n, "n_imag_free"] >= 0  # counted, not hidden
    # consistency of dG with the corrections of consecutive coverages
    b = base_s.set_index("n")
    assert s.loc[2, "dG_eV"] - b.loc[2, "dG_eV"] == pytest.approx(
        s.loc[2, "F_vib_eV"] - s.loc[1, "F_vib_eV"], abs=1e-9)
    # a second evaluation at another T reuses the cached force sets (fast) and changes F
    t2, s2 = thermo_for_screen(out, {"model": "qrrho", "cache_dir": str(tmp_path), "T_K": 77.0})
    assert not np.isclose(s2.set_index("n").loc[1, "F_vib_eV"], s.loc[1, "F_vib_eV"])
