"""Builders: bulk phases, (100) slabs, ligands from SMILES, site arrangements, decoration.

Small functions over ASE ``Atoms`` (in the style of ``ase.build``); metadata in ``atoms.info``
and the per-atom arrays ``surface_site`` and ``ligand_index``.
"""

import numpy as np

from surfchem.build.arrangements import Arrangement, arrangements, site_permutations
from surfchem.build.bulk import HALIDE_SALT, MATERIALS, bulk, get_material
from surfchem.build.decorate import (
    HEAD_CLEARANCE_A,
    decorate,
    has_nh,
    min_clearance,
    set_vacuum,
    undecorate,
    vacuum_gap,
)
from surfchem.build.ligands import LIGANDS, conformer_ensemble, ligand, resolve_ligand, rotor_count
from surfchem.build.slab import build_slab, site_indices, site_positions, slab
from surfchem.build.sterics import CLOSE_PACKED_CHAINS_NM2, STERIC_COLUMNS, steric_descriptors

__all__ = [
    "Arrangement", "CLOSE_PACKED_CHAINS_NM2", "HALIDE_SALT", "STERIC_COLUMNS", "LIGANDS", "MATERIALS", "arrangements", "build_slab", "bulk",
    "conformer_ensemble", "decorate", "get_material", "ligand", "min_clearance", "resolve_ligand", "undecorate",
    "rotor_count", "set_vacuum", "site_indices", "site_permutations", "site_positions", "slab",
    "steric_descriptors", "vacuum_gap", "ion_pair",
]


def ion_pair(name_or_smiles: str, box: float = 22.0, halide: str = "Br", n_hbond_A: float = 3.2) -> "Atoms":  # noqa: F821
    """Isolated L+ X- ion pair in a cubic box: the ligand-HX reference of mu_LX.

    X- sits on the extension of the C->N axis, ``n_hbond_A`` beyond N (an N-H...X hydrogen bond
    geometry), centred in the box with periodic boundaries (for periodic calculators). A head
    without N-H (quaternary) has its methyls there instead: X- is moved out along the axis in
    0.1 Å steps until it is :data:`surfchem.build.decorate.HEAD_CLEARANCE_A` (2.5 Å) from every
    ligand atom.

    Parameters
    ----------
    name_or_smiles : str
        Ligand name or ammonium SMILES.
    box : float, default 22.0
        Edge of the cubic periodic box, Å.
    halide : str, default "Br"
        Halide symbol of X-.
    n_hbond_A : float, default 3.2
        N...X distance for heads with N-H, Å.

    Returns
    -------
    ase.Atoms
        The neutral pair (``info['charge'] = 0``) with the ligand's ``info`` plus
        ``reference = "ion_pair"``, ``halide`` and ``n_x_distance_A`` (the N-X distance, Å).
    """
    from ase import Atoms

    mol = ligand(name_or_smiles)
    dist = float(n_hbond_A)
    if not has_nh(mol):
        x = np.array([0.0, 0.0, -1.0])
        while np.linalg.norm(mol.positions - dist * x, axis=1).min() < HEAD_CLEARANCE_A:
            dist = round(dist + 0.1, 10)
    pair = mol.copy() + Atoms(halide, positions=[[0.0, 0.0, -dist]])
    pair.set_cell([box, box, box])
    pair.pbc = True
    pair.center()
    pair.info.update(mol.info, reference="ion_pair", halide=halide, n_x_distance_A=dist)
    pair.info["charge"] = 0  # L+ X- is neutral (the ligand alone carries +1)
    return pair
