"""Rotor counts, conformer entropies and oscillator/rotor formulas (no calculator; seconds)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.thermochemistry import HarmonicThermo

from surfchem.core.units import CM1_IN_EV, KB_EV_K
from surfchem.errors import InputError
from surfchem.thermo.entropy import (
    boltzmann_entropy_eV_K,
    conformer_ensemble_entropy,
    count_rotors,
    free_rotor_entropy_eV_K,
    harmonic_entropy_eV_K,
    harmonic_free_energy_eV,
    qrrho_entropy_eV_K,
    qrrho_weight,
    rotor_entropy_eV_K,
    rotor_moment_kg_m2,
    vib_thermo,
)

R_J_MOL_K = 8.314462618
EV_J_MOL = 96485.33212  # 1 eV per molecule in J/mol

# Hand counts. A rotor is a single, non-ring bond whose two heavy atoms each have another heavy
# neighbour (terminal CH3 and NH3+ spins are threefold-symmetric: no new conformer).
#   DDA  (CH3)2N+[(CH2)11CH3]2, the paper's didodecyldimethylammonium: per tail 1 N-C + 11 C-C =
#        12 bonds minus the terminal CH2-CH3 -> 11 (the N-CH2 bond counts: the N carries three
#        other heavy neighbours); the two N-CH3 are terminal -> 2 x 11 = 22 sp3-sp3.
#   DDA6 (CH3)2N+[(CH2)5CH3]2: 2 x (6 - 1) = 10.   DDA4 (dibutyldimethylammonium): 2 x 3 = 6.
#   C12A CH3-(CH2)11-NH3+ (dodecylammonium, the pre-issue-13 "DDA"): 11 C-C + 1 C-N = 12 bonds,
#        minus CH3-CH2 and CH2-NH3 -> 10 sp3-sp3.
#   C6A  CH3-(CH2)5-NH3+ (hexylammonium, the old "DDA6"): 6 bonds minus the two terminal -> 4.
#   PEA  H3N-CA-CB-Ph: N-CA terminal; CA-CB sp3-sp3 -> 1; CB-C(ipso) sp3-sp2 -> 1 "other".
#   IPA  (CH3)2CH-NH3+: all three bonds end on a CH3 or the NH3 -> 0.
#   NBA  CH3-CH2-CH2-CH2-NH3+ (= C4A): 4 bonds minus 2 terminal -> 2.
#   OAm  C18 chain with cis C9=C10: 17 C-C + 1 C-N = 18 bonds; minus the double bond -> 17
#        single; minus the two terminal -> 15; the allylic C8-C9 and C10-C11 are sp3-sp2 ->
#        13 sp3-sp3 + 2 other.
#   MA   CH3-NH3+: one bond, terminal at both ends -> 0.
HAND_COUNTS = {"DDA": (22, 0), "DDA6": (10, 0), "DDA4": (6, 0), "C12A": (10, 0), "C6A": (4, 0),
               "C4A": (2, 0), "PEA": (1, 1), "IPA": (0, 0), "NBA": (2, 0), "OAm": (13, 2), "MA": (0, 0)}


@pytest.mark.parametrize("name", list(HAND_COUNTS))
def test_rotor_counts_match_hand_counts(name):
    rc = count_rotors(name)
    assert (rc.sp3_sp3, rc.other) == HAND_COUNTS[name]


def test_rotor_count_from_smiles_equals_named():
    # the same molecule written differently (head first) counts the same
    assert count_rotors("[NH3+]CCCCCC").sp3_sp3 == count_rotors("C6A").sp3_sp3 == 4
    assert count_rotors("NBA").sp3_sp3 == count_rotors("C4A").sp3_sp3
    # both tails of a truncated DDA count: twice the rotors of one tail on a quaternary N
    assert count_rotors("CCCC[N+](C)(C)CCCC").sp3_sp3 == count_rotors("DDA4").sp3_sp3 == 6


def test_rotor_entropy_is_R_ln3_per_rotor():
    s = rotor_entropy_eV_K("C12A") * EV_J_MOL
    assert s == pytest.approx(10 * R_J_MOL_K * np.log(3), rel=1e-6)
    # the paper's DDA: 22 rotors over its two C12 tails
    assert rotor_entropy_eV_K("DDA") * EV_J_MOL == pytest.approx(22 * R_J_MOL_K * np.log(3), rel=1e-6)
    # T S of one frozen rotor at 298.15 K: 2.72 kJ/mol = 28.2 meV
    assert 298.15 * rotor_entropy_eV_K("PEA") == pytest.approx(0.02823, abs=2e-5)
    assert rotor_entropy_eV_K("PEA", include_other=True) == pytest.approx(
        KB_EV_K * (np.log(3) + np.log(2)))
    assert rotor_entropy_eV_K("MA") == 0.0


def test_boltzmann_entropy_limits():
    s, p = boltzmann_entropy_eV_K(np.zeros(9), 300.0)
    assert s == pytest.approx(KB_EV_K * np.log(9))
    assert p == pytest.approx(np.full(9, 1 / 9))
    s, _ = boltzmann_entropy_eV_K(np.array([0.0, 1.0, 1.0]), 300.0)  # 1 eV gap: one state
    assert s < 1e-12
    with pytest.raises(InputError):
        boltzmann_entropy_eV_K(np.array([0.0]), -1.0)


def test_conformer_entropy_bounds():
    ma = conformer_ensemble_entropy("MA", n_conformers=10)
    assert ma.n_distinct == 1 and ma.S_conf_eV_K == pytest.approx(0.0, abs=1e-15)
    nba = conformer_ensemble_entropy("NBA", n_conformers=100)
    # two threefold rotors: at most 9 states, at most R ln 9; gauche costs energy so < R ln 9
    assert 2 <= nba.n_distinct <= 9
    assert 0.3 * KB_EV_K < nba.S_conf_eV_K < KB_EV_K * np.log(9)
    assert sum(nba.populations) == pytest.approx(1.0)
    assert nba.TS_conf_eV == pytest.approx(298.15 * nba.S_conf_eV_K)


def test_harmonic_matches_ase_harmonic_thermo():
    nu = np.array([45.0, 120.0, 350.0, 800.0, 1450.0, 3050.0])
    th = HarmonicThermo(nu * CM1_IN_EV)
    for T in (77.0, 298.15, 400.0):
        s_ase = th.get_entropy(T, verbose=False)
        f_ase = th.get_helmholtz_energy(T, verbose=False)
        assert harmonic_entropy_eV_K(nu, T).sum() == pytest.approx(s_ase, rel=1e-9)
        assert harmonic_free_energy_eV(nu, T).sum() == pytest.approx(f_ase, rel=1e-9, abs=1e-12)
        v = vib_thermo(nu, T, "harmonic")
        assert v.F_vib_eV == pytest.approx(f_ase, rel=1e-9)
        assert v.S_vib_eV_K == pytest.approx(s_ase, rel=1e-9)


def test_harmonic_classical_limit():
    # kT >> h nu: S -> k (1 + ln(kT / h nu))  (McQuarrie)
    nu, T = 1.0, 1000.0
    x = nu * CM1_IN_EV / (KB_EV_K * T)
    assert harmonic_entropy_eV_K(nu, T) == pytest.approx(KB_EV_K * (1 - np.log(x)), rel=1e-4)


def test_free_rotor_matches_quantum_rotor_sum():
    # 1D rotor levels E_m = m^2 hbar^2 / (2 I), m in Z; S = k (ln q + <E>/kT) summed directly
    hbar, kB = 1.054571817e-34, 1.380649e-23
    inertia, T = 5e-46, 298.15
    m = np.arange(-4000, 4001)
    e = m**2 * hbar**2 / (2 * inertia) / (kB * T)
    w = np.exp(-e)
    q = w.sum()
    s_sum = KB_EV_K * (np.log(q) + (e * w).sum() / q)
    assert free_rotor_entropy_eV_K(inertia, T) == pytest.approx(s_sum, rel=1e-4)


def test_qrrho_limits():
    T = 298.15
    assert qrrho_weight(100.0) == pytest.approx(0.5)
    # stiff modes: (1 - w) ~ (nu0/nu)^4 -> differences below 1e-3 k per mode
    hi = np.array([800.0, 1500.0, 3000.0])
    assert np.abs(qrrho_entropy_eV_K(hi, T) - harmonic_entropy_eV_K(hi, T)).max() < 1e-3 * KB_EV_K
    mid = np.array([300.0])  # already close to harmonic (w = 0.988)
    assert qrrho_entropy_eV_K(mid, T) == pytest.approx(harmonic_entropy_eV_K(mid, T), rel=0.02)
    lo = np.array([0.5, 1.0, 2.0])
    rot = free_rotor_entropy_eV_K(rotor_moment_kg_m2(lo), T)
    assert qrrho_entropy_eV_K(lo, T) == pytest.approx(rot, rel=1e-6)
    # the point of it: a 5 cm^-1 mode has a finite, smaller entropy than the harmonic one
    assert qrrho_entropy_eV_K(5.0, T) < harmonic_entropy_eV_K(5.0, T)
    # the rotor moment saturates at B_av for nu -> 0
    assert rotor_moment_kg_m2(1e-6) == pytest.approx(1e-44, rel=1e-3)


def test_vib_thermo_reports_imaginary_modes():
    v = vib_thermo([-150.0, -20.0, 300.0, 1000.0], 298.15, "qrrho")
    assert v.n_imaginary == 2 and v.n_modes == 2
    with pytest.raises(InputError):
        vib_thermo([300.0], 298.15, "anharmonic")


@pytest.mark.parametrize("name,geometry,sigma", [("CH3CH2OH", "nonlinear", 1), ("CO2", "linear", 2)])
def test_trans_rot_matches_ase_ideal_gas(name, geometry, sigma):
    from ase.build import molecule
    from ase.thermochemistry import IdealGasThermo

    from surfchem.thermo.entropy import trans_rot_free_energy_eV

    m = molecule(name)
    nu = np.linspace(300, 3000, 3 * len(m) - (5 if geometry == "linear" else 6))
    T, p = 298.15, 1e5
    g_ase = IdealGasThermo(nu * CM1_IN_EV, geometry, atoms=m, symmetrynumber=sigma,
                           spin=0).get_gibbs_energy(T, p, verbose=False)
    g_vib = HarmonicThermo(nu * CM1_IN_EV).get_helmholtz_energy(T, verbose=False)
    assert trans_rot_free_energy_eV(m, T, p, sigma)["G_eV"] == pytest.approx(g_ase - g_vib, abs=1e-6)
