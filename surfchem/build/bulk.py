"""Cubic bulk phases: the CsPbX3 perovskites and the CsCl-type CsX references.

All structures are ASE :class:`~ase.Atoms` with periodic boundary conditions. Lattice constants
are in Å; defaults are room-temperature experimental values (each calculator relaxes its own a0,
see :func:`surfchem.relax.relax_bulk_lattice`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from surfchem.errors import InputError


@dataclass(frozen=True)
class Material:
    """A cubic phase known to the builders.

    Attributes
    ----------
    name : str
        Formula as written by users (``"CsPbBr3"``).
    kind : {"perovskite", "cscl"}
        ``"perovskite"`` (Pm-3m ABX3, 5 atoms) or ``"cscl"`` (Pm-3m AX, 2 atoms).
    a : str
        A-site cation symbol (``"Cs"``).
    x : str
        Halide symbol (``"Br"``, ``"I"``).
    a0_A : float
        Experimental cubic lattice constant, Å (high-temperature cubic phase for CsPbX3).
    source : str
        Citation of ``a0_A``.
    b : str, default "Pb"
        B-site cation symbol.
    """

    name: str
    kind: str
    a: str  # A-site cation symbol
    x: str  # halide symbol
    a0_A: float  # experimental cubic lattice constant, Å
    source: str
    b: str = "Pb"


#: cubic phases known to the builders (a0 in Å; experimental, cubic high-T phase for CsPbX3)
MATERIALS: dict[str, Material] = {
    "CsPbBr3": Material("CsPbBr3", "perovskite", "Cs", "Br", 5.87,
                        "cubic phase, Stoumpos et al., Cryst. Growth Des. 13, 2722 (2013)"),
    "CsPbI3": Material("CsPbI3", "perovskite", "Cs", "I", 6.29,
                       "cubic alpha phase, Trots & Myagkota, J. Phys. Chem. Solids 69, 2520 (2008)"),
    "CsBr": Material("CsBr", "cscl", "Cs", "Br", 4.30, "CsCl-type, Wyckoff, Crystal Structures"),
    "CsI": Material("CsI", "cscl", "Cs", "I", 4.57, "CsCl-type, Wyckoff, Crystal Structures"),
}

#: the CsX reference salt of each perovskite (its chemical potential enters gamma and dG)
HALIDE_SALT = {"CsPbBr3": "CsBr", "CsPbI3": "CsI"}


def get_material(name: str) -> Material:
    """Look up a material by name (case-insensitive).

    Parameters
    ----------
    name : str
        A key of :data:`MATERIALS` (``"CsPbBr3"``, ``"CsPbI3"``, ``"CsBr"``, ``"CsI"``).

    Returns
    -------
    Material
        The cubic phase with its experimental lattice constant (Å).

    Raises
    ------
    surfchem.errors.InputError
        If the name is unknown (the message lists the known ones).
    """
    for key, mat in MATERIALS.items():
        if key.lower() == str(name).lower():
            return mat
    raise InputError(
        f"unknown material {name!r}; known materials: {', '.join(MATERIALS)}"
    )


def bulk(material: str = "CsPbBr3", a: float | None = None) -> Atoms:
    """Cubic bulk cell of ``material`` with lattice constant ``a``.

    Perovskite ABX3 (Pm-3m, 5 atoms): A at (0, 0, 0), B at (½, ½, ½), X at the face centres
    (½, ½, 0), (½, 0, ½), (0, ½, ½). CsCl-type AX (2 atoms): A at (0, 0, 0), X at (½, ½, ½).

    Parameters
    ----------
    material : str, default "CsPbBr3"
        A key of :data:`MATERIALS`.
    a : float, optional
        Cubic lattice constant, Å (default: the material's experimental value).

    Returns
    -------
    ase.Atoms
        One formula unit, periodic in 3D; ``info`` holds ``material`` and ``a_A`` (Å).

    Raises
    ------
    surfchem.errors.InputError
        Unknown material or a non-positive ``a``.

    Examples
    --------
    >>> from surfchem.build import bulk
    >>> bulk("CsPbBr3").get_chemical_formula()
    'Br3CsPb'
    """
    mat = get_material(material)
    a = mat.a0_A if a is None else float(a)
    if not np.isfinite(a) or a <= 0:
        raise InputError(f"lattice constant a must be a positive number of Å, got {a!r}")
    if mat.kind == "perovskite":
        symbols = [mat.a, mat.b, mat.x, mat.x, mat.x]
        frac = [(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)]
    else:
        symbols = [mat.a, mat.x]
        frac = [(0, 0, 0), (0.5, 0.5, 0.5)]
    atoms = Atoms(symbols, scaled_positions=frac, cell=np.eye(3) * a, pbc=True)
    atoms.info["material"] = mat.name
    atoms.info["a_A"] = a
    return atoms
