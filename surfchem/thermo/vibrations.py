"""Finite-displacement vibrations (phonopy) of selected atoms: partial Hessians, cached on disk.

For a slab only the ligand atoms are displaced (a *partial Hessian*: the other atoms are held at
their relaxed positions, so the inorganic lattice acts as a rigid, polarisable wall). For a free
molecule (the L+ X- ion pair in its box) every atom is displaced and the three translations and
three rotations are projected out of the mass-weighted Hessian (Eckart conditions), leaving the
3N-6 internal modes.

Procedure (:func:`vibrational_modes`)
    1. optional re-relaxation of the displaced atoms only (the rest fixed) to ``prerelax_fmax``
       (eV/Å): harmonic modes need a tighter minimum than a coverage screen's 0.05 eV/Å;
    2. phonopy (``is_symmetry=False``, Gamma point, supercell = the cell) generates +- Cartesian
       displacements of ``distance`` Å; those of atoms outside ``indices`` are dropped;
    3. forces of each displaced structure with the calculator, saved to
       ``CACHE/<key>.npz`` as they come (a killed job resumes; the key hashes structure,
       indices, distance, pre-relaxation and calculator);
    4. phonopy's ``solve_force_constants`` (least squares over the +- pair, i.e. a central
       difference) gives the force-constant rows of the displaced atoms; the ``indices`` block,
       symmetrised and mass-weighted, is diagonalised.

Frequencies are returned in cm^-1, imaginary ones as negative numbers (reported, never hidden;
the free-energy functions skip them and count them).

Cost: 6 force calls per displaced atom. Methylammonium on a 2x2 slab: 48 calls per ligand
(seconds with CHGNet). PEA at N = 8: 960 calls of a 208-atom slab (about 15-30 min on 2 cores
with CHGNet; hours with xTB): run such cases as cluster jobs (the cache makes them restartable
and shareable, e.g. ``surfchem thermo RESULTS --entropy qrrho --cache /scratch/vib``).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms, units

from surfchem.calculators import get_calculator, preset_parameters
from surfchem.core.hashing import task_hash
from surfchem.errors import InputError

#: default displacement (Å) and pre-relaxation force criterion (eV/Å)
DEFAULT_DISTANCE_A = 0.01
DEFAULT_PRERELAX_FMAX = 0.01


def default_cache_dir() -> Path:
    """Default force cache of the vibrational modes (content-keyed, safe to share).

    Returns
    -------
    Path
        ``$SURFCHEM_VIB_CACHE``, else ``$XDG_CACHE_HOME/surfchem/vib`` or
        ``~/.cache/surfchem/vib``.
    """
    env = os.environ.get("SURFCHEM_VIB_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "surfchem" / "vib"


@dataclass
class Modes:
    """Vibrational modes of the displaced atoms of one structure.

    Attributes
    ----------
    frequencies_cm1 : list of float
        Wavenumbers, ascending, cm⁻¹ (negative = imaginary).
    indices : list of int
        The displaced atoms.
    projected_rigid : bool
        Translations and rotations were projected out.
    n_imaginary : int
        Imaginary modes.
    imaginary_cm1 : list of float
        Their wavenumbers, cm⁻¹.
    n_force_calls : int
        Force calls made (0 when read from the cache).
    fmax_eV_A : float
        Largest force on the displaced atoms at the reference geometry, eV/Å.
    prerelax_dE_eV : float
        Energy change of the optional re-relaxation, eV.
    key : str
        Content key of the cache entry.
    cache : str or None
        Cache file.
    wall_s : float
        Wall time, s.
    extra : dict
        Further data.
    """

    frequencies_cm1: list[float]  # ascending; negative = imaginary
    indices: list[int]
    projected_rigid: bool
    n_imaginary: int
    imaginary_cm1: list[float]
    n_force_calls: int
    fmax_eV_A: float  # max force on the displaced atoms at the reference geometry
    prerelax_dE_eV: float  # energy change of the optional re-relaxation
    key: str
    cache: str | None
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The fields as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)


def _key(atoms: Atoms, indices: list[int], distance: float, project: bool,
         prerelax_fmax: float | None, calc_params: dict) -> str:
    return "vib-" + task_hash(atoms, calc_params, {
        "task": "vib", "indices": indices, "distance": distance, "project": project,
        "prerelax_fmax": prerelax_fmax, "engine": "phonopy-fd-1",
    })


def _phonopy_displacements(atoms: Atoms, indices: list[int], distance: float) -> list[dict]:
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    cell = atoms.cell[:] if atoms.cell.rank == 3 else np.eye(3) * (np.ptp(atoms.positions, 0).max() + 20)
    unit = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=cell,
                        positions=atoms.positions, masses=atoms.get_masses())
    ph = Phonopy(unit, supercell_matrix=np.eye(3, dtype=int), primitive_matrix="P", is_symmetry=False)
    ph.generate_displacements(distance=distance, is_plusminus=True)
    keep = set(indices)
    return [d for d in ph.dataset["first_atoms"] if int(d["number"]) in keep], ph.supercell


def _rigid_basis(positions: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Orthonormal mass-weighted translation + rotation vectors (3n x k, k = 5 or 6)."""
    n = len(masses)
    sq = np.sqrt(masses)
    com = (masses[:, None] * positions).sum(0) / masses.sum()
    r = positions - com
    vecs = []
    for a in range(3):
        v = np.zeros((n, 3))
        v[:, a] = sq
        vecs.append(v.ravel())
    for a in range(3):
        e = np.zeros(3)
        e[a] = 1.0
        vecs.append((np.cross(e, r) * sq[:, None]).ravel())
    u, s, _ = np.linalg.svd(np.array(vecs).T, full_matrices=False)
    return u[:, s > 1e-6 * s.max()]


def hessian_frequencies_cm1(hessian_eV_A2: np.ndarray, masses_amu: np.ndarray,
                            positions_A: np.ndarray | None = None, project_rigid: bool = False) -> np.ndarray:
    """Harmonic wavenumbers of a Cartesian Hessian.

    Parameters
    ----------
    hessian_eV_A2 : numpy.ndarray
        Hessian (3n, 3n), eV/Å².
    masses_amu : numpy.ndarray
        Masses of the n atoms, amu.
    positions_A : numpy.ndarray, optional
        Positions (n, 3), Å; needed by ``project_rigid``.
    project_rigid : bool, default False
        Remove translations and rotations.

    Returns
    -------
    numpy.ndarray
        Wavenumbers, ascending, cm⁻¹ (negative = imaginary).
    """
    h = 0.5 * (hessian_eV_A2 + hessian_eV_A2.T)
    m = np.repeat(np.asarray(masses_amu, float), 3)
    hmw = h / np.sqrt(np.outer(m, m))
    if project_rigid:
        if positions_A is None:
            raise InputError("projecting rigid motions needs the positions")
        rb = _rigid_basis(np.asarray(positions_A, float), np.asarray(masses_amu, float))
        u, s, _ = np.linalg.svd(np.eye(len(m)) - rb @ rb.T)
        q = u[:, s > 0.5]
        hmw = q.T @ hmw @ q
    eig = np.linalg.eigvalsh(hmw)
    # same conversion as ase.vibrations: hbar * sqrt(k/m) in eV
    s_conv = units._hbar * 1e10 / np.sqrt(units._e * units._amu)
    e_eV = s_conv * np.sign(eig) * np.sqrt(np.abs(eig))
    return np.sort(e_eV / units.invcm)


def _prerelax(atoms: Atoms, calc: Any, indices: list[int], fmax: float, steps: int) -> tuple[Atoms, float]:
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS

    work = atoms.copy()
    work.calc = calc
    others = sorted(set(range(len(work))) - set(indices))
    if others:
        work.set_constraint(FixAtoms(indices=others))
    e0 = work.get_potential_energy()
    BFGS(work, logfile=None).run(fmax=fmax, steps=steps)
    de = work.get_potential_energy() - e0
    work.set_constraint()
    return work, float(de)


def vibrational_modes(
    atoms: Atoms,
    calculator: Any,
    indices: list[int] | None = None,
    distance: float = DEFAULT_DISTANCE_A,
    project_rigid: bool | None = None,
    prerelax_fmax: float | None = DEFAULT_PRERELAX_FMAX,
    prerelax_steps: int = 300,
    cache_dir: str | os.PathLike | None = None,
    calc_params: dict | None = None,
) -> Modes:
    """Modes of ``atoms`` displacing only ``indices`` (see module docs).

    Parameters
    ----------
    atoms : ase.Atoms
        The relaxed structure.
    calculator : str or ase.calculators.calculator.Calculator
        Preset name or ASE calculator.
    indices : list of int, optional
        Atoms to displace (default all).
    distance : float, default 0.01
        Finite-displacement step, Å (0 < distance <= 0.1).
    project_rigid : bool, optional
        Remove translations and rotations (default: True when all atoms are displaced, i.e. a
        free molecule).
    prerelax_fmax : float or None, default 0.01
        Re-relax the displaced atoms to this force first, eV/Å (None: no).
    prerelax_steps : int, default 300
        Steps of that re-relaxation.
    cache_dir : str or os.PathLike, optional
        Force cache (default :func:`default_cache_dir`; ``"none"`` disables it).
    calc_params : dict, optional
        Calculator parameters that key the cache (default: the preset's).

    Returns
    -------
    Modes

    Raises
    ------
    surfchem.errors.InputError
        Empty or out-of-range ``indices``, or ``distance`` outside (0, 0.1] Å.
    """
    t0 = time.perf_counter()
    n = len(atoms)
    idx = sorted(range(n)) if indices is None else sorted({int(i) for i in indices})
    if not idx or idx[0] < 0 or idx[-1] >= n:
        raise InputError(f"indices must be a non-empty subset of 0..{n - 1}, got {indices!r}")
    if distance <= 0 or distance > 0.1:
        raise InputError(f"displacement distance must be in (0, 0.1] Å, got {distance}")
    if project_rigid is None:
        project_rigid = len(idx) == n
    params = calc_params or preset_parameters(calculator)
    key = _key(atoms, idx, distance, project_rigid, prerelax_fmax, params)
    cache = None if str(cache_dir).lower() == "none" else Path(cache_dir or default_cache_dir())
    path = cache / f"{key}.npz" if cache else None
    calc = None

    def _calc():
        nonlocal calc
        if calc is None:
            calc = get_calculator(calculator)
        return calc

    data: dict[str, Any] = {}
    if path is not None and path.exists():
        with np.load(path) as z:
            data = {k: z[k] for k in z.files}
    if "positions" in data:
        ref = atoms.copy()
        ref.positions = data["positions"]
        de = float(data["prerelax_dE"])
    elif prerelax_fmax:
        ref, de = _prerelax(atoms, _calc(), idx, prerelax_fmax, prerelax_steps)
    else:
        ref, de = atoms.copy(), 0.0
    if "forces0" in data:
        f0 = data["forces0"]
    else:
        r = ref.copy()
        r.calc = _calc()
        f0 = r.get_forces()
    disps, supercell = _phonopy_displacements(ref, idx, distance)
    nd = len(disps)
    forces = data.get("forces", np.zeros((nd, n, 3)))
    done = data.get("done", np.zeros(nd, bool))
    if forces.shape != (nd, n, 3):
        forces, done = np.zeros((nd, n, 3)), np.zeros(nd, bool)

    def _save():
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, positions=ref.positions, prerelax_dE=de, forces0=f0, forces=forces, done=done,
                 displacements=np.array([d["displacement"] for d in disps]),
                 numbers=np.array([d["number"] for d in disps]), indices=np.array(idx))
        os.replace(tmp, path)

    calls = 0
    last = time.perf_counter()
    for k, d in enumerate(disps):
        if done[k]:
            continue
        work = ref.copy()
        work.positions[int(d["number"])] += d["displacement"]
        work.calc = _calc()
        forces[k] = work.get_forces()
        done[k] = True
        calls += 1
        if time.perf_counter() - last > 30:
            _save()
            last = time.perf_counter()
    if calls or not (path and path.exists()):
        _save()

    from phonopy.harmonic.force_constants import solve_force_constants

    atom_list = np.array(idx, dtype=np.int64)
    fc = np.zeros((len(idx), n, 3, 3), dtype="double", order="C")
    eye = np.array([np.eye(3, dtype=np.int64)])
    for a in idx:
        sel = [k for k, d in enumerate(disps) if int(d["number"]) == a]
        solve_force_constants(fc, a, [disps[k]["displacement"] for k in sel],
                              [forces[k] for k in sel], supercell, eye, 1e-5, atom_list=atom_list)
    block = fc[:, idx].transpose(0, 2, 1, 3).reshape(3 * len(idx), 3 * len(idx))
    freqs = hessian_frequencies_cm1(block, ref.get_masses()[idx], ref.positions[idx], project_rigid)
    imag = [float(f) for f in freqs if f < 0]
    return Modes(
        frequencies_cm1=[float(f) for f in freqs], indices=idx, projected_rigid=bool(project_rigid),
        n_imaginary=len(imag), imaginary_cm1=imag, n_force_calls=calls,
        fmax_eV_A=float(np.linalg.norm(f0[idx], axis=1).max()), prerelax_dE_eV=de, key=key,
        cache=str(path) if path else None, wall_s=time.perf_counter() - t0,
    )


def ligand_indices(atoms: Atoms) -> list[int]:
    """Indices of all ligand atoms of a decorated slab (``ligand_index >= 0``).

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab.

    Returns
    -------
    list of int

    Raises
    ------
    surfchem.errors.InputError
        The structure has no ``ligand_index`` array.
    """
    if "ligand_index" not in atoms.arrays:
        raise InputError("structure has no 'ligand_index' array: build it with surfchem.build.decorate")
    return [int(i) for i in np.flatnonzero(atoms.get_array("ligand_index") >= 0)]
