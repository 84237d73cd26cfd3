"""Physical constants and unit conversions: the one definition of each, used by every layer."""

from __future__ import annotations

from ase import units

#: Boltzmann constant, eV/K (ASE CODATA value)
KB_EV_K = units.kB
#: Planck constant in eV s
H_EV_S = 4.135667696e-15
#: speed of light in cm/s
C_CM_S = 2.99792458e10
#: one cm^-1 in eV (h c)
CM1_IN_EV = H_EV_S * C_CM_S
#: Planck constant in J s and Boltzmann constant in J/K (SI, exact)
H_J_S = 6.62607015e-34
KB_J_K = 1.380649e-23
#: one eV/Å² in J/m² (e / 1e-20 m², exact)
EV_PER_A2_IN_J_PER_M2 = 16.02176634
