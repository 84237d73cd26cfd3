"""Symmetric AX-terminated (100) slabs of cubic ABX3 perovskites.

The (100) stacking of a cubic perovskite alternates AX layers (A at (0, 0), X at (½, ½)) and
BX2 layers (B at (½, ½), X at (½, 0) and (0, ½)), a/2 apart. A slab with ``layers`` atomic layers
(odd, starting and ending with AX) is symmetric under the mirror z -> -z through its middle.

Reference case (our choice, as in the paper's "2 × 2 × 1" slab): ``size=(2, 2), layers=5``,
i.e. 3 CsBr + 2 PbBr2 layers, Cs12Pb8Br28, 48 atoms, with 4 surface Cs on each face. Five layers
is the thinnest slab whose middle layer is bulk-coordinated; thicker slabs converge gamma at
higher cost (``layers=7``: Cs16Pb12Br40).

Site labels: the per-atom array ``surface_site`` holds -1 for every atom except the surface A
cations, which are numbered 0..n-1 (``top`` face first, then ``bottom``, each in order of
in-plane position). ``atoms.info["surface_faces"]`` lists the face of each site.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from surfchem.build.bulk import get_material
from surfchem.errors import InputError

#: default vacuum between periodic images, Å (>= 15 Å as in the science brief)
DEFAULT_VACUUM_A = 15.0


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        nx, ny = (int(s) for s in size)
    except (TypeError, ValueError):
        raise InputError(f"size must be two positive integers (nx, ny), got {size!r}") from None
    if nx < 1 or ny < 1:
        raise InputError(f"size must be two positive integers (nx, ny), got {size!r}")
    return nx, ny


def slab(
    material: str = "CsPbBr3",
    size: tuple[int, int] = (2, 2),
    layers: int = 5,
    vacuum: float = DEFAULT_VACUUM_A,
    a: float | None = None,
) -> Atoms:
    """Symmetric AX-terminated (100) slab with labelled surface A sites.

    Layers alternate AX, BX2, AX, ... and both outermost layers are AX (CsBr), so the slab is
    symmetric and stoichiometric in AX excess. Each outermost A cation is a surface site, numbered
    0..n_sites-1 (top face first) in the per-atom array ``surface_site`` (-1 elsewhere).

    Parameters
    ----------
    material : str, default "CsPbBr3"
        A perovskite from :data:`surfchem.build.bulk.MATERIALS` (``CsPbBr3``, ``CsPbI3``).
    size : tuple of int, default (2, 2)
        In-plane repetitions of the cubic cell (nx, ny).
    layers : int, default 5
        Number of atomic layers, odd and >= 3; 5 gives Cs12Pb8Br28 at 2x2.
    vacuum : float, default 15.0
        Vacuum between the outermost atoms of neighbouring images along z, Å.
    a : float, optional
        Cubic lattice constant, Å (default: the material's experimental value; the screen uses
        the calculator's own a0).

    Returns
    -------
    ase.Atoms
        The slab, periodic in x and y (the cell height sets the vacuum); arrays
        ``surface_site`` and ``ligand_index`` (-1: inorganic); ``info`` holds ``material``,
        ``a_A`` (Å), ``size``, ``layers``, ``vacuum_A`` (Å), ``surface_faces`` (``"top"`` or
        ``"bottom"`` per site), ``n_ligands`` and ``occupied_sites``.

    Raises
    ------
    surfchem.errors.InputError
        A non-perovskite material, an even or too small ``layers``, a bad ``size``, a negative
        ``vacuum`` or a non-positive ``a``.

    Examples
    --------
    >>> from surfchem.build import slab
    >>> s = slab("CsPbBr3", size=(2, 2), layers=5)
    >>> s.get_chemical_formula(), int((s.get_array("surface_site") >= 0).sum())
    ('Br28Cs12Pb8', 8)
    """
    mat = get_material(material)
    if mat.kind != "perovskite":
        raise InputError(f"slab() builds perovskite slabs; {mat.name!r} is a {mat.kind} salt")
    nx, ny = _check_size(size)
    if int(layers) != layers or layers < 3 or layers % 2 == 0:
        raise InputError(f"layers must be an odd integer >= 3 (AX ... AX), got {layers!r}")
    if vacuum < 0:
        raise InputError(f"vacuum must be >= 0 Å, got {vacuum!r}")
    a = mat.a0_A if a is None else float(a)
    if not np.isfinite(a) or a <= 0:
        raise InputError(f"lattice constant a must be a positive number of Å, got {a!r}")

    symbols: list[str] = []
    positions: list[tuple[float, float, float]] = []
    site_layer: list[int] = []  # layer index of each A cation, -1 otherwise
    for layer in range(int(layers)):
        z = layer * a / 2
        if layer % 2 == 0:  # AX layer
            motif = [(mat.a, 0.0, 0.0), (mat.x, 0.5, 0.5)]
        else:  # BX2 layer
            motif = [(mat.b, 0.5, 0.5), (mat.x, 0.5, 0.0), (mat.x, 0.0, 0.5)]
        for i in range(nx):
            for j in range(ny):
                for sym, fx, fy in motif:
                    symbols.append(sym)
                    positions.append(((i + fx) * a, (j + fy) * a, z))
                    site_layer.append(layer if sym == mat.a else -1)

    thickness = (layers - 1) * a / 2
    atoms = Atoms(
        symbols,
        positions=positions,
        cell=[nx * a, ny * a, thickness + vacuum],
        pbc=True,
    )
    atoms.translate([0, 0, vacuum / 2])

    site_layer_arr = np.array(site_layer)
    top = np.flatnonzero(site_layer_arr == layers - 1)
    bottom = np.flatnonzero(site_layer_arr == 0)
    surface_site = np.full(len(atoms), -1, dtype=int)
    surface_site[top] = np.arange(len(top))
    surface_site[bottom] = len(top) + np.arange(len(bottom))
    atoms.set_array("surface_site", surface_site)
    atoms.set_array("ligand_index", np.full(len(atoms), -1, dtype=int))
    atoms.info.update(
        material=mat.name,
        a_A=a,
        size=f"{nx}x{ny}",
        layers=int(layers),
        vacuum_A=float(vacuum),
        surface_faces=["top"] * len(top) + ["bottom"] * len(bottom),
        n_ligands=0,
        occupied_sites=[],
    )
    return atoms


def build_slab(material: str = "CsPbBr3", **kwargs) -> Atoms:
    """Build a slab: the same as :func:`slab` (the name of the top-level API).

    Parameters
    ----------
    material : str, default "CsPbBr3"
        A perovskite from :data:`surfchem.build.bulk.MATERIALS`.
    **kwargs
        ``size``, ``layers``, ``vacuum`` (Å), ``a`` (Å): see :func:`slab`.

    Returns
    -------
    ase.Atoms
        The slab of :func:`slab` (Cs12Pb8Br28 with 8 labelled sites by default).
    """
    return slab(material, **kwargs)


def site_indices(atoms: Atoms) -> np.ndarray:
    """Atom index of each surface site, ordered by site number.

    Parameters
    ----------
    atoms : ase.Atoms
        A slab of :func:`slab`, bare or decorated.

    Returns
    -------
    numpy.ndarray of int
        Shape (n_sites,): the index of the A cation on each site, -1 where a ligand replaced it.
    """
    labels = atoms.get_array("surface_site")
    n_sites = len(atoms.info.get("surface_faces", [])) or int(labels.max()) + 1
    out = np.full(n_sites, -1, dtype=int)
    for idx in np.flatnonzero(labels >= 0):
        out[labels[idx]] = idx
    return out


def site_positions(atoms: Atoms) -> np.ndarray:
    """Cartesian positions of the surface sites as built.

    Parameters
    ----------
    atoms : ase.Atoms
        A slab; a decorated slab needs ``info['site_positions']`` (set by
        :func:`surfchem.build.decorate.decorate`).

    Returns
    -------
    numpy.ndarray
        Shape (n_sites, 3), Å.

    Raises
    ------
    surfchem.errors.InputError
        For an occupied slab without recorded site positions.
    """
    if "site_positions" in atoms.info:
        return np.asarray(atoms.info["site_positions"], dtype=float).reshape(-1, 3)
    idx = site_indices(atoms)
    if (idx < 0).any():
        raise InputError("site positions of an occupied slab are unknown; build from a bare slab")
    return atoms.positions[idx].copy()


def inplane_distances(points: np.ndarray, origin: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Minimum-image in-plane distances from ``origin`` to each of ``points`` (x, y used).

    In the 2-D lattice of the first two cell vectors (orthogonal to z, as every slab here).

    Parameters
    ----------
    points : numpy.ndarray
        Positions (n, 3) or (3,), Å.
    origin : numpy.ndarray
        Position (3,), Å.
    cell : numpy.ndarray
        Cell (3, 3), Å.

    Returns
    -------
    numpy.ndarray
        n distances, Å.
    """
    c = np.asarray(cell, dtype=float)[:2, :2]
    frac = (np.atleast_2d(np.asarray(points, dtype=float))[:, :2] - np.asarray(origin, dtype=float)[:2]) @ np.linalg.inv(c)
    frac -= np.round(frac)
    return np.linalg.norm(frac @ c, axis=1)


def surface_normals(atoms: Atoms) -> np.ndarray:
    """Outward unit normal of every surface site.

    Parameters
    ----------
    atoms : ase.Atoms
        A slab with ``info['surface_faces']``.

    Returns
    -------
    numpy.ndarray
        (n_sites, 3): +z for ``top``, -z for ``bottom`` sites.
    """
    faces = atoms.info["surface_faces"]
    return np.array([[0.0, 0.0, 1.0 if f == "top" else -1.0] for f in faces])
