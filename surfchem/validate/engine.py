"""Energies with a content-hash cache, GPAW output kept per task, D3 split off.

:class:`Evaluator` is the one place where validation recipes get energies. Each single point is
keyed by :func:`surfchem.core.hashing.task_hash` (structure + calculator parameters) and
stored in a :class:`surfchem.core.store.ResultStore` (``<outdir>/validation.db``), so a rerun
is free and a killed run resumes where it stopped.

- **D3 is additive.** For a ``*-d3`` preset the energy is E(base preset) + E(D3(BJ)) computed
  separately and cached separately: PBE and PBE+D3 share one GPAW SCF (``E(PBE+D3) = E(PBE) +
  E(D3)`` exactly, as in :class:`ase.calculators.mixing.SumCalculator`).
- **GPAW output per task**: ``<outdir>/gpaw/<label>-<hash>.txt`` (the text log) and ``.gpw``
  (restart file, density and parameters without wave functions; ``gpw_mode="all"`` keeps them).
- **Gamma-only calculators** (GFN-xTB in tblite) get a supercell (:func:`gamma_supercell`);
  energies are reported per input cell.
- **SCF non-convergence** (``gpaw.KohnShamConvergenceError``, tblite's SCF failure) becomes a
  :class:`~surfchem.errors.CalculatorError` naming the system, the preset, the log file and the
  fix; :meth:`Evaluator.try_energy` records it in an :class:`EnergyRecord` instead of raising.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ase import Atoms

from surfchem.calculators import (
    PRESETS,
    d3_calculator,
    d3_settings,
    get_calculator,
    get_preset,
    preset_parameters,
)
from surfchem.core.hashing import task_hash
from surfchem.core.store import ResultStore
from surfchem.errors import CalculatorError, InputError

#: short names accepted by the validation CLI -> preset names
ALIASES: dict[str, str] = {
    "gpaw-lcao": "gpaw-pbe-lcao",
    "gpaw-pw": "gpaw-pbe-pw",
    "gpaw-d3-lcao": "gpaw-pbe-d3-lcao",
    "gpaw-d3-pw": "gpaw-pbe-d3-pw",
    "ml": "chgnet-d3",
}

#: ``atoms.info`` key of a structure's net charge (e). Deliberately not ``"charge"``: the ligand
#: builders record the cation's +1 there, and the neutral L+ X- ion pair inherits that entry.
CHARGE_KEY = "net_charge_e"

#: cache-format version of validation energies (bump to invalidate)
VALIDATE_VERSION = "validate-1"


def resolve_calculator(name: str) -> str:
    """Preset name of a validation calculator name.

    Parameters
    ----------
    name : str
        A preset or an alias of :data:`ALIASES` (``gpaw-lcao`` -> ``gpaw-pbe-lcao``).

    Returns
    -------
    str

    Raises
    ------
    surfchem.errors.InputError
        Neither a preset nor an alias.
    """
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    get_preset(key)  # InputError listing the choices if unknown
    return key


def is_gpaw(preset: str) -> bool:
    """Whether a preset name is a GPAW preset.

    Parameters
    ----------
    preset : str
        Calculator preset name.

    Returns
    -------
    bool
    """
    return preset.startswith("gpaw")


def base_preset(preset: str) -> tuple[str, bool]:
    """The preset without D3, and whether it had D3.

    Parameters
    ----------
    preset : str
        Calculator preset name, e.g. ``gpaw-pbe-d3-lcao``.

    Returns
    -------
    base : str
        E.g. ``gpaw-pbe-lcao``.
    has_d3 : bool
    """
    p = get_preset(preset)
    if not p.d3:
        return p.name, False
    base = p.name.replace("-d3", "")
    if base not in PRESETS:  # pragma: no cover - registry invariant
        raise InputError(f"preset {preset!r} has D3 but no base preset {base!r}")
    return base, True


def includes_dispersion(preset: str) -> bool:
    """Does the method carry a dispersion correction (D3 presets; GFN-xTB has D3/D4 built in)?

    Parameters
    ----------
    preset : str
        Calculator preset name.

    Returns
    -------
    bool
    """
    return get_preset(preset).d3 or preset.startswith("gfn")


#: Gamma-point-only calculators (tblite GFN-xTB) are evaluated on a supercell with every periodic
#: cell length >= this (Å) and the energy divided by the number of copies: a 4.3 Å CsBr cell at
#: Gamma is badly sampled and its SCF does not even converge.
GAMMA_ONLY_MIN_LENGTH_A = 11.0


def gamma_supercell(atoms: Atoms, min_length_A: float = GAMMA_ONLY_MIN_LENGTH_A) -> tuple[Atoms, int]:
    """Supercell with periodic lengths of at least ``min_length_A`` (for Gamma-only sampling).

    Parameters
    ----------
    atoms : ase.Atoms
        The structure.
    min_length_A : float, optional
        Smallest periodic length, Å (default ``GAMMA_ONLY_MIN_LENGTH_A``).

    Returns
    -------
    supercell : ase.Atoms
    copies : int
        Number of copies of ``atoms`` in it.
    """
    import numpy as np

    reps = [int(np.ceil(min_length_A / np.linalg.norm(atoms.cell[i]))) if atoms.pbc[i] else 1
            for i in range(3)]
    if reps == [1, 1, 1]:
        return atoms, 1
    sc = atoms.repeat(reps)
    sc.info.update(atoms.info)
    return sc, int(np.prod(reps))


@dataclass
class EnergyRecord:
    """One single-point energy of one structure with one calculator.

    Attributes
    ----------
    system : str
        Label of the structure.
    calculator : str
        Preset name.
    energy_eV : float
        Energy, eV (NaN on error).
    n_atoms : int
    wall_s : float
        Wall time, s (0 when cached).
    cached : bool
        Read from ``validation.db``.
    task_hash : str
        Content hash of structure and parameters.
    txt : str or None
        GPAW log file.
    gpw : str or None
        GPAW restart file.
    error : str or None
        Calculator failure.
    """

    system: str
    calculator: str
    energy_eV: float
    n_atoms: int
    wall_s: float
    cached: bool
    task_hash: str
    txt: str | None = None
    gpw: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)


def _gpaw_calc(calc: Any):
    """The GPAW object inside a calculator (itself or the first member of a SumCalculator)."""
    for c in [calc, *getattr(getattr(calc, "mixer", None), "calcs", []), *getattr(calc, "calcs", [])]:
        if type(c).__name__ == "GPAW" or hasattr(c, "write") and "gpaw" in type(c).__module__:
            return c
    return None


class Evaluator:
    """Cached single-point energies for the validation recipes.

    Every energy is keyed by a content hash (structure, preset and parameters, charge) in
    ``<outdir>/validation.db``; GPAW writes ``.txt`` and ``.gpw`` per task in ``<outdir>/gpaw/``.
    A rerun, or a killed job resumed, recomputes only what is missing.

    Parameters
    ----------
    outdir : str or Path, optional
        Directory for ``validation.db`` and ``gpaw/`` (created); ``None`` = no cache, no files.
    overrides : dict of str to dict, optional
        Per-preset parameter overrides, e.g. ``{"gpaw-pbe-pw": {"ecut_eV": 300}}`` (eV); a
        ``*-d3`` preset uses the overrides of its base preset. Overrides enter the hash.
    gpw_mode : str or None, default ""
        ``""`` (small ``.gpw`` without wave functions), ``"all"`` or ``None`` (no ``.gpw``).
    """

    def __init__(self, outdir: str | Path | None = None, overrides: dict[str, dict] | None = None,
                 gpw_mode: str | None = ""):
        self.outdir = Path(outdir) if outdir is not None else None
        self.overrides = {resolve_calculator(k): dict(v) for k, v in (overrides or {}).items()}
        self.gpw_mode = gpw_mode
        self.store = None
        self._calcs: dict[str, Any] = {}
        self.records: list[EnergyRecord] = []
        if self.outdir is not None:
            self.outdir.mkdir(parents=True, exist_ok=True)
            self.store = ResultStore(self.outdir / "validation.db")

    # -- parameters -------------------------------------------------------------------------
    def params(self, preset: str, **extra: Any) -> dict[str, Any]:
        """Hashed parameters of ``preset`` with this evaluator's overrides (and ``extra``)."""
        return preset_parameters(preset, **{**self.overrides.get(preset, {}), **extra})

    def sub(self, overrides: dict[str, dict]) -> Evaluator:
        """An evaluator sharing this one's store and files, with more overrides."""
        new = Evaluator.__new__(Evaluator)
        new.__dict__.update(self.__dict__)
        merged = {k: dict(v) for k, v in self.overrides.items()}
        for k, v in overrides.items():
            merged.setdefault(resolve_calculator(k), {}).update(v)
        new.overrides = merged
        new._calcs = {}
        return new

    def _hash(self, atoms: Atoms, calc_params: dict[str, Any]) -> str:
        return task_hash(atoms, calc_params, {"kind": "single_point", "version": VALIDATE_VERSION,
                                              "charge": float(atoms.info.get(CHARGE_KEY, 0.0))})

    # -- energies ---------------------------------------------------------------------------
    def energy(self, atoms: Atoms, calculator: str, system: str = "", **extra: Any) -> EnergyRecord:
        """Energy of ``atoms`` (as they are) with a calculator.

        Parameters
        ----------
        atoms : ase.Atoms
            Structure (``info['charge']`` is honoured).
        calculator : str
            Preset or alias; a ``-d3`` preset adds D3(BJ) to its base preset's energy.
        system : str, default ""
            Label for the record.
        **extra
            Parameters for the (base) preset factory, also hashed, e.g. explicit ``kpts`` so that
            all points of an EOS share one k-point grid.

        Returns
        -------
        EnergyRecord
            Energy in eV.

        Raises
        ------
        surfchem.errors.CalculatorError
            The calculator failed (e.g. SCF not converged).
        """
        preset = resolve_calculator(calculator)
        base, d3 = base_preset(preset)
        n_rep = 1
        if preset.startswith("gfn"):
            atoms, n_rep = gamma_supercell(atoms)
        rec = self._single(atoms, base, system, extra=extra)
        if n_rep > 1:
            rec = EnergyRecord(rec.system, rec.calculator, rec.energy_eV / n_rep, rec.n_atoms // n_rep,
                               rec.wall_s, rec.cached, rec.task_hash, rec.txt, rec.gpw)
        if not d3:
            return rec
        disp = self._single(atoms, "d3", system, d3_params=self.params(preset))
        out = EnergyRecord(system, preset, rec.energy_eV + disp.energy_eV, len(atoms),
                           rec.wall_s + disp.wall_s, rec.cached and disp.cached,
                           f"{rec.task_hash}+{disp.task_hash}", rec.txt, rec.gpw)
        return out

    def try_energy(self, atoms: Atoms, calculator: str, system: str = "") -> EnergyRecord:
        """Like :meth:`energy`, but a calculator failure is returned as a record with ``error``.

        Parameters
        ----------
        atoms : ase.Atoms
        calculator : str
        system : str, default ""

        Returns
        -------
        EnergyRecord
        """
        try:
            return self.energy(atoms, calculator, system)
        except CalculatorError as exc:
            return EnergyRecord(system, resolve_calculator(calculator), float("nan"), len(atoms),
                                0.0, False, "", error=str(exc))

    def _single(self, atoms: Atoms, preset: str, system: str, d3_params: dict | None = None,
                extra: dict | None = None) -> EnergyRecord:
        extra = extra or {}
        if preset == "d3":
            d3 = d3_settings(d3_params)
            params = {"preset": "d3", "method": d3["d3_method"], "damping": d3["d3_damping"]}
        else:
            params = self.params(preset, **extra)
        h = self._hash(atoms, params)
        label = f"{system or atoms.get_chemical_formula()}-{preset}"
        if self.store is not None:
            hit = self.store.get(h)
            if hit is not None:
                r = hit[1]
                rec = EnergyRecord(system, preset, float(r["energy_eV"]), len(atoms),
                                   float(r.get("wall_s", 0.0)), True, h, r.get("txt"), r.get("gpw"))
                self.records.append(rec)
                return rec
        work = atoms.copy()
        txt = gpw = None
        kw = {**self.overrides.get(preset, {}), **extra}
        if preset == "d3":
            calc = d3_calculator(**d3_settings(d3_params))
        elif is_gpaw(preset):
            if self.outdir is not None:
                gdir = self.outdir / "gpaw"
                gdir.mkdir(parents=True, exist_ok=True)
                txt = str(gdir / f"{label}-{h}.txt")
                gpw = str(gdir / f"{label}-{h}.gpw") if self.gpw_mode is not None else None
            kw.setdefault("txt", txt)
            charge = float(atoms.info.get(CHARGE_KEY, 0.0))
            if charge:
                kw["charge"] = charge
            calc = get_calculator(preset, **kw)
        else:
            calc = self._calcs.get(preset) if not extra else None
            if calc is None:
                calc = get_calculator(preset, **kw)
                if not preset.startswith("gfn") and not extra:  # tblite keeps state: rebuild it
                    self._calcs[preset] = calc
        work.calc = calc
        t0 = time.perf_counter()
        try:
            e = float(work.get_potential_energy())
        except Exception as exc:
            if isinstance(exc, InputError):
                raise
            where = f" (log: {txt})" if txt else ""
            fix = ("raise maxiter (get_calculator(..., maxiter=...)), loosen 'convergence' or "
                   "increase smearing_eV" if is_gpaw(preset) else
                   "raise max_iterations or lower mixer_damping" if preset.startswith("gfn") else
                   "check the structure")
            raise CalculatorError(
                f"{preset} failed on {system or work.get_chemical_formula()}"
                f"{where}: {type(exc).__name__}: {exc}; fix: {fix}") from exc
        wall = time.perf_counter() - t0
        if gpw is not None:
            g = _gpaw_calc(calc)
            if g is not None:
                g.write(gpw, mode=self.gpw_mode)
        rec = EnergyRecord(system, preset, e, len(atoms), wall, False, h, txt, gpw)
        if self.store is not None:
            from ase.parallel import world

            if world.rank == 0:
                self.store.put(h, atoms, {"energy_eV": e, "wall_s": wall, "system": system,
                                          "calculator": preset, "txt": txt or "", "gpw": gpw or "",
                                          "kind": "validation_energy"})
        self.records.append(rec)
        return rec


def kpts_for(atoms, density: float) -> tuple[int, ...]:
    """Monkhorst-Pack grid of a k-point density, as GPAW builds it (n_i = ceil(2 pi density / a_i)).

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure.
    density : float
        k-points per Å⁻¹.

    Returns
    -------
    tuple of int
    """
    from ase.calculators.calculator import kptdensity2monkhorstpack

    return tuple(int(k) for k in kptdensity2monkhorstpack(atoms, density, even=False))
