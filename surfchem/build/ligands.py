"""Ammonium ligand cations from SMILES, as 3D ASE ``Atoms`` oriented for binding.

A ligand is any ammonium cation with net charge +1 and exactly one ammonium N, an N+ with four
single bonds to C or H (at least one C): primary R-[NH3+], secondary R2[NH2+], tertiary R3[NH+]
or quaternary R4[N+] (no N-H). Aromatic N+ (pyridinium), iminium and nitro N are not ammonium
heads. A *tail* is a heavy-atom branch off the N with at least two carbons (a methyl is not a
tail): dodecylammonium has one tail, didodecyldimethylammonium two.

3D structures come from RDKit (ETKDGv3 embedding + MMFF94 optimisation) of the canonical SMILES.
The returned molecule has its ammonium N at the origin and +z along the vector from the N to the
centroid of the other heavy atoms, so the N-H hydrogens (or, for a quaternary head, the methyls)
point to -z, into the surface once the molecule is placed on a top-face site. Which of the
``n_conformers`` embedded conformers is kept (``which="best"``, the default):

* at most one tail: the most extended one (largest distance from the N to any heavy atom), as in
  our prototype, so the tail points away from the surface;
* two or more tails: the tails are first straightened (every backbone torsion from N-Ca-Cb-Cg
  outward set to trans, then MMFF94 again; ETKDG embeds long tails kinked and folded onto the
  surface), then among the conformers whose tails point outward (every tail heavy atom within
  :data:`MAX_TAIL_CONE_DEG` = 60 deg of +z seen from the N) the one with the largest *tail
  splay*, the smallest distance (Å) between the centroids of the heavy atoms of two tails, is
  kept (tails splayed away from each other); if no conformer points all tails outward, the one
  with the narrowest cone. Measured (seed 42, 30 conformers): DDA splay 11.7 Å, cone 57 deg,
  closest tail-tail atoms 2.24 Å; DDA4 splay 4.7 Å, cone 57 deg. Three or more tails (e.g.
  triethylammonium) cannot all fit a 60 deg cone: they get the narrowest cone.

Helpers over ``Atoms`` (also for a ligand cut out of a slab): :func:`tails`, :func:`tail_contact`,
:func:`acidic_hydrogens` (N-bound H only: what the proton-transfer sanity flag must look at).

Named ligands (case-insensitive; science brief, section 1):

* ``DDA``: didodecyldimethylammonium ``C[N+](C)(CCCCCCCCCCCC)CCCCCCCCCCCC``, the paper's DDA
  (quaternary, two C12 tails, two methyls). ``DDA<n>`` (n = 1..12): the same cation with both
  tails truncated to n carbons, e.g. ``DDA4`` dibutyldimethylammonium (``DDA12`` is ``DDA``).
  Before issue 13 ``DDA`` meant dodecylammonium (one tail): that molecule is now ``C12A``.
* ``C<n>A`` (n = 1..30): the primary n-alkylammonium ``C``*n``[NH3+]``, one tail, e.g. ``C12A``
  dodecylammonium, ``C6A`` hexylammonium (the old ``DDA6``).
* ``PEA`` phenethylammonium, ``IPA`` iso-propylammonium, ``NBA`` n-butylammonium, ``OAm``
  oleylammonium, ``MA`` methylammonium.

Any other ammonium-cation SMILES works; :class:`LigandSpec` records its RDKit canonical SMILES.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from ase import Atoms

from surfchem.errors import InputError

#: named ligands: name -> (SMILES, description)
LIGANDS: dict[str, tuple[str, str]] = {
    "DDA": ("C[N+](C)(CCCCCCCCCCCC)CCCCCCCCCCCC", "didodecyldimethylammonium (quaternary, two C12 tails)"),
    "PEA": ("[NH3+]CCc1ccccc1", "phenethylammonium"),
    "IPA": ("CC(C)[NH3+]", "iso-propylammonium"),
    "NBA": ("CCCC[NH3+]", "n-butylammonium"),
    "OAm": ("CCCCCCCC/C=C\\CCCCCCCC[NH3+]", "oleylammonium (cis-9-octadecenyl)"),
    "MA": ("C[NH3+]", "methylammonium"),
}

#: tails count as pointing outward when all their heavy atoms lie within this angle (deg) of +z
#: seen from the N: a tail leaving a tetrahedral N whose other two substituents point down starts
#: at 54.7 deg, plus a few degrees of MMFF distortion
MAX_TAIL_CONE_DEG = 60.0

#: force constant (kcal mol^-1 Å^-2) holding every bond of :func:`mmff_relax_among` within 5 % of
#: its start length: without it the restraints of a crowded neighbourhood stretched a C-C bond of
#: the 8th DDA4 to 1.92 Å (beyond bonding range, 1.2 x covalent sum = 1.83 Å)
BOND_HOLD_KCAL = 1.0e4

#: head class by number of N-H bonds of the ammonium N
HEAD_CLASSES: dict[int, str] = {3: "primary", 2: "secondary", 1: "tertiary", 0: "quaternary"}

_DDA_TRUNC = re.compile(r"^DDA[-_:]?C?(\d+)$", re.IGNORECASE)
_ALKYL = re.compile(r"^C(\d+)A$", re.IGNORECASE)
_NAMES = f"{', '.join(LIGANDS)}, DDA<n>, C<n>A"
_ACCEPTED = "primary R-[NH3+], secondary R2[NH2+], tertiary R3[NH+] or quaternary R4[N+]"


@dataclass(frozen=True)
class LigandSpec:
    """A resolved ligand.

    Attributes
    ----------
    name : str
        Short name (``"PEA"``, ``"DDA4"``, ``"C6A"``) or, for a SMILES input, the SMILES.
    smiles : str
        RDKit canonical SMILES of the cation (recorded in every result row and in task hashes).
    """

    name: str
    smiles: str


def dda_smiles(n: int) -> str:
    """SMILES of DDA with both tails truncated to ``n`` carbons (n = 12: the paper's DDA).

    Parameters
    ----------
    n : int
        Carbons per tail.

    Returns
    -------
    str
    """
    return f"C[N+](C)({'C' * n}){'C' * n}"


def legacy_meaning(name: str) -> str | None:
    """What a ligand name meant before issue 13, when it named another molecule, else None.

    ``DDA`` was dodecylammonium (now ``C12A``) and ``DDA<n>`` the primary n-alkylammonium (now
    ``C<n>A``). A result table that records only such a name, without the ``smiles`` column that
    results carry since then, cannot tell the two molecules apart.

    Parameters
    ----------
    name : str
        A ligand name.

    Returns
    -------
    str or None
        The old meaning, e.g. ``"the primary C12 n-alkylammonium ... (now C12A)"``; None when the
        name did not change meaning.
    """
    m = _DDA_TRUNC.match(str(name).strip())
    if str(name).strip().lower() == "dda" or (m and 1 <= int(m.group(1)) <= 12):
        n = int(m.group(1)) if m else 12
        return f"the primary C{n} n-alkylammonium {'C' * n}[NH3+] (now C{n}A)"
    return None


def recorded_smiles(name: str, recorded=()) -> str:
    """The SMILES of a result table's ligand.

    Parameters
    ----------
    name : str
        The ligand name of the table.
    recorded : iterable of str, default ()
        Its ``smiles`` column values.

    Returns
    -------
    str
        The first non-empty of ``recorded``, else the canonical SMILES ``name`` resolves to.

    Raises
    ------
    surfchem.errors.InputError
        A name whose molecule changed in issue 13 (:func:`legacy_meaning`) with nothing recorded:
        such a table may come from before the change; or an unknown name.
    """
    for smi in recorded:
        if isinstance(smi, str) and smi.strip() and smi.strip().lower() != "nan":
            return smi.strip()
    old = legacy_meaning(name)
    if old:
        raise InputError(
            f"ligand {name!r} has no recorded SMILES (no 'smiles' column): the table may come from a "
            f"screen before issue 13, when {name} was {old}; recompute it, or add a smiles column "
            "with the molecule that was computed")
    return resolve_ligand(name).smiles


def _named(text: str) -> tuple[str, str] | None:
    """(name, SMILES) of a ligand name, or None if ``text`` is not a name."""
    for name, (smi, _) in LIGANDS.items():
        if text.lower() == name.lower():
            return name, smi
    m = _DDA_TRUNC.match(text)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= 12:
            raise InputError(f"truncated DDA needs 1..12 carbons per tail, got {text!r} (DDA12 is DDA)")
        return (f"DDA{n}" if n != 12 else "DDA"), dda_smiles(n)
    m = _ALKYL.match(text)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= 30:
            raise InputError(f"n-alkylammonium C<n>A needs 1..30 carbons, got {text!r}")
        return f"C{n}A", "C" * n + "[NH3+]"
    return None


def resolve_ligand(ligand: str) -> LigandSpec:
    """Turn a ligand name or an ammonium SMILES into a :class:`LigandSpec`.

    Names are case-insensitive: ``DDA`` (didodecyldimethylammonium), ``DDA<n>`` (both tails
    truncated to n carbons), ``C<n>A`` (primary n-alkylammonium), ``PEA``, ``IPA``, ``NBA``,
    ``OAm``, ``MA`` (:data:`LIGANDS`). A SMILES must be an ammonium cation: net charge +1 and exactly
    one ammonium N (module docstring).

    Parameters
    ----------
    ligand : str
        Name or SMILES.

    Returns
    -------
    LigandSpec
        Name and RDKit canonical SMILES.

    Raises
    ------
    surfchem.errors.InputError
        Neither a known name nor a parsable ammonium-cation SMILES (the message says what to write,
        e.g. which N to protonate).

    Examples
    --------
    >>> from surfchem.build import resolve_ligand
    >>> resolve_ligand("C6A").smiles  # doctest: +SKIP
    'CCCCCC[NH3+]'
    """
    from rdkit import Chem

    if not isinstance(ligand, str) or not ligand.strip():
        raise InputError(f"ligand must be a name ({_NAMES}) or a SMILES, got {ligand!r}")
    text = ligand.strip()
    named = _named(text)
    name, smiles = named if named else (text, text)
    mol = mol_from_smiles(smiles)
    _head_index(mol, smiles)
    return LigandSpec(name, Chem.MolToSmiles(mol))


def mol_from_smiles(smiles: str):
    """An RDKit molecule (implicit hydrogens) from a SMILES.

    Parameters
    ----------
    smiles : str
        A SMILES string.

    Returns
    -------
    rdkit.Chem.Mol

    Raises
    ------
    surfchem.errors.InputError
        RDKit cannot parse it.
    """
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InputError(f"ligand {smiles!r} is neither a known name ({_NAMES}) nor a SMILES RDKit can parse")
    return mol


def _sp3_n_on_carbon(atom, charge: int, n_bonds: int) -> bool:
    """N with formal ``charge``, ``n_bonds`` single bonds (H included), not aromatic, and only C
    (at least one) as heavy neighbours."""
    from rdkit import Chem

    heavy = [n.GetSymbol() for n in atom.GetNeighbors() if n.GetAtomicNum() > 1]
    return (
        atom.GetSymbol() == "N"
        and atom.GetFormalCharge() == charge
        and not atom.GetIsAromatic()
        and all(b.GetBondType() == Chem.BondType.SINGLE for b in atom.GetBonds())
        and atom.GetTotalDegree() == n_bonds
        and len(heavy) >= 1
        and set(heavy) == {"C"}
    )


def _is_amine(atom) -> bool:
    """A neutral sp3 amine N (not an amide: no C=O/C=S on a neighbouring carbon)."""
    from rdkit import Chem

    if not _sp3_n_on_carbon(atom, 0, 3):
        return False
    for c in atom.GetNeighbors():
        for b in c.GetBonds():
            if b.GetBondType() == Chem.BondType.DOUBLE and b.GetOtherAtom(c).GetSymbol() in ("O", "S"):
                return False
    return True


def _cation_suggestions(mol, idx: int) -> list[str]:
    """Canonical SMILES of the protonated amine ``idx`` and, for a tertiary amine, of its
    N-methyl quaternised cation."""
    from rdkit import Chem

    atom = mol.GetAtomWithIdx(idx)
    fixed = Chem.RWMol(mol)
    n = fixed.GetAtomWithIdx(idx)
    n.SetFormalCharge(1)
    n.SetNumExplicitHs(atom.GetTotalNumHs(includeNeighbors=True) + 1)
    n.SetNoImplicit(True)
    out = [Chem.MolToSmiles(fixed)]
    if atom.GetTotalNumHs(includeNeighbors=True) == 0:
        quat = Chem.RWMol(mol)
        q = quat.GetAtomWithIdx(idx)
        q.SetFormalCharge(1)
        methyl = quat.AddAtom(Chem.Atom(6))
        quat.AddBond(idx, methyl, Chem.BondType.SINGLE)
        out.append(Chem.MolToSmiles(quat))
    return out


def _head_index(mol, smiles: str) -> int:
    """Index of the single ammonium N of ``mol``; :class:`InputError` naming ``smiles`` otherwise."""
    heads = [a.GetIdx() for a in mol.GetAtoms() if _sp3_n_on_carbon(a, 1, 4)]
    if len(heads) > 1:
        raise InputError(
            f"ligand {smiles!r} has {len(heads)} ammonium heads; a ligand needs exactly one ammonium N "
            f"({_ACCEPTED})"
        )
    if len(heads) == 1:
        charge = sum(a.GetFormalCharge() for a in mol.GetAtoms())
        if charge != 1:
            raise InputError(
                f"ligand {smiles!r} has net charge {charge:+d}; a ligand cation needs +1 (the ammonium N+ "
                "and no other charged groups or counter-ions)"
            )
        return heads[0]
    amines = [a.GetIdx() for a in mol.GetAtoms() if _is_amine(a)]
    what = ("no ammonium N+ on carbon to replace a surface Cs+ (no primary ammonium R-[NH3+], nor "
            "secondary R2[NH2+], tertiary R3[NH+] or quaternary R4[N+])")
    if len(amines) == 1:
        sugg = _cation_suggestions(mol, amines[0])
        quat = f" or the quaternised cation {sugg[1]!r}" if len(sugg) > 1 else ""
        raise InputError(
            f"ligand {smiles!r} is a neutral amine with {what}; did you mean the protonated cation "
            f"{sugg[0]!r}{quat}?"
        )
    if amines:
        raise InputError(f"ligand {smiles!r} has {len(amines)} neutral amine N and {what}; protonate exactly one")
    raise InputError(f"ligand {smiles!r} has {what}")


def head_index(smiles: str) -> int:
    """Index of the ammonium N in RDKit's atom order of ``Chem.AddHs`` of ``smiles``.

    The order of :func:`ligand`'s atoms and of :func:`mmff_relax_among`; no embedding (about a
    millisecond).

    Parameters
    ----------
    smiles : str
        An ammonium cation's SMILES.

    Returns
    -------
    int
        The N's index (heavy atoms come first, so it is the same with or without hydrogens).

    Raises
    ------
    surfchem.errors.InputError
        Not one ammonium N, or a net charge other than +1.

    Examples
    --------
    >>> head_index("C[N+](C)(CCCC)CCCC")
    1
    """
    return _head_index(mol_from_smiles(smiles), smiles)


def head_class(name_or_smiles: str) -> str:
    """Class of a ligand's ammonium head by its number of N-H (3..0).

    Parameters
    ----------
    name_or_smiles : str
        Ligand name or ammonium SMILES.

    Returns
    -------
    str
        ``"primary"``, ``"secondary"``, ``"tertiary"`` or ``"quaternary"``.

    Raises
    ------
    surfchem.errors.InputError
        Unknown name, unparsable SMILES or no ammonium head.
    """
    spec = resolve_ligand(name_or_smiles)
    mol = mol_from_smiles(spec.smiles)
    return HEAD_CLASSES[mol.GetAtomWithIdx(_head_index(mol, spec.smiles)).GetTotalNumHs(includeNeighbors=True)]


def bond_graph(atoms: Atoms, scale: float = 1.2) -> list[set[int]]:
    """Covalent neighbours of each atom of one molecule (no periodic images).

    Atoms i and j are bonded when closer than ``scale`` x (r_i + r_j) (ASE covalent radii).

    Parameters
    ----------
    atoms : ase.Atoms
        One molecule.
    scale : float, default 1.2
        Factor on the sum of covalent radii.

    Returns
    -------
    list of set of int
        The bonded neighbours of each atom.
    """
    from ase.data import covalent_radii

    pos = atoms.positions
    r = covalent_radii[atoms.numbers]
    d = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    bonded = (d < scale * (r[:, None] + r[None])) & ~np.eye(len(atoms), dtype=bool)
    return [set(np.flatnonzero(row).tolist()) for row in bonded]


def _head_of(atoms: Atoms, head: int | None) -> int:
    if head is not None:
        return int(head)
    if "head_index" in atoms.info:
        return int(atoms.info["head_index"])
    ns = [i for i, s in enumerate(atoms.symbols) if s == "N"]
    if len(ns) != 1:
        raise InputError(f"cannot tell the ammonium N among {len(ns)} N atoms; pass head= (atom index)")
    return ns[0]


def tails(atoms: Atoms, head: int | None = None) -> list[np.ndarray]:
    """The tails of one ligand molecule.

    Atom indices (heavy atoms and their H) of each heavy-atom branch off the ammonium N with at
    least two carbons, ordered by smallest index. A ring through the N counts as one branch. Works
    on a ligand cut out of a decorated slab, e.g. ``slab[slab.arrays['ligand_index'] == k]``.

    Parameters
    ----------
    atoms : ase.Atoms
        One ligand molecule.
    head : int, optional
        Index of the N (default ``info['head_index']``, else the only N).

    Returns
    -------
    list of numpy.ndarray
        One index array per tail.

    Raises
    ------
    surfchem.errors.InputError
        No ``head`` given and the molecule has no or several N.
    """
    head = _head_of(atoms, head)
    graph = bond_graph(atoms)
    heavy = atoms.numbers > 1
    seen: set[int] = {head}
    out = []
    for start in sorted(j for j in graph[head] if heavy[j]):
        if start in seen:
            continue
        branch, todo = {start}, [start]
        while todo:
            k = todo.pop()
            for j in graph[k]:
                if heavy[j] and j not in seen and j not in branch:
                    branch.add(j)
                    todo.append(j)
        seen |= branch
        if sum(atoms.symbols[j] == "C" for j in branch) >= 2:
            with_h = branch | {h for k in branch for h in graph[k] if not heavy[h]}
            out.append(np.array(sorted(with_h)))
    return out


def acidic_hydrogens(atoms: Atoms) -> np.ndarray:
    """Mask of the acidic hydrogens: H covalently bonded to an ammonium N.

    N-H of R-NH3+, R2NH2+, R3NH+; methyl/methylene H are not acidic. An N counts when it belongs
    to a ligand (per-atom array ``ligand_index`` >= 0) or, without that array, any N. Bonded: H-N
    closer than 1.2 x (r_N + r_H) = 1.22 Å. Evaluate it on the *start* structure of a relaxation (a
    transferred proton is no longer N-bound at the end).

    Parameters
    ----------
    atoms : ase.Atoms
        A molecule or a (decorated) slab.

    Returns
    -------
    numpy.ndarray
        Boolean mask over ``atoms``.
    """
    from ase.data import covalent_radii
    from ase.neighborlist import neighbor_list

    sym = np.array(atoms.get_chemical_symbols())
    lig = atoms.arrays.get("ligand_index", np.zeros(len(atoms), dtype=int))
    cutoff = 1.2 * (covalent_radii[7] + covalent_radii[1])
    i, j = neighbor_list("ij", atoms, cutoff)
    n_h = (sym[i] == "H") & (sym[j] == "N") & (lig[j] >= 0)
    mask = np.zeros(len(atoms), dtype=bool)
    mask[i[n_h]] = True
    return mask


def tail_cone(positions: np.ndarray, tail_heavy: list[np.ndarray]) -> float:
    """Half-angle of the cone about +z holding all tails.

    Parameters
    ----------
    positions : numpy.ndarray
        Positions of the molecule with its N at the origin, Å.
    tail_heavy : list of numpy.ndarray
        Heavy-atom indices of each tail.

    Returns
    -------
    float
        Largest angle between +z and the vector from the N to any tail heavy atom, degrees; 0
        without tails.
    """
    angles = [np.degrees(np.arccos(np.clip(positions[t, 2] / np.linalg.norm(positions[t], axis=1), -1, 1))).max()
              for t in tail_heavy]
    return float(max(angles)) if angles else 0.0


def tail_splay(positions: np.ndarray, tail_heavy: list[np.ndarray]) -> float:
    """Smallest distance between the centroids of two tails (heavy atoms).

    Parameters
    ----------
    positions : numpy.ndarray
        Positions of the molecule, Å.
    tail_heavy : list of numpy.ndarray
        Heavy-atom indices of each tail.

    Returns
    -------
    float
        Å; inf below two tails.
    """
    cents = [positions[t].mean(axis=0) for t in tail_heavy]
    d = [np.linalg.norm(a - b) for k, a in enumerate(cents) for b in cents[k + 1:]]
    return float(min(d)) if d else float("inf")


def tail_contact(atoms: Atoms, head: int | None = None) -> float:
    """Smallest distance between atoms (H included) of two different tails of one ligand molecule.

    Parameters
    ----------
    atoms : ase.Atoms
        One ligand molecule.
    head : int, optional
        Index of the N (as in :func:`tails`).

    Returns
    -------
    float
        Å; inf below two tails.
    """
    ts = tails(atoms, head)
    pos = atoms.positions
    d = [np.linalg.norm(pos[a][:, None] - pos[b][None], axis=2).min()
         for k, a in enumerate(ts) for b in ts[k + 1:]]
    return float(min(d)) if d else float("inf")


def ligand(
    name_or_smiles: str,
    n_conformers: int = 30,
    seed: int = 42,
    which: str | int = "best",
) -> Atoms:
    """3D ligand cation with its ammonium N at the origin and its tail(s) along +z.

    Parameters
    ----------
    name_or_smiles : str
        Ligand name or ammonium SMILES (:func:`resolve_ligand`).
    n_conformers : int, default 30
        Conformers embedded with RDKit (ETKDGv3 + MMFF94).
    seed : int, default 42
        Embedding seed (the result is deterministic for a seed).
    which : str or int, default "best"
        ``"best"`` (``"extended"`` for at most one tail, ``"splayed"`` for two or more; module
        docstring), ``"extended"`` (most extended conformer), ``"splayed"``, ``"lowest"`` (lowest
        MMFF94 energy) or an index into the embedded conformers.

    Returns
    -------
    ase.Atoms
        The cation (charge +1, not periodic). ``info``: ``ligand`` (name), ``smiles``
        (canonical), ``head_index`` (the N), ``head`` (primary..quaternary), ``n_tails``,
        ``charge`` (+1), ``mmff_energy_kcal_mol``, ``extension_A`` (Å), ``tail_splay_A`` (Å; inf
        below two tails) and ``tail_cone_deg`` (degrees).

    Raises
    ------
    surfchem.errors.InputError
        Unknown name, a SMILES that is not an ammonium cation, or a failed embedding.
    """
    return conformer_ensemble(name_or_smiles, n_conformers=n_conformers, seed=seed, which=which)[0]


def _conformer_key(which: str, n_tails: int):
    """Sort key (larger = preferred) of the conformer choice ``which``."""
    if which == "best":
        which = "splayed" if n_tails >= 2 else "extended"
    keys = {
        "extended": lambda a: a.info["extension_A"],
        "splayed": lambda a: ((True, a.info["tail_splay_A"]) if a.info["tail_cone_deg"] <= MAX_TAIL_CONE_DEG
                              else (False, -a.info["tail_cone_deg"])),
        "lowest": lambda a: -a.info["mmff_energy_kcal_mol"],
    }
    return keys.get(which)


def conformer_ensemble(
    name_or_smiles: str,
    n_conformers: int = 30,
    seed: int = 42,
    which: str | int | None = None,
) -> list[Atoms]:
    """All embedded, MMFF94-optimised conformers of a ligand, oriented as by :func:`ligand`.

    The embedding is deterministic for a ``seed`` and cached per process (a two-tailed C12 ligand
    takes about 10 s); the returned ``Atoms`` are copies.

    Parameters
    ----------
    name_or_smiles : str
        Ligand name or ammonium SMILES.
    n_conformers : int, default 30
        Conformers embedded (>= 1).
    seed : int, default 42
        Embedding seed.
    which : str or int, optional
        Return only that choice (as in :func:`ligand`); default: all of them.

    Returns
    -------
    list of ase.Atoms
        Sorted best first by the ``"best"`` choice (extension, or outward tails then splay for two
        or more tails); ``info`` as in :func:`ligand`.

    Raises
    ------
    surfchem.errors.InputError
        ``n_conformers < 1``, an unknown ``which`` or an invalid ligand.
    """
    spec = resolve_ligand(name_or_smiles)
    if n_conformers < 1:
        raise InputError(f"n_conformers must be >= 1, got {n_conformers!r}")
    out = [a.copy() for a in _embedded(spec, int(n_conformers), int(seed))]
    n_tails = out[0].info["n_tails"]
    if isinstance(which, int) and not isinstance(which, bool):
        if 0 <= which < len(out):
            return [out[which]]
    elif which is None or _conformer_key(which, n_tails) is not None:
        key = _conformer_key(which or "best", n_tails)
        return sorted(out, key=key, reverse=True) if which is None else [max(out, key=key)]
    raise InputError(
        f"which must be 'best', 'extended', 'splayed', 'lowest' or 0..{len(out) - 1}, got {which!r}"
    )


@lru_cache(maxsize=32)
def _embedded(spec: LigandSpec, n_conformers: int, seed: int) -> tuple[Atoms, ...]:
    """The oriented conformers of ``spec`` in embedding order (cached; callers copy them)."""
    from rdkit import Chem

    mol = Chem.AddHs(mol_from_smiles(spec.smiles))
    head = _head_index(mol, spec.smiles)
    cids, results = embed_conformers(mol, n_conformers, seed, spec.smiles, max_iters=2000)
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    heavy = np.array([i for i, s in enumerate(symbols) if s != "H" and i != head])
    n_nh = mol.GetAtomWithIdx(head).GetTotalNumHs(includeNeighbors=True)
    first = Atoms(symbols, positions=mol.GetConformer(cids[0]).GetPositions())
    tail_heavy = [t[first.numbers[t] > 1] for t in tails(first, head)]  # same bond graph for all
    if len(tail_heavy) >= 2:
        results = straighten_tails(mol, head, tail_heavy)
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
            head=HEAD_CLASSES[n_nh],
            n_tails=len(tail_heavy),
            charge=1,
            mmff_energy_kcal_mol=float(e),
            extension_A=float(np.linalg.norm(pos[heavy], axis=1).max()) if len(heavy) else 0.0,
            tail_splay_A=tail_splay(pos, tail_heavy),
            tail_cone_deg=tail_cone(pos, tail_heavy),
        )
        out.append(atoms)
    return tuple(out)


def straighten_tails(mol, head: int, tail_heavy: list[np.ndarray], max_iters: int = 2000):
    """Set every backbone torsion of each tail to trans (180 deg), then MMFF94-optimise again.

    Works from N-Ca-Cb-Cg outward, in every conformer of ``mol`` (with explicit H). The backbone
    is the shortest bond path from the N to the tail atom farthest from it; torsions about ring
    bonds are left alone. The conformers keep their embedded head torsions (C-N-Ca-Cb), which is
    where they differ. Used for heads with two or more tails: ETKDG embeds long tails kinked,
    folded back onto the surface, so no conformer would splay them outward.

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        The molecule with explicit H and embedded conformers (modified in place).
    head : int
        Index of the ammonium N.
    tail_heavy : list of numpy.ndarray
        Heavy-atom indices of each tail.
    max_iters : int, default 2000
        MMFF94 iterations.

    Returns
    -------
    list of tuple of (int, float)
        (not_converged, energy in kcal/mol) per conformer.
    """
    from rdkit import Chem
    from rdkit.Chem import AllChem, rdMolTransforms

    topo = Chem.GetDistanceMatrix(mol)
    paths = [list(Chem.GetShortestPath(mol, head, int(t[np.argmax(topo[head, t])]))) for t in tail_heavy]
    for conf in mol.GetConformers():
        for chain in paths:  # each starts at the N
            for k in range(len(chain) - 3):
                if not mol.GetBondBetweenAtoms(chain[k + 1], chain[k + 2]).IsInRing():
                    rdMolTransforms.SetDihedralDeg(conf, *chain[k:k + 4], 180.0)
    return AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=int(max_iters))


def embed_conformers(mol, n_conformers: int, seed: int, label: str, max_iters: int = 2000):
    """ETKDGv3-embed conformers of ``mol`` and MMFF94-optimise them in place.

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        The molecule with explicit H.
    n_conformers : int
        Conformers to embed.
    seed : int
        Random seed of the embedding.
    label : str
        Ligand name for the error message.
    max_iters : int, default 2000
        MMFF94 iterations.

    Returns
    -------
    cids : list of int
        Conformer ids.
    results : list of tuple of (int, float)
        (not_converged, energy in kcal/mol) per conformer.

    Raises
    ------
    surfchem.errors.InputError
        RDKit could not embed any conformer.
    """
    from rdkit.Chem import AllChem

    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    cids = list(AllChem.EmbedMultipleConfs(mol, numConfs=int(n_conformers), params=params))
    if not cids:
        raise InputError(f"RDKit could not embed 3D coordinates for ligand {label!r}")
    return cids, AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=int(max_iters))


def mmff_relax_among(
    symbols: list[str],
    positions: np.ndarray,
    smiles: str,
    points: np.ndarray,
    min_distances: np.ndarray,
    fixed: list[int],
    max_iters: int = 2000,
    force_constant: float = 200.0,
) -> np.ndarray:
    """MMFF94-optimise one molecule among fixed points it must keep away from.

    The molecule's own MMFF94 terms (RDKit) plus, for every (atom i, point p), a flat-bottomed
    distance restraint that is zero beyond ``min_distances[i, p]`` and harmonic below it
    (``force_constant``, kcal mol^-1 Å^-2); the points (the neighbours' atoms) and the ``fixed``
    atoms do not move, and every bond is held within 5 % of its start length
    (:data:`BOND_HOLD_KCAL`). Used to clear a crowded start (:func:`surfchem.build.decorate.relieve`).

    Parameters
    ----------
    symbols : list of str
        The molecule's atoms, in the order RDKit gives ``Chem.AddHs`` of ``smiles``.
    positions : numpy.ndarray
        (n, 3) start positions, Å.
    smiles : str
        The molecule's SMILES (its bond graph and MMFF94 types).
    points : numpy.ndarray
        (m, 3) fixed positions to keep away from, Å.
    min_distances : numpy.ndarray
        (n, m) smallest distance each atom must keep from each point, Å.
    fixed : list of int
        Atoms held in place (e.g. the ammonium N on its site).
    max_iters : int, default 2000
        Minimiser iterations.
    force_constant : float, default 200
        Restraint force constant, kcal mol^-1 Å^-2.

    Returns
    -------
    numpy.ndarray
        The optimised (n, 3) positions, Å.

    Raises
    ------
    surfchem.errors.InputError
        ``symbols`` do not match the atoms of ``smiles``, or MMFF94 has no parameters for it.
    """
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(mol_from_smiles(smiles))
    if [a.GetSymbol() for a in mol.GetAtoms()] != list(symbols):
        raise InputError(f"the atoms given are not those of {smiles!r} in RDKit's order")
    conf = Chem.Conformer(mol.GetNumAtoms())
    start = np.asarray(positions, float)
    for i, xyz in enumerate(start):
        conf.SetAtomPosition(i, xyz.tolist())
    mol.AddConformer(conf, assignId=True)
    props = AllChem.MMFFGetMoleculeProperties(mol)
    if props is None:
        raise InputError(f"MMFF94 has no parameters for {smiles!r}")
    ff = AllChem.MMFFGetMoleculeForceField(mol, props)
    n = mol.GetNumAtoms()
    for p in np.asarray(points, float):
        ff.AddExtraPoint(*p.tolist(), fixed=True)
    ff.Initialize()
    for i in fixed:
        ff.AddFixedPoint(int(i))
    for bond in mol.GetBonds():  # many restraints pulling one way can outweigh a bond's own term
        a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        d = float(np.linalg.norm(start[a] - start[b]))
        ff.AddDistanceConstraint(a, b, 0.95 * d, 1.05 * d, BOND_HOLD_KCAL)
    for i, row in enumerate(np.asarray(min_distances, float)):
        for p, lo in enumerate(row):
            ff.AddDistanceConstraint(i, n + p, float(lo), 1e4, float(force_constant))
    ff.Initialize()
    ff.Minimize(maxIts=int(max_iters))
    return np.array(ff.Positions(), float).reshape(-1, 3)[:n]


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
    """Number of rotatable bonds of a ligand (RDKit strict definition, heavy-atom graph).

    Used by the ``rotor`` entropy model (R ln 3 per frozen sp3-sp3 torsion, :mod:`surfchem.thermo`).

    Parameters
    ----------
    name_or_smiles : str
        Ligand name or ammonium SMILES.

    Returns
    -------
    int
        Rotatable bonds.
    """
    from rdkit.Chem import rdMolDescriptors

    spec = resolve_ligand(name_or_smiles)
    return int(rdMolDescriptors.CalcNumRotatableBonds(mol_from_smiles(spec.smiles)))
