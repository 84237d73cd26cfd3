"""Finite-displacement vibrations with phonopy and a real calculator (GFN2-xTB on CH3NH3+)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.thermochemistry import HarmonicThermo

from surfchem.core.units import CM1_IN_EV
from surfchem.thermo.entropy import vib_thermo
from surfchem.thermo.vibrations import hessian_frequencies_cm1, vibrational_modes


@pytest.fixture(scope="module")
def gfn2_cation():
    from surfchem.calculators import get_calculator, preset_parameters

    return get_calculator("gfn2", charge=1), preset_parameters("gfn2", charge=1)


@pytest.fixture(scope="module")
def ma_cation():
    from surfchem.build.ligands import ligand

    at = ligand("MA")
    at.center(vacuum=8.0)
    return at


@pytest.fixture(scope="module")
def ma_modes(gfn2_cation, ma_cation, tmp_path_factory):
    calc, params = gfn2_cation
    cache = tmp_path_factory.mktemp("vib")
    return vibrational_modes(ma_cation, calc, calc_params=params, cache_dir=cache), cache


def test_methylammonium_modes_real_and_match_ase_vibrations(ma_modes, gfn2_cation, ma_cation, tmp_path):
    from ase.optimize import BFGS
    from ase.vibrations import Vibrations

    modes, _ = ma_modes
    nu = np.array(modes.frequencies_cm1)
    assert len(nu) == 3 * 8 - 6  # rigid motions projected out
    assert modes.n_imaginary == 0 and nu.min() > 100.0
    assert modes.fmax_eV_A < 0.01 + 1e-9  # re-relaxed before displacing
    # the same molecule, relaxed the same way, through ASE's own finite differences
    calc, _ = gfn2_cation
    ref = ma_cation.copy()
    ref.calc = calc
    BFGS(ref, logfile=None).run(fmax=0.01, steps=300)
    vib = Vibrations(ref, name=str(tmp_path / "vib"), delta=0.01)
    vib.run()
    nu_ase = np.sort(np.real(vib.get_frequencies()))[6:]
    assert np.abs(nu - nu_ase).max() < 3.0  # cm^-1
    # C-H / N-H stretches where they belong (GFN2: 3000-3300 cm^-1)
    assert 2900 < nu[-6] and nu[-1] < 3400


def test_vibrational_entropy_matches_ase_harmonic_thermo(ma_modes):
    modes, _ = ma_modes
    nu = np.array(modes.frequencies_cm1)
    th = HarmonicThermo(nu * CM1_IN_EV)
    for T in (77.0, 298.15):
        ours = vib_thermo(nu, T, "harmonic")
        assert ours.S_vib_eV_K == pytest.approx(th.get_entropy(T, verbose=False), rel=1e-6)
        assert ours.F_vib_eV == pytest.approx(th.get_helmholtz_energy(T, verbose=False), rel=1e-6)
    # all modes stiff (> 250 cm^-1): quasi-RRHO changes S by < 2 %
    q = vib_thermo(nu, 298.15, "qrrho").S_vib_eV_K
    assert q == pytest.approx(vib_thermo(nu, 298.15, "harmonic").S_vib_eV_K, rel=0.02)


def test_force_cache_is_reused(ma_modes, gfn2_cation, ma_cation):
    modes, cache = ma_modes
    assert modes.n_force_calls == 6 * 8
    calc, params = gfn2_cation
    again = vibrational_modes(ma_cation, calc, calc_params=params, cache_dir=cache)
    assert again.n_force_calls == 0
    assert np.allclose(again.frequencies_cm1, modes.frequencies_cm1)
    assert again.key == modes.key and list(cache.glob("*.npz"))


def test_partial_hessian_subset(gfn2_cation, ma_cation, tmp_path):
    calc, params = gfn2_cation
    h = [i for i, s in enumerate(ma_cation.get_chemical_symbols()) if s == "H"]
    m = vibrational_modes(ma_cation, calc, indices=h, calc_params=params, cache_dir=tmp_path,
                          prerelax_fmax=0.01)
    assert not m.projected_rigid and len(m.frequencies_cm1) == 3 * len(h)
    assert m.n_force_calls == 6 * len(h)
    # C and N clamped: the only zero-frequency motion left is turning all six H rigidly about
    # the C-N axis (C and N lie on it); every other mode is stiff, X-H stretches on top
    nu = sorted(m.frequencies_cm1)
    assert abs(nu[0]) < 60.0 and nu[1] > 200.0
    assert nu[-6] > 2900.0


def test_hessian_frequencies_of_a_spring():
    # two masses of 1 amu, spring k = 1 eV/Å^2 along x: omega = sqrt(2k/m)
    k = 1.0
    hess = np.zeros((6, 6))
    hess[0, 0] = hess[3, 3] = k
    hess[0, 3] = hess[3, 0] = -k
    nu = hessian_frequencies_cm1(hess, np.array([1.0, 1.0]))
    from ase import units

    expected = np.sqrt(2 * k / 1.0) * units._hbar * 1e10 / np.sqrt(units._e * units._amu) / units.invcm
    assert nu.max() == pytest.approx(expected, rel=1e-9)
    assert np.allclose(nu[:-1], 0.0, atol=1e-6)
