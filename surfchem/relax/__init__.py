"""Geometry optimisation with constraints, trajectories and restart; plain result records.

:func:`relax` wraps an ASE optimiser (``BFGS`` by default; ``FIRE``, ``LBFGS``, ``BFGSLineSearch``
available). With ``trajectory=PATH`` every step is appended to an ASE trajectory, and a later call
with the same path restarts from its last frame (the work done before a crash is kept).
Non-convergence is reported in the result (``converged=False``), never hidden; calculator
failures (e.g. SCF not converged) become :class:`surfchem.errors.CalculatorError`.

:func:`relax_bulk_lattice` fits the cubic lattice constant a0 (Å) with ASE's
``EquationOfState`` (Birch-Murnaghan) on a symmetric strain scan: atoms of the cubic phases
sit on fixed Wyckoff positions, so only the volume relaxes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from surfchem.build.bulk import bulk
from surfchem.calculators import DEFAULT_PRESET, calculator_name, get_calculator
from surfchem.core.slabgeom import slab_layers
from surfchem.errors import CalculatorError, InputError

OPTIMIZERS = ("BFGS", "FIRE", "LBFGS", "BFGSLineSearch")


@dataclass
class RelaxResult:
    """Outcome of one relaxation.

    Attributes
    ----------
    energy_eV : float
        Final potential energy, eV (NaN when the calculator failed).
    fmax_eV_A : float
        Largest atomic force at the end, eV/Å.
    n_steps : int
        Optimiser steps taken in this call.
    converged : bool
        ``fmax_eV_A <= fmax_target_eV_A`` reached within the step limit, without error.
    wall_s : float
        Wall time, s.
    optimizer : str
        ASE optimiser used.
    fmax_target_eV_A : float
        Force criterion, eV/Å.
    calculator : str
        Preset or class name.
    restarted_from_step : int
        Frames found in the trajectory at the start (0 = fresh start).
    trajectory : str or None
        Trajectory path.
    error : str or None
        ``"ExceptionType: message"`` of a calculator failure.
    atoms : ase.Atoms or None
        The relaxed structure (with its calculator).
    """

    energy_eV: float
    fmax_eV_A: float
    n_steps: int
    converged: bool
    wall_s: float
    optimizer: str
    fmax_target_eV_A: float
    calculator: str
    restarted_from_step: int = 0
    trajectory: str | None = None
    error: str | None = None
    atoms: Atoms | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The fields except ``atoms``, as a plain dict.

        Returns
        -------
        dict
        """
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "atoms"}


def fixed_indices(atoms: Atoms, fix: str = "none", n_layers: int = 1) -> list[int]:
    """Atoms to freeze during a relaxation.

    Parameters
    ----------
    atoms : ase.Atoms
        A slab.
    fix : {"none", "center", "bottom"}, default "none"
        Nothing, the middle ``n_layers`` layers, or the bottom ``n_layers`` layers.
    n_layers : int, default 1
        Number of layers frozen.

    Returns
    -------
    list of int

    Raises
    ------
    surfchem.errors.InputError
        Unknown ``fix``, or more layers than the slab has.
    """
    if fix == "none" or n_layers <= 0:
        return []
    layers = slab_layers(atoms)
    if n_layers > len(layers):
        raise InputError(f"cannot fix {n_layers} layers: the slab has {len(layers)}")
    if fix == "bottom":
        chosen = layers[:n_layers]
    elif fix == "center":
        start = (len(layers) - n_layers) // 2
        chosen = layers[start:start + n_layers]
    else:
        raise InputError(f"fix must be 'none', 'center' or 'bottom', got {fix!r}")
    return sorted(int(i) for layer in chosen for i in layer)


def _last_frame(path: Path, atoms: Atoms) -> tuple[Atoms | None, int]:
    """Last frame of an existing trajectory compatible with ``atoms`` (same symbols), and its length."""
    if not path.exists() or path.stat().st_size == 0:
        return None, 0
    from ase.io import Trajectory

    try:
        traj = Trajectory(str(path))
        n = len(traj)
        last = traj[-1] if n else None
        traj.close()
    except Exception:  # a frame cut by a crash: start over, keep the broken file aside
        os.replace(path, str(path) + ".corrupt")
        return None, 0
    if last is None or list(last.symbols) != list(atoms.symbols):
        return None, 0
    return last, n


def relax(
    atoms: Atoms,
    calculator: Any = DEFAULT_PRESET,
    fmax: float = 0.05,
    steps: int = 300,
    optimizer: str = "BFGS",
    fix: str = "none",
    n_fixed_layers: int = 1,
    trajectory: str | os.PathLike | None = None,
    logfile: str | None = None,
    **calc_kwargs: Any,
) -> RelaxResult:
    """Relax the atomic positions of a copy of ``atoms`` (the input is not modified).

    Non-convergence is reported (``converged=False``), never hidden; a calculator failure during
    the relaxation is recorded in ``error`` with a NaN energy. With ``trajectory`` every step is
    appended to an ASE trajectory and a later call with the same path restarts from its last frame.

    Parameters
    ----------
    atoms : ase.Atoms
        Structure to relax (its constraints are replaced by ``fix``).
    calculator : str or ase.calculators.calculator.Calculator, default "chgnet-d3"
        Preset name (:mod:`surfchem.calculators`) or an ASE calculator.
    fmax : float, default 0.05
        Force criterion, eV/Å.
    steps : int, default 300
        Maximum optimiser steps.
    optimizer : str, default "BFGS"
        ``"BFGS"``, ``"FIRE"``, ``"LBFGS"`` or ``"BFGSLineSearch"`` (ASE).
    fix : {"none", "center", "bottom"}, default "none"
        Freeze slab layers (:func:`fixed_indices`).
    n_fixed_layers : int, default 1
        Layers frozen with ``fix``.
    trajectory : str or os.PathLike, optional
        ASE trajectory path, appended to; an existing one restarts from its last frame (BFGS and
        LBFGS replay the frames into their Hessian / history).
    logfile : str, optional
        Optimiser log (``"-"`` = stdout; default none).
    **calc_kwargs
        Preset parameter overrides (:func:`surfchem.calculators.get_calculator`).

    Returns
    -------
    RelaxResult
        Energy (eV), final fmax (eV/Å), steps, convergence, wall time (s), the relaxed atoms.

    Raises
    ------
    surfchem.errors.InputError
        Unknown optimiser, ``fmax <= 0`` or ``steps < 0``.

    Examples
    --------
    >>> from surfchem import build_slab
    >>> from surfchem.relax import relax
    >>> res = relax(build_slab(), "chgnet-d3", fmax=0.05, trajectory="bare.traj")  # doctest: +SKIP
    >>> res.converged, round(res.energy_eV, 2)  # doctest: +SKIP
    (True, -175.25)
    """
    if optimizer not in OPTIMIZERS:
        raise InputError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if fmax <= 0 or steps < 0:
        raise InputError(f"need fmax > 0 eV/Å and steps >= 0, got fmax={fmax}, steps={steps}")
    import ase.optimize
    from ase.constraints import FixAtoms

    work = atoms.copy()
    restarted = 0
    if trajectory is not None:
        trajectory = Path(trajectory)
        trajectory.parent.mkdir(parents=True, exist_ok=True)
        last, restarted = _last_frame(trajectory, work)
        if last is not None:
            work.positions = last.positions
            work.cell = last.cell
    frozen = fixed_indices(work, fix, n_fixed_layers)
    if frozen:
        work.set_constraint(FixAtoms(indices=frozen))
    work.calc = get_calculator(calculator, **calc_kwargs)
    t0 = time.perf_counter()
    opt_cls = getattr(ase.optimize, optimizer)
    traj_handle = None
    error = None
    converged = False
    try:
        opt = opt_cls(work, logfile=logfile)
        if restarted and hasattr(opt, "_replay_trajectory"):
            # ASE rebuilds the BFGS Hessian / LBFGS history from the frames (positions and
            # forces are stored), so a resumed relaxation takes the steps an uninterrupted one
            # would have taken; FIRE and BFGSLineSearch restart with a fresh state.
            opt.replay_trajectory(str(trajectory))
        if trajectory is not None:
            from ase.io import Trajectory

            traj_handle = Trajectory(str(trajectory), "a", work)
            opt.attach(traj_handle)
        converged = bool(opt.run(fmax=fmax, steps=steps))
        n_steps = opt.nsteps
        energy = float(work.get_potential_energy())
        forces = work.get_forces()
    except Exception as exc:  # calculator failure: record it, keep what we have
        if isinstance(exc, InputError):
            raise
        error = f"{type(exc).__name__}: {exc}"
        n_steps, energy, forces = 0, float("nan"), np.full((len(work), 3), np.nan)
    finally:
        if traj_handle is not None:
            traj_handle.close()
    fmax_now = float(np.sqrt((forces**2).sum(axis=1)).max()) if len(work) else 0.0
    res = RelaxResult(
        energy_eV=energy,
        fmax_eV_A=fmax_now,
        n_steps=int(n_steps),
        converged=converged and error is None,
        wall_s=time.perf_counter() - t0,
        optimizer=optimizer,
        fmax_target_eV_A=float(fmax),
        calculator=calculator_name(calculator),
        restarted_from_step=int(restarted),
        trajectory=str(trajectory) if trajectory is not None else None,
        error=error,
        atoms=work,
    )
    return res


def single_point(atoms: Atoms, calculator: Any = DEFAULT_PRESET, **calc_kwargs: Any) -> float:
    """Potential energy of ``atoms`` as they are (no relaxation).

    Parameters
    ----------
    atoms : ase.Atoms
        Structure (not modified).
    calculator : str or ase.calculators.calculator.Calculator, default "chgnet-d3"
        Preset name or ASE calculator.
    **calc_kwargs
        Preset parameter overrides.

    Returns
    -------
    float
        Energy, eV.

    Raises
    ------
    surfchem.errors.CalculatorError
        The calculator failed (e.g. GPAW SCF not converged).
    """
    work = atoms.copy()
    work.calc = get_calculator(calculator, **calc_kwargs)
    try:
        return float(work.get_potential_energy())
    except Exception as exc:
        raise CalculatorError(f"{calculator_name(calculator)} failed on {work.get_chemical_formula()}: {exc}") from exc


@dataclass
class LatticeResult:
    """Cubic lattice constant from an equation-of-state fit.

    Attributes
    ----------
    material : str
    a0_A : float
        Lattice constant, Å.
    energy_eV : float
        Energy of the cell at a0 (recomputed, not read off the fit), eV.
    bulk_modulus_GPa : float
        Bulk modulus of the fit, GPa.
    n_formula_units : int
        Formula units in the cell (1 for the cubic cells).
    calculator : str
    """

    material: str
    a0_A: float
    energy_eV: float
    bulk_modulus_GPa: float
    n_formula_units: int
    calculator: str

    @property
    def energy_per_fu_eV(self) -> float:
        """Energy per formula unit at a0, eV."""
        return self.energy_eV / self.n_formula_units


def relax_bulk_lattice(
    material: str,
    calculator: Any = DEFAULT_PRESET,
    a_guess: float | None = None,
    strain: float = 0.04,
    n_points: int = 7,
    **calc_kwargs: Any,
) -> LatticeResult:
    """Fit a0 of a cubic phase by a Birch-Murnaghan EOS over ±``strain`` around ``a_guess``.

    Atoms of the cubic phases sit on fixed Wyckoff positions, so only the volume relaxes. When the
    fitted a0 falls outside the scanned range the scan is repeated around it. The energy at a0 is
    recomputed (not read off the fit) so it is a real calculator energy.

    Parameters
    ----------
    material : str
        A key of :data:`surfchem.build.bulk.MATERIALS`.
    calculator : str or ase.calculators.calculator.Calculator, default "chgnet-d3"
        Preset name or ASE calculator.
    a_guess : float, optional
        Centre of the scan, Å (default: the experimental a0).
    strain : float, default 0.04
        Relative half-width of the scan in a (0.04 = ±4 %).
    n_points : int, default 7
        Lattice constants in the scan.
    **calc_kwargs
        Preset parameter overrides.

    Returns
    -------
    LatticeResult
        a0 (Å), energy at a0 (eV), bulk modulus (GPa).

    Raises
    ------
    surfchem.errors.CalculatorError
        The calculator failed on a strained cell.
    """
    from ase.eos import EquationOfState
    from ase.units import GPa

    base = bulk(material, a=a_guess)
    a_ref = base.info["a_A"]
    calc = get_calculator(calculator, **calc_kwargs)
    vols, energies = [], []
    for s in np.linspace(1 - strain, 1 + strain, n_points):
        at = bulk(material, a=a_ref * s)
        at.calc = calc
        try:
            energies.append(at.get_potential_energy())
        except Exception as exc:
            raise CalculatorError(f"{calculator_name(calculator)} failed on bulk {material}: {exc}") from exc
        vols.append(at.get_volume())
    eos = EquationOfState(vols, energies, eos="birchmurnaghan")
    v0, _, b = eos.fit()
    a0 = float(v0 ** (1 / 3))
    if not (a_ref * (1 - strain) <= a0 <= a_ref * (1 + strain)):
        return relax_bulk_lattice(material, calc, a_guess=a0, strain=strain, n_points=n_points)
    at = bulk(material, a=a0)
    at.calc = calc
    e0 = float(at.get_potential_energy())
    return LatticeResult(material, a0, e0, float(b / GPa), 1, calculator_name(calculator))


@dataclass
class TiltResult:
    """Lowest bulk energy per formula unit at a fixed cubic a0 with octahedral tilts allowed.

    Attributes
    ----------
    material : str
    a0_A : float
        Cubic lattice constant the supercell was held at, Å.
    energy_per_fu_eV : float
        Lowest energy per formula unit (the g_bulk reference), eV.
    cubic_energy_per_fu_eV : float
        Energy of the cubic cell per formula unit, eV.
    start_energies_per_fu_eV : list of float
        Energy per formula unit reached from each rattled start, eV.
    atoms : ase.Atoms
        The lowest structure.
    """

    material: str
    a0_A: float
    energy_per_fu_eV: float
    cubic_energy_per_fu_eV: float
    start_energies_per_fu_eV: list[float]
    atoms: Atoms

    @property
    def tilt_gain_eV(self) -> float:
        """Energy per formula unit gained by tilting (<= 0)."""
        return self.energy_per_fu_eV - self.cubic_energy_per_fu_eV


def bulk_tilt_minimum(
    material: str,
    a0: float,
    calculator: Any = DEFAULT_PRESET,
    repeat: int = 2,
    starts: int = 3,
    rattle_A: float = 0.1,
    fmax: float = 0.02,
    steps: int = 400,
    seed: int = 0,
    cubic_energy_eV: float | None = None,
    **calc_kwargs: Any,
) -> TiltResult:
    """Bulk reference consistent with the slab: the lowest energy per formula unit with tilts allowed.

    A ``repeat``³ supercell at the cubic ``a0`` (cell fixed) is relaxed from ``starts`` rattled
    starts. Why: the cubic perovskite cell is a saddle of the octahedral tilts. A 2x2 slab relaxes
    its tilts (measured, CHGNet+D3: the bare Cs12Pb8Br28 slab drops 0.6 eV from the ideal cut), so a
    cubic 5-atom reference would bias gamma low by up to n_B * gain / (2A); with CHGNet+D3 at
    a0 = 5.949 Å the 2x2x2 CsPbBr3 cell gains 0.09-0.10 eV per formula unit. A 2x2x2 cell holds the
    in-phase (M) and anti-phase (R) tilt patterns (Glazer, Acta Cryst. B 28, 3384 (1972))
    compatible with the slab's 2x2 in-plane cell. The cubic energy is kept if no start goes lower.

    Parameters
    ----------
    material : str
        A perovskite of :data:`surfchem.build.bulk.MATERIALS`.
    a0 : float
        Cubic lattice constant, Å (the calculator's own, from :func:`relax_bulk_lattice`).
    calculator : str or ase.calculators.calculator.Calculator, default "chgnet-d3"
        Preset name or ASE calculator.
    repeat : int, default 2
        Supercell repetitions along each axis.
    starts : int, default 3
        Rattled starts (0 = the cubic cell is the reference).
    rattle_A : float, default 0.1
        Standard deviation of the random displacements, Å.
    fmax : float, default 0.02
        Force criterion, eV/Å.
    steps : int, default 400
        Maximum optimiser steps per start.
    seed : int, default 0
        Rattle seed of the first start (start i uses ``seed + i + 1``).
    cubic_energy_eV : float, optional
        Energy of the cubic cell at ``a0`` per formula unit, eV (e.g. from
        :func:`relax_bulk_lattice`); computed when not given.
    **calc_kwargs
        Preset parameter overrides.

    Returns
    -------
    TiltResult
        Lowest and cubic energies per formula unit (eV), every start's energy, the structure.
    """
    calc = get_calculator(calculator, **calc_kwargs)
    cubic = bulk(material, a=a0)
    # the cubic cells of surfchem.build.bulk hold 1 formula unit
    e_cubic = float(cubic_energy_eV) if cubic_energy_eV is not None else single_point(cubic, calc)
    best_e, best_atoms, energies = e_cubic, cubic, []
    for i in range(starts):
        sc = bulk(material, a=a0).repeat(repeat)
        sc.rattle(rattle_A, seed=seed + i + 1)
        res = relax(sc, calc, fmax=fmax, steps=steps)
        e = res.energy_eV / repeat**3
        energies.append(float(e))
        if np.isfinite(e) and e < best_e:
            best_e, best_atoms = float(e), res.atoms
    best_atoms.calc = None
    return TiltResult(material, float(a0), float(best_e), float(e_cubic), energies, best_atoms)
