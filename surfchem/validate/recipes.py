"""Validation recipes: plain functions over structures returning typed records (units in names).

Every recipe takes an :class:`~surfchem.validate.engine.Evaluator` (cache + GPAW files) and a
calculator name; energies of one recipe are compared across calculators **on the same
geometries** (fixed-geometry parity: the difference is the energy model, not a different
minimum).

Geometry protocol (our choice, stated in every record):

- bulk: each calculator relaxes its own a0 (Birch-Murnaghan EOS over a symmetric strain scan,
  ASE :class:`~ase.eos.EquationOfState`); Wyckoff positions are fixed by symmetry.
- surface energy: bare CsBr-terminated (100) slabs, unrelaxed, cut from the bulk at the
  experimental lattice constant; bulk references at their experimental lattice constants.
  This is the cleavage (unrelaxed) gamma: it measures the energy model, and its convergence
  with the number of layers. (Relaxed gamma needs relaxed geometries per calculator.)
- ligand exchange and stacking: geometries relaxed once with the geometry calculator
  (default: the embedded ML default ``chgnet-d3``, the funnel's first stage), then single points
  with every calculator: exactly what the funnel does when it re-scores ML minima with DFT.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from ase import Atoms

from surfchem.build import decorate, ion_pair, slab
from surfchem.build.bulk import HALIDE_SALT, bulk, get_material
from surfchem.core.hashing import task_hash
from surfchem.core.units import EV_PER_A2_IN_J_PER_M2
from surfchem.errors import CalculatorError, InputError
from surfchem.relax import relax
from surfchem.validate.engine import Evaluator, kpts_for, resolve_calculator
from surfchem.validate.literature import LATTICE_REFERENCES


class _Record:
    """Base of the validation records (dataclasses): ``as_dict`` without private fields."""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


# -- bulk -----------------------------------------------------------------------------------
@dataclass
class BulkA0Record(_Record):
    """Cubic lattice constant of one material with one calculator.

    Attributes
    ----------
    material : str
    calculator : str
    a0_A : float
        EOS lattice constant, Å.
    energy_eV : float
        Energy per cell at a0 (EOS fit value), eV.
    bulk_modulus_GPa : float
        GPa.
    n_atoms : int
    a0_expt_A : float
        Experimental a0, Å.
    a0_pbe_lit_A : float
        Published PBE a0, Å.
    error_vs_expt_A : float
        a0 minus experiment, Å.
    strain_points : int
        Points of the EOS scan.
    wall_s : float
        s.
    error : str or None
    """

    material: str
    calculator: str
    a0_A: float
    energy_eV: float  # per cell at a0 (EOS fit value)
    bulk_modulus_GPa: float
    n_atoms: int
    a0_expt_A: float
    a0_pbe_lit_A: float
    error_vs_expt_A: float
    strain_points: int
    wall_s: float
    error: str | None = None


def bulk_a0(material: str, calculator: str, ev: Evaluator, strain: float = 0.04,
            n_points: int = 5, a_guess: float | None = None, recentre: int = 3) -> BulkA0Record:
    """a0 of a cubic material with one calculator, by a Birch-Murnaghan EOS fit.

    If the minimum falls outside the scan (or the energy is monotonic), the scan is recentred, at
    most ``recentre`` times.

    Parameters
    ----------
    material : str
        A key of :data:`surfchem.validate.literature.LATTICE_REFERENCES`.
    calculator : str
        Validation calculator name: a preset or an alias of :data:`surfchem.validate.engine.ALIASES`
        (``gpaw-pw``, ``gpaw-lcao``).
    ev : Evaluator
        Cached energy evaluator (``validation.db``, GPAW files).
    strain : float, default 0.04
        Relative half-width of the scan in a.
    n_points : int, default 5
        Points of the scan.
    a_guess : float, optional
        Centre of the first scan, Å (default: experimental).
    recentre : int, default 3
        Recentred scans at most.

    Returns
    -------
    BulkA0Record
        a0 (Å), bulk modulus (GPa), errors against experiment (Å).

    Raises
    ------
    surfchem.errors.CalculatorError
        No minimum after ``recentre`` recentred scans, or a calculator failure.
    """
    from ase.eos import EquationOfState
    from ase.units import GPa

    mat = get_material(material)
    ref = LATTICE_REFERENCES.get(mat.name)
    if n_points < 5:
        raise InputError(f"an EOS fit needs n_points >= 5, got {n_points}")
    calc = resolve_calculator(calculator)
    a_ref = float(a_guess or mat.a0_A)
    t0 = time.perf_counter()
    extra = {}
    if calc.startswith("gpaw"):  # one k-grid for the whole scan (a density would jump with a)
        base = calc.replace("-d3", "")
        dens = ev.params(base).get("kpt_density_A", 3.5)
        extra["kpts"] = {"size": list(kpts_for(bulk(mat.name, a=a_ref), dens)), "gamma": True}
    vols, energies = [], []
    for s in np.linspace(1 - strain, 1 + strain, n_points):
        at = bulk(mat.name, a=round(a_ref * s, 5))
        rec = ev.energy(at, calc, system=f"bulk-{mat.name}-a{at.cell[0, 0]:.4f}", **extra)
        vols.append(at.get_volume())
        energies.append(rec.energy_eV)
    eos = EquationOfState(vols, energies, eos="birchmurnaghan")
    lo, hi = a_ref * (1 - strain), a_ref * (1 + strain)
    try:
        v0, e0, b = eos.fit()
        a0 = float(v0 ** (1 / 3))
    except Exception:  # no minimum: ASE's fit fails on a monotonic curve
        a0 = float("nan")
    if not lo <= a0 <= hi:
        if recentre <= 0:
            raise CalculatorError(
                f"{calc}: no energy minimum of {mat.name} near a = {a_ref:.3f} Å (scan "
                f"{lo:.3f}-{hi:.3f} Å, after recentring); the method does not bind this phase "
                f"near experiment (or widen strain)")
        edge = lo if int(np.argmin(energies)) == 0 else hi
        nxt = a0 if np.isfinite(a0) and abs(a0 - a_ref) < 2 * strain * a_ref else edge
        return bulk_a0(material, calc, ev, strain, n_points, a_guess=round(nxt, 4),
                       recentre=recentre - 1)
    return BulkA0Record(
        mat.name, calc, a0, float(e0), float(b / GPa), len(bulk(mat.name)), mat.a0_A,
        ref.a0_pbe_lit_A if ref else float("nan"), a0 - mat.a0_A, n_points,
        time.perf_counter() - t0,
    )


# -- surface energy -------------------------------------------------------------------------
@dataclass
class SurfaceRecord(_Record):
    """Unrelaxed surface energy of the bare AX-terminated (100) slab.

    Attributes
    ----------
    material : str
    calculator : str
    layers : int
    size : str
        In-plane repetitions (``"1x1"``).
    gamma_meV_A2 : float
        meV/Å².
    gamma_J_m2 : float
        J/m².
    energy_eV : float
        Surface excess energy E_slab - n_B E_bulk - (n_A - n_B) E_AX (= 2 A gamma), eV.
    n_atoms : int
    area_A2 : float
        Area of one face, Å².
    vacuum_A : float
        Å.
    wall_s : float
        s.
    """

    material: str
    calculator: str
    layers: int
    size: str
    gamma_meV_A2: float
    gamma_J_m2: float
    energy_eV: float  # E_slab - n_B E_bulk - (n_A - n_B) E_AX (= 2 A gamma)
    n_atoms: int
    area_A2: float
    vacuum_A: float
    wall_s: float
    slab_energy_eV: float = float("nan")
    bulk_energy_eV: float = float("nan")  # per ABX3 formula unit
    salt_energy_eV: float = float("nan")  # per AX formula unit
    n_b: int = 0  # B (Pb) atoms in the slab = ABX3 units
    n_a: int = 0
    error: str | None = None


def gamma_linear_fit(records: list[dict]) -> dict[str, float]:
    """Fiorentini-Methfessel gamma from a layer series of one calculator.

    Fit E_slab - (n_A - n_B) E_AX = n_B * e_bulk + 2 A gamma over the slabs: the bulk energy per
    formula unit comes from the slabs themselves, so a bulk reference computed with different
    k-point sampling (or a Gamma-only supercell) cannot make gamma drift with thickness.

    Parameters
    ----------
    records : list of dict
        One per slab: ``n_a``, ``n_b`` (formula units), ``slab_energy_eV``, ``salt_energy_eV``,
        ``bulk_energy_eV`` (eV) and ``area_A2`` (Å²).

    Returns
    -------
    dict of str to float
        ``gamma_fit_meV_A2`` (meV/Å²), ``bulk_fit_eV``, ``bulk_direct_eV`` and ``excess_fit_eV``
        (eV).

    Raises
    ------
    surfchem.errors.InputError
        Fewer than two slabs.
    """
    if len(records) < 2:
        raise InputError("a Fiorentini-Methfessel fit needs slabs with >= 2 thicknesses")
    n = np.array([r["n_b"] for r in records], float)
    y = np.array([r["slab_energy_eV"] - (r["n_a"] - r["n_b"]) * r["salt_energy_eV"] for r in records])
    slope, intercept = np.polyfit(n, y, 1)
    area = records[0]["area_A2"]
    return {"gamma_fit_meV_A2": 1000 * intercept / (2 * area), "bulk_fit_eV": float(slope),
            "bulk_direct_eV": float(records[0]["bulk_energy_eV"]), "excess_fit_eV": float(intercept)}


def surface_gamma(material: str, layers: int, calculator: str, ev: Evaluator,
                  size: tuple[int, int] = (1, 1), vacuum: float = 12.0) -> SurfaceRecord:
    """Unrelaxed surface energy of the bare AX-terminated (100) slab, both faces identical.

        gamma = [E_slab - n_Pb E(ABX3) - (n_Cs - n_Pb) E(AX)] / (2 A)

    with bulk energies per formula unit at each calculator's own a0.

    Parameters
    ----------
    material : str
        A perovskite of :data:`surfchem.build.bulk.MATERIALS`.
    layers : int
        Atomic layers, odd.
    calculator : str
        Validation calculator name: a preset or an alias of :data:`surfchem.validate.engine.ALIASES`
        (``gpaw-pw``, ``gpaw-lcao``).
    ev : Evaluator
        Cached energy evaluator (``validation.db``, GPAW files).
    size : tuple of int, default (1, 1)
        In-plane repetitions.
    vacuum : float, default 12.0
        Vacuum, Å.

    Returns
    -------
    SurfaceRecord
        gamma in meV/Å² and J/m².
    """
    mat = get_material(material)
    calc = resolve_calculator(calculator)
    salt = HALIDE_SALT[mat.name]
    t0 = time.perf_counter()
    s = slab(mat.name, size=size, layers=layers, vacuum=vacuum)
    tag = f"{size[0]}x{size[1]}x{layers}"
    e_slab = ev.energy(s, calc, system=f"slab-{mat.name}-{tag}").energy_eV
    e_bulk = ev.energy(bulk(mat.name), calc, system=f"bulk-{mat.name}-expt").energy_eV
    e_salt = ev.energy(bulk(salt), calc, system=f"bulk-{salt}-expt").energy_eV
    sym = s.get_chemical_symbols()
    n_b, n_a = sym.count(mat.b), sym.count(mat.a)
    excess = e_slab - n_b * e_bulk - (n_a - n_b) * e_salt
    area = float(np.linalg.norm(np.cross(s.cell[0], s.cell[1])))
    gamma = excess / (2 * area)
    return SurfaceRecord(mat.name, calc, int(layers), f"{size[0]}x{size[1]}", 1000 * gamma,
                         gamma * EV_PER_A2_IN_J_PER_M2, excess, len(s), area, float(vacuum),
                         time.perf_counter() - t0, e_slab, e_bulk, e_salt, n_b, n_a)


# -- geometries shared by all calculators -----------------------------------------------------
def relaxed(atoms: Atoms, ev: Evaluator, calculator: str = "chgnet-d3", fmax: float = 0.05,
            steps: int = 300, system: str = "") -> Atoms:
    """``atoms`` relaxed with ``calculator``, cached by input hash.

    Every rerun and every calculator then sees the identical geometry.

    Parameters
    ----------
    atoms : ase.Atoms
        The start structure.
    ev : Evaluator
        The validation's evaluator (calculators and cache).
    calculator : str, default "chgnet-d3"
        Preset of the relaxation.
    fmax : float, default 0.05
        Force convergence, eV/Å.
    steps : int, default 300
        Optimiser steps at most.
    system : str, default ""
        Name of the system, for the records.

    Returns
    -------
    ase.Atoms
    """
    calc = resolve_calculator(calculator)
    h = task_hash(atoms, ev.params(calc), {"kind": "relax", "fmax": fmax, "steps": steps,
                                            "version": "validate-geom-1"})
    if ev.store is not None:
        hit = ev.store.get(h)
        if hit is not None:
            out = atoms.copy()
            out.positions = hit[0].positions
            return out
    from ase.parallel import broadcast, world

    res = relax(atoms, calc, fmax=fmax, steps=steps)
    if res.error:
        raise CalculatorError(f"geometry relaxation of {system} with {calc} failed: {res.error}")
    out = atoms.copy()
    out.positions = broadcast(res.atoms.positions, 0)  # MPI: every rank gets rank 0's geometry
    if ev.store is not None and world.rank == 0:
        ev.store.put(h, out, {"kind": "validation_geometry", "system": system, "calculator": calc,
                              "energy_eV": res.energy_eV, "converged": res.converged,
                              "n_steps": res.n_steps})
    return out


def molecule_box(atoms: Atoms, vacuum: float = 6.0) -> Atoms:
    """A copy centred in a box with ``vacuum`` on each side, non-periodic.

    Parameters
    ----------
    atoms : ase.Atoms
        A molecule.
    vacuum : float, default 6.0
        Vacuum on each side, Å.

    Returns
    -------
    ase.Atoms
    """
    out = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions)
    out.center(vacuum=vacuum)
    out.pbc = False
    out.info.update({k: v for k, v in atoms.info.items()
                     if isinstance(v, str | int | float) and k != "charge"})
    return out


# -- ligand exchange ------------------------------------------------------------------------
@dataclass
class BindingRecord(_Record):
    """Exchange energy of one ligand: slab + L-HBr -> slab(Cs -> L) + CsBr(bulk).

    Attributes
    ----------
    ligand : str
    calculator : str
    exchange_energy_eV : float
        eV, for all ``n_ligands`` together (negative = favourable).
    n_atoms : int
        Atoms of the decorated slab.
    slab : str
        Slab label (size and layers).
    geometry_calculator : str
        Calculator that relaxed the structures.
    wall_s : float
        s.
    error : str or None
    n_ligands : int, default 1
        Ligands exchanged on the slab.
    """

    ligand: str
    calculator: str
    exchange_energy_eV: float
    n_atoms: int  # atoms of the decorated slab
    slab: str
    geometry_calculator: str
    wall_s: float
    error: str | None = None
    n_ligands: int = 1


@dataclass
class BindingSystems:
    """The structures of an exchange-energy comparison (same for every calculator).

    Attributes
    ----------
    ligand : str
        Ligand name.
    bare : ase.Atoms
        Bare slab (bulk-terminated).
    decorated : ase.Atoms
        Slab with one ligand (relaxed).
    ion_pair : ase.Atoms
        The L+ X- ion pair (relaxed, non-periodic).
    salt : ase.Atoms
        Bulk AX salt (CsBr).
    slab_tag : str
        Size and layers of the slab, e.g. ``1x1x3``.
    geometry_calculator : str
        Preset of the relaxations.
    n_ligands : int, default 1
        Ligands on the decorated slab.
    bare_tag : str
        Label of the bare slab (``1x1x3``, or ``1x1x3-relaxed`` when it was relaxed).
    extra : dict
        Further data.
    """

    ligand: str
    bare: Atoms
    decorated: Atoms
    ion_pair: Atoms
    salt: Atoms
    slab_tag: str
    geometry_calculator: str
    n_ligands: int = 1
    bare_tag: str = ""
    extra: dict = field(default_factory=dict)


def binding_systems(ligand: str, ev: Evaluator, material: str = "CsPbBr3",
                    size: tuple[int, int] = (1, 1), layers: int = 3, vacuum: float = 10.0,
                    geometry_calculator: str = "chgnet-d3", fmax: float = 0.05,
                    sites: tuple[int, ...] = (0,), relax_bare: bool = False) -> BindingSystems:
    """Structures of an exchange-energy comparison: bare slab, slab with ligands, ion pair, bulk CsBr.

    The ligands sit on the surface Cs ``sites`` (default: one ligand on site 0, top face; see
    :func:`surfchem.build.slab.site_indices` for the numbering). The decorated slab and the ion pair
    are relaxed with ``geometry_calculator``; the ion pair is non-periodic with 6 Å vacuum. The bare
    slab is kept bulk-terminated (the validation's protocol) unless ``relax_bare``: then it is
    relaxed with ``geometry_calculator`` too, as the screen's own bare slab is. Measured
    (``analysis/anchors``): on the ML-relaxed 2x2x3 bare slab GPAW PBE+D3 finds -1.06 eV of
    relaxation where CHGNet+D3 finds -0.47 eV, so against a bulk-terminated bare slab each
    calculator's exchange energy carries its own framework relaxation of the decorated slab.

    Parameters
    ----------
    ligand : str
        Ligand name or SMILES.
    ev : Evaluator
        Cached energy evaluator (``validation.db``, GPAW files).
    material : str, default "CsPbBr3"
    size : tuple of int, default (1, 1)
        In-plane repetitions.
    layers : int, default 3
    vacuum : float, default 10.0
        Å.
    geometry_calculator : str, default "chgnet-d3"
    fmax : float, default 0.05
        Force criterion of the geometry relaxations, eV/Å.
    sites : tuple of int, default (0,)
        Surface Cs sites the ligands replace (several: the lateral interaction enters).
    relax_bare : bool, default False
        Relax the bare slab with ``geometry_calculator`` (the exchange against the relaxed
        surface, as in the screen) instead of keeping it bulk-terminated.

    Returns
    -------
    BindingSystems
        The same structures for every calculator; ``slab_tag`` is ``"1x1x3"`` for one ligand on
        site 0, else it names the sites (``"2x1x3@0,1"``); ``"+rb"`` marks a relaxed bare slab.
    """
    mat = get_material(material)
    sites = tuple(int(i) for i in sites)
    bare_tag = f"{size[0]}x{size[1]}x{layers}"
    tag = bare_tag + ("" if sites == (0,) else "@" + ",".join(map(str, sites)))
    bare = slab(mat.name, size=size, layers=layers, vacuum=vacuum)
    dec = decorate(bare, ligand, list(sites))
    if relax_bare:
        bare = relaxed(bare, ev, geometry_calculator, fmax=fmax, system=f"bare-{bare_tag}")
        tag += "+rb"
        bare_tag += "-relaxed"
    dec = relaxed(dec, ev, geometry_calculator, fmax=fmax, system=f"{ligand}-on-{tag}")
    pair = ion_pair(ligand, box=16.0, halide=mat.x)
    pair = relaxed(pair, ev, geometry_calculator, fmax=fmax, system=f"{ligand}-H{mat.x}")
    pair = molecule_box(pair)
    return BindingSystems(ligand, bare, dec, pair, bulk(HALIDE_SALT[mat.name]), tag,
                          resolve_calculator(geometry_calculator), n_ligands=len(sites), bare_tag=bare_tag)


def ligand_exchange(systems: BindingSystems, calculator: str, ev: Evaluator) -> BindingRecord:
    """Exchange energy dE = E(slab with n L) + n E(CsBr per f.u.) - E(bare slab) - n E(L+ Br- ion pair).

    Negative = exchanging a surface Cs+ for the ligand (and forming bulk CsBr) is favourable.

    Parameters
    ----------
    systems : BindingSystems
        From :func:`binding_systems`.
    calculator : str
        Validation calculator name: a preset or an alias of :data:`surfchem.validate.engine.ALIASES`
        (``gpaw-pw``, ``gpaw-lcao``).
    ev : Evaluator
        Cached energy evaluator (``validation.db``, GPAW files).

    Returns
    -------
    BindingRecord
        dE in eV.
    """
    calc = resolve_calculator(calculator)
    t0 = time.perf_counter()
    s = systems
    e_dec = ev.energy(s.decorated, calc, f"{s.ligand}-on-{s.slab_tag}").energy_eV
    e_bare = ev.energy(s.bare, calc, f"slab-{s.bare_tag}-v{s.bare.info.get('vacuum_A', 0):g}").energy_eV
    e_pair = ev.energy(s.ion_pair, calc, f"{s.ligand}-ionpair").energy_eV
    e_salt = ev.energy(s.salt, calc, f"bulk-{s.salt.info['material']}-expt").energy_eV
    de = e_dec + s.n_ligands * (e_salt - e_pair) - e_bare
    return BindingRecord(s.ligand, calc, de, len(s.decorated), s.slab_tag, s.geometry_calculator,
                         time.perf_counter() - t0, n_ligands=s.n_ligands)


# -- PEA-PEA stacking -----------------------------------------------------------------------
@dataclass
class StackingRecord(_Record):
    """Interaction energy of two neighbouring ligands in the slab geometry (neutral amines).

    Attributes
    ----------
    ligand : str
    calculator : str
    stacking_energy_eV : float
        E(dimer) - E(A) - E(B), eV (negative = attractive).
    n_atoms : int
        Atoms of the dimer.
    separation_A : float
        Distance between the centres of mass of the two monomers, Å.
    wall_s : float
        s.
    error : str or None
    """

    ligand: str
    calculator: str
    stacking_energy_eV: float
    n_atoms: int
    separation_A: float
    wall_s: float
    error: str | None = None


def _neutral_amine(mol: Atoms) -> Atoms:
    """Remove the ammonium H that points most into the surface (lowest z): R-NH3+ -> R-NH2."""
    sym = np.array(mol.get_chemical_symbols())
    n = int(np.flatnonzero(sym == "N")[0])
    d = np.linalg.norm(mol.positions - mol.positions[n], axis=1)
    hs = np.flatnonzero((sym == "H") & (d < 1.25))
    drop = int(hs[np.argmin(mol.positions[hs, 2])])
    out = mol.copy()
    del out[drop]
    return out


def stacking_systems(ev: Evaluator, ligand: str = "PEA", material: str = "CsPbBr3",
                     layers: int = 3, vacuum: float = 10.0,
                     geometry_calculator: str = "chgnet-d3") -> tuple[Atoms, Atoms, Atoms]:
    """Dimer and monomers of the stacking comparison.

    Two ligands on neighbouring top sites of a 2x1 slab, relaxed on the slab with
    ``geometry_calculator``, then cut out as neutral amines (one ammonium H removed from each: a +2
    dimer cannot be described by the ML potentials, and the stacking is a tail-tail interaction) in
    a non-periodic box.

    Parameters
    ----------
    ev : Evaluator
        Cached energy evaluator (``validation.db``, GPAW files).
    ligand : str, default "PEA"
    material : str, default "CsPbBr3"
    layers : int, default 3
    vacuum : float, default 10.0
        Å.
    geometry_calculator : str, default "chgnet-d3"

    Returns
    -------
    tuple of ase.Atoms
        (dimer, monomer A, monomer B).
    """
    s = slab(material, size=(2, 1), layers=layers, vacuum=vacuum)
    dec = decorate(s, ligand, [0, 1])
    dec = relaxed(dec, ev, geometry_calculator, system=f"2{ligand}-on-2x1x{layers}")
    lig = dec.get_array("ligand_index")
    mols = []
    for k in sorted(set(lig[lig >= 0])):
        m = dec[np.flatnonzero(lig == k)]
        mols.append(_neutral_amine(m))
    # keep the pair as on the slab (minimum image along x): shift B next to A
    a, b = mols
    shift = a.get_center_of_mass() - b.get_center_of_mass()
    frac = np.linalg.solve(dec.cell[:].T, shift)
    frac[:2] = np.round(frac[:2])
    frac[2] = 0
    b.positions += frac @ dec.cell[:]
    dimer = molecule_box(a + b)
    n_a = len(a)
    mono_a = dimer[:n_a]
    mono_b = dimer[n_a:]
    return dimer, mono_a, mono_b


def stacking_energy(systems: tuple[Atoms, Atoms, Atoms], calculator: str, ev: Evaluator,
                    ligand: str = "PEA") -> StackingRecord:
    """Stacking energy E(dimer) - E(A) - E(B), with A and B in the dimer's box and positions.

    No BSSE correction: LCAO's basis-set superposition error makes GPAW-LCAO stacking slightly too
    attractive.

    Parameters
    ----------
    systems : tuple of ase.Atoms
        From :func:`stacking_systems`.
    calculator : str
        Validation calculator name: a preset or an alias of :data:`surfchem.validate.engine.ALIASES`
        (``gpaw-pw``, ``gpaw-lcao``).
    ev : Evaluator
        Cached energy evaluator (``validation.db``, GPAW files).
    ligand : str, default "PEA"
        Label for the record.

    Returns
    -------
    StackingRecord
        Energy in eV.
    """
    calc = resolve_calculator(calculator)
    t0 = time.perf_counter()
    dimer, a, b = systems
    e = (ev.energy(dimer, calc, f"{ligand}2-dimer").energy_eV
         - ev.energy(a, calc, f"{ligand}-monoA").energy_eV
         - ev.energy(b, calc, f"{ligand}-monoB").energy_eV)
    sep = float(np.linalg.norm(a.get_center_of_mass() - b.get_center_of_mass()))
    return StackingRecord(ligand, calc, e, len(dimer), sep, time.perf_counter() - t0)
