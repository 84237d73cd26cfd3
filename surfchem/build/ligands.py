"""Ligand cations R-NH3+ from SMILES, as 3D ASE ``Atoms`` oriented for binding.

3D structures come from RDKit (ETKDGv3 embedding + MMFF94 optimisation). Among ``n_conformers``
embedded conformers we keep the most extended one (largest distance from the ammonium N to any
heavy atom), as in our prototype, so the tail points away from the surface. The returned
molecule has its ammonium N at the origin and its tail along +z (the vector from N to the
centroid of the other heavy atoms), so the NH3+ hydrogens point to -z, i.e. into the surface
once the molecule is placed on a top-face site.

Named ligands (science brief, section 1): DDA dodecylammonium (``DDA<n>`` = truncated to n
carbons, e.g. ``DDA6`` hexylammonium), PEA phenethylammonium, IPA iso-propylammonium, NBA
n-butylammonium, OAm oleylammonium, MA methylammonium. Any other primary-ammonium SMILES works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from surfchem.errors import InputError

#: named ligands: name -> (SMILES, description)
LIGANDS: dict[str, tuple[str, str]] = {
    "DDA": ("CCCCCCCCCCCC[NH3+]", "dodecylammonium (C12)"),
    "PEA": ("[NH3+]CCc1ccccc1", "phenethylammonium"),
    "IPA": ("CC(C)[NH3+]", "iso-propylammonium"),
    "NBA": ("CCCC[NH3+]", "n-butylammonium"),
    "OAm": ("CCCCCCCC/C=C\\CCCCCCCC[NH3+]", "oleylammonium (cis-9-octadecenyl)"),
    "MA": ("C[NH3+]", "methylammonium"),
}

_DDA_TRUNC = re.compile(r"^DDA[-_:]?C?(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class LigandSpec:
    """A resolved ligand: short ``name`` and canonical cation ``smiles``."""

    name: str
    smiles: str


def resolve_ligand(ligand: str) -> LigandSpec:
    """Turn a ligand name (``PEA``, ``DDA``, ``DDA6``...) or a SMILES into a :class:`LigandSpec`.

    Names are case-insensitive. A SMILES must contain exactly one primary ammonium head
    ``[NH3+]`` bonded to carbon; otherwise :class:`InputError` explains what to write.
    """
    if not isinstance(ligand, str) or not ligand.strip():
        raise InputError(f"ligand must be a name ({', '.join(LIGANDS)}, DDA<n>) or a SMILES, got {ligand!r}")
    text = ligand.strip()
    for name, (smi, _) in LIGANDS.items():
        if text.lower() == name.lower():
            return LigandSpec(name, smi)
    m = _DDA_TRUNC.match(text)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= 12:
            raise InputError(f"truncated DDA needs 1..12 carbons, got {text!r}")
        return LigandSpec(f"DDA{n}" if n != 12 else "DDA", "C" * n + "[NH3+]")
    mol = _mol_from_smiles(text)
    _head_index(mol, text)
    from rdkit import Chem

    return LigandSpec(text, Chem.MolToSmiles(mol))


def _mol_from_smiles(smiles: str):
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InputError(
            f"ligand {smiles!r} is neither a known name ({', '.join(LIGANDS)}, DDA<n>) "
            "nor a SMILES RDKit can parse"
        )
    return mol


def _heavy_neighbours(atom) -> list[str]:
    return [n.GetSymbol() for n in atom.GetNeighbors() if n.GetAtomicNum() > 1]


def _head_index(mol, smiles: str) -> int:
    """Index of the single primary-ammonium N (+1, three H, one carbon neighbour)."""
    heads = [
        a.GetIdx()
        for a in mol.GetAtoms()
        if a.GetSymbol() == "N"
        and a.GetFormalCharge() == 1
        and a.GetTotalNumHs(includeNeighbors=True) == 3
        and _heavy_neighbours(a) == ["C"]
    ]
    if len(heads) == 1:
        charge = sum(a.GetFormalCharge() for a in mol.GetAtoms())
        if charge != 1:
            raise InputError(f"ligand {smiles!r} has net charge {charge:+d}; a ligand cation needs +1")
        return heads[0]
    if len(heads) > 1:
        raise InputError(f"ligand {smiles!r} has {len(heads)} ammonium heads; give exactly one [NH3+]")
    amines = [
        a for a in mol.GetAtoms()
        if a.GetSymbol() == "N" and a.GetFormalCharge() == 0 and a.GetTotalNumHs(includeNeighbors=True) == 2
        and _heavy_neighbours(a) == ["C"]
    ]
    hint = ""
    if len(amines) == 1:
        from rdkit import Chem

        fixed = Chem.RWMol(mol)
        atom = fixed.GetAtomWithIdx(amines[0].GetIdx())
        atom.SetFormalCharge(1)
        atom.SetNumExplicitHs(3)
        atom.SetNoImplicit(True)
        hint = f"; did you mean the protonated cation {Chem.MolToSmiles(fixed)!r}?"
    raise InputError(
        f"ligand {smiles!r} has no primary ammonium head R-[NH3+] (the head that replaces a "
        f"surface Cs+){hint}"
    )


def ligand(
    name_or_smiles: str,
    n_conformers: int = 30,
    seed: int = 42,
    which: str | int = "extended",
) -> Atoms:
    """3D ligand cation with N at the origin and its tail along +z.

    ``which``: ``"extended"`` (most extended conformer, default), ``"lowest"`` (lowest MMFF94
    energy) or an int index into the embedded conformers. Metadata in ``atoms.info``:
    ``ligand`` (name), ``smiles``, ``head_index`` (the N), ``charge`` (+1).
    """
    return conformer_ensemble(name_or_smiles, n_conformers=n_conformers, seed=seed, which=which)[0]


def conformer_ensemble(
    name_or_smiles: str,
    n_conformers: int = 30,
    seed: int = 42,
    which: str | int | None = None,
) -> list[Atoms]:
    """All embedded, MMFF94-optimised conformers, oriented; ``info['mmff_energy_kcal_mol']``.

    Sorted by extension (N to farthest heavy atom, descending); with ``which`` only that one.
    """
    from rdkit import Chem

    spec = resolve_ligand(name_or_smiles)
    if n_conformers < 1:
        raise InputError(f"n_conformers must be >= 1, got {n_conformers!r}")
    mol = Chem.AddHs(_mol_from_smiles(spec.smiles))
    head = _head_index(mol, spec.smiles)
    cids, results = embed_conformers(mol, n_conformers, seed, spec.smiles, max_iters=2000)
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    heavy = np.array([i for i, s in enumerate(symbols) if s != "H" and i != head])
    out = []
    for cid, (_, e) in zip(cids, results, strict=True):
        pos = mol.GetConformer(cid).GetPositions()
        pos = pos - pos[head]
        axis = pos[heavy].mean(axis=0) if len(heavy) else np.array([0.0, 0.0, 1.0])
        pos = pos @ _rotation_to_z(axis).T
        atoms = Atoms(symbols, positions=pos)
        atoms.info.update(
            ligand=spec.name,
            smiles=spec.smiles,
            head_index=int(head),
            charge=1,
            mmff_energy_kcal_mol=float(e),
            extension_A=float(np.linalg.norm(pos[heavy], axis=1).max()) if len(heavy) else 0.0,
        )
        out.append(atoms)
    if which is None:
        return sorted(out, key=lambda a: -a.info["extension_A"])
    if which == "extended":
        return [max(out, key=lambda a: a.info["extension_A"])]
    if which == "lowest":
        return [min(out, key=lambda a: a.info["mmff_energy_kcal_mol"])]
    if isinstance(which, int) and 0 <= which < len(out):
        return [out[which]]
    raise InputError(f"which must be 'extended', 'lowest' or 0..{len(out) - 1}, got {which!r}")


def embed_conformers(mol, n_conformers: int, seed: int, label: str, max_iters: int = 2000):
    """ETKDGv3-embed ``n_conformers`` conformers of ``mol`` (with explicit H) and MMFF94-optimise
    them in place; returns (conformer ids, [(not_converged, energy_kcal_mol), ...])."""
    from rdkit.Chem import AllChem

    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    cids = list(AllChem.EmbedMultipleConfs(mol, numConfs=int(n_conformers), params=params))
    if not cids:
        raise InputError(f"RDKit could not embed 3D coordinates for ligand {label!r}")
    return cids, AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=int(max_iters))


def _rotation_to_z(v: np.ndarray) -> np.ndarray:
    """Rotation matrix taking the direction of ``v`` onto +z (Rodrigues)."""
    v = np.asarray(v, float)
    v = v / np.linalg.norm(v)
    z = np.array([0.0, 0.0, 1.0])
    c = float(v @ z)
    if c > 1 - 1e-12:
        return np.eye(3)
    if c < -1 + 1e-12:
        return np.diag([1.0, -1.0, -1.0])
    k = np.cross(v, z)
    s = np.linalg.norm(k)
    k /= s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def rotor_count(name_or_smiles: str) -> int:
    """Number of rotatable bonds (RDKit strict rotatable-bond definition, heavy-atom graph)."""
    from rdkit.Chem import rdMolDescriptors

    spec = resolve_ligand(name_or_smiles)
    return int(rdMolDescriptors.CalcNumRotatableBonds(_mol_from_smiles(spec.smiles)))
