"""Real GPAW calculations of the DFT reference path (small: bulk cells, low cutoffs)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from surfchem.build import bulk
from surfchem.errors import CalculatorError
from surfchem.validate import Evaluator, bulk_a0, convergence_scan

os.environ.setdefault("OMP_NUM_THREADS", "1")

#: the quick profile's PW settings (shared cache within this module)
PW = {"gpaw-pbe-pw": {"ecut_eV": 300.0, "kpt_density_A": 2.0}}


@pytest.fixture(scope="module")
def ev(tmp_path_factory):
    return Evaluator(tmp_path_factory.mktemp("gpaw"), PW)


def test_gpaw_pw_cspbbr3_energy_files_cache_and_d3(ev):
    """CsPbBr3, PW 300 eV, 3x3x3 k: a finite PBE energy, txt + gpw kept, rerun is cached, D3 adds."""
    at = bulk("CsPbBr3")
    rec = ev.energy(at, "gpaw-pw", "t-CsPbBr3")
    assert not rec.cached and np.isfinite(rec.energy_eV)
    # GPAW energies are relative to the PAW atomic references: a bound solid is a few eV/atom down
    assert -4.5 < rec.energy_eV / len(at) < -2.0
    assert "Extrapolated" in open(rec.txt).read()
    from gpaw import GPAW

    assert abs(GPAW(rec.gpw, txt=None).get_potential_energy() - rec.energy_eV) < 1e-6
    again = ev.energy(at, "gpaw-pbe-pw", "t-CsPbBr3")
    assert again.cached and again.energy_eV == rec.energy_eV
    # PBE+D3 = PBE + D3(BJ) computed independently with the dftd3 package
    from dftd3.ase import DFTD3

    d3 = at.copy()
    d3.calc = DFTD3(method="PBE", damping="d3bj")
    e_d3 = d3.get_potential_energy()
    both = ev.energy(at, "gpaw-d3-pw", "t-CsPbBr3")
    assert both.energy_eV == pytest.approx(rec.energy_eV + e_d3, abs=1e-8)
    assert -1.5 < e_d3 < 0


def test_scf_nonconvergence_is_a_calculator_error(tmp_path):
    ev1 = Evaluator(tmp_path, {"gpaw-pw": {"ecut_eV": 200.0, "kpts": (1, 1, 1), "maxiter": 1}})
    with pytest.raises(CalculatorError, match="gpaw-pbe-pw failed on CsBr-maxiter1.*maxiter"):
        ev1.energy(bulk("CsBr"), "gpaw-pw", "CsBr-maxiter1")
    rec = ev1.try_energy(bulk("CsBr"), "gpaw-pw", "CsBr-maxiter1")
    assert rec.error and np.isnan(rec.energy_eV)
    assert len(ev1.store) == 0  # a failure is never cached


def test_gpaw_pbe_a0_csbr_within_window(ev):
    """PBE underbinds soft ionic solids: a0(CsBr) from -1 % to +5 % of experiment (4.30 Å)."""
    rec = bulk_a0("CsBr", "gpaw-pw", ev)
    assert 0.99 * 4.30 < rec.a0_A < 1.05 * 4.30
    assert 5 < rec.bulk_modulus_GPa < 40  # expt ~16 GPa
    # PBE+D3 binds more: a smaller lattice constant from the same SCF energies
    rec_d3 = bulk_a0("CsBr", "gpaw-d3-pw", ev)
    assert rec_d3.a0_A < rec.a0_A


def test_convergence_scan_table(tmp_path):
    rows = convergence_scan("CsBr", Evaluator(tmp_path), cutoffs_eV=(200.0, 250.0),
                            kpt_densities_A=(1.0, 1.5), with_a0=False, out=tmp_path,
                            ecut_ref_eV=250.0, kpt_ref_A=1.5)
    assert [(r.ecut_eV, r.kpt_density_A) for r in rows] == [(200.0, 1.5), (250.0, 1.5), (250.0, 1.0)]
    assert all(np.isfinite(r.energy_eV_atom) for r in rows)
    assert rows[1].dE_meV_atom == 0.0 and rows[0].dE_meV_atom != 0.0
    assert (tmp_path / "convergence_CsBr.csv").exists()
    assert "| cutoff | 200 |" in (tmp_path / "convergence_CsBr.md").read_text()
