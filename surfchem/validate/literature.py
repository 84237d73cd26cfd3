"""Experimental and published PBE lattice constants of the validation bulk phases (Å).

Experimental values are those of :data:`surfchem.build.bulk.MATERIALS` (room temperature for
CsBr, the cubic high-temperature phase for the perovskites). Published PBE values are plain PBE
(no dispersion, no spin-orbit) for the cubic Pm-3m phase; PBE overestimates the lattice constants
of these soft ionic solids by 1.5-3 %, D3 corrections pull them back towards experiment.

The published PBE numbers were transcribed from the cited works (rounded to 0.01 Å); the spread
between PBE implementations (PAW vs FP-LAPW, cutoffs) is ~0.02 Å, which is the precision to
compare at. Our own GPAW PBE a0 is computed, not taken from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LatticeReference:
    """Experimental and published PBE lattice constants of one validation material.

    Attributes
    ----------
    material : str
    a0_expt_A : float
        Experimental cubic a0, Å.
    expt_source : str
        Its citation.
    a0_pbe_lit_A : float
        Published PBE a0, Å.
    pbe_source : str
        Its citation.
    """
    material: str
    a0_expt_A: float
    expt_source: str
    a0_pbe_lit_A: float
    pbe_source: str


#: one row per validation material
LATTICE_REFERENCES: dict[str, LatticeReference] = {
    "CsPbBr3": LatticeReference(
        "CsPbBr3", 5.87, "cubic phase above 403 K, Stoumpos et al., Cryst. Growth Des. 13, 2722 (2013)",
        5.99, "PBE, Ghaithan et al., ACS Omega 5, 7468 (2020) (FP-LAPW); the Materials Project "
        "cubic entry (PBE, PAW) is ~6.0",
    ),
    "CsPbI3": LatticeReference(
        "CsPbI3", 6.29, "cubic alpha phase, Trots & Myagkota, J. Phys. Chem. Solids 69, 2520 (2008)",
        6.39, "PBE, Moschou, Koliogiorgos & Galanakis, Phys. Status Solidi A (2018), "
        "arXiv:1801.06983; the Materials Project cubic entry (PBE, PAW) is ~6.4",
    ),
    "CsBr": LatticeReference(
        "CsBr", 4.30, "CsCl-type, Wyckoff, Crystal Structures",
        4.38, "PBE (PAW), Materials Project CsCl-type CsBr entry (~4.37-4.40)",
    ),
}
