"""Multi-start minimum search for one ligand-capped slab.

Starts (``perturbed_starts``): start 0 is the structure as given; start i >= 1 turns every
ligand rigidly about the surface normal through its N by a random angle, sets the depth of its
N below the outermost inorganic layer to ``depths_A[i % len(depths_A)]`` (the soft coordinate of
``findings.md``, lesson 1: NH3+ heads sat 0.6-1.9 Å deep in the A-site pocket) and rattles all
atoms by ``rattle_A``; with ``anneal_steps > 0`` each start is first annealed by Langevin MD at
``anneal_T_K`` (ASE) and then quenched by the relaxation. Growth from the relaxed N-1 slab (the
campaign's ``grow`` mode) provides a further, independent start.

Stop rule: after each start, stop when the lowest energy has not improved by more than
``tol_eV`` over the last ``patience`` starts, or after ``n_starts`` starts.

Each start's relaxation writes ``<prefix>_s<i>.traj`` and, once finished, ``<prefix>_s<i>.extxyz``
(with its energy), so a killed search resumes start by start.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from surfchem.errors import InputError
from surfchem.trust.fingerprint import deduplicate


@dataclass(frozen=True)
class SearchSettings:
    """Settings of :func:`minimum_search` (defaults measured on MA/PEA slabs, see README)."""

    n_starts: int = 4
    patience: int = 2
    tol_eV: float = 0.05
    depths_A: tuple[float, ...] = (0.0, 0.8, 1.6)
    rattle_A: float = 0.05
    anneal_steps: int = 0
    anneal_T_K: float = 300.0
    seed: int = 0

    def __post_init__(self):
        if self.n_starts < 1 or self.patience < 1 or self.tol_eV < 0:
            raise InputError(f"search needs n_starts >= 1, patience >= 1, tol_eV >= 0; got {self}")

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class SearchResult:
    energy_eV: float
    atoms: Atoms
    n_starts: int
    n_distinct: int
    energy_spread_eV: float  # std of the lowest (up to 3) distinct minima; 0 if only one
    gap_eV: float  # second-lowest distinct minimum minus the lowest (nan if one)
    hits_lowest: int
    start_energies_eV: list[float]
    best_start: int
    stop_reason: str
    wall_s: float
    converged: bool
    relax_records: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "energy_eV": self.energy_eV, "n_starts": self.n_starts, "n_distinct": self.n_distinct,
            "energy_spread_eV": self.energy_spread_eV, "gap_eV": self.gap_eV,
            "hits_lowest": self.hits_lowest, "start_energies_eV": self.start_energies_eV,
            "best_start": self.best_start, "stop_reason": self.stop_reason, "wall_s": self.wall_s,
            "converged": self.converged,
        }


def _ligands(atoms: Atoms) -> list[np.ndarray]:
    lig = atoms.arrays.get("ligand_index")
    if lig is None:
        return []
    return [np.flatnonzero(lig == k) for k in sorted(set(lig[lig >= 0]))]


def surface_planes(atoms: Atoms) -> tuple[float, float]:
    """z (Å) of the bottom and top outermost inorganic layers."""
    from surfchem.relax import slab_layers

    layers = slab_layers(atoms)
    z = atoms.positions[:, 2]
    return float(z[layers[0]].mean()), float(z[layers[-1]].mean())


def head_depths(atoms: Atoms) -> list[float]:
    """Depth (Å) of each ligand's N below the outermost inorganic layer of its face (+ = inside)."""
    bottom, top = surface_planes(atoms)
    mid = (bottom + top) / 2
    out = []
    for idx in _ligands(atoms):
        n = idx[[atoms.symbols[i] == "N" for i in idx]][0]
        z = atoms.positions[n, 2]
        out.append(top - z if z > mid else z - bottom)
    return out


def perturb(atoms: Atoms, depth_A: float | None, rng: np.random.Generator, rotate: bool = True,
            rattle_A: float = 0.0) -> Atoms:
    """Copy of ``atoms`` with every ligand turned about the normal and set to ``depth_A``."""
    out = atoms.copy()
    bottom, top = surface_planes(out)
    mid = (bottom + top) / 2
    for idx in _ligands(out):
        n = idx[[out.symbols[i] == "N" for i in idx]][0]
        pos = out.positions[idx]
        pivot = out.positions[n].copy()
        if rotate:
            th = rng.uniform(0, 2 * np.pi)
            c, s = np.cos(th), np.sin(th)
            rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
            pos = (pos - pivot) @ rot.T + pivot
        if depth_A is not None:
            up = pivot[2] > mid
            target = top - depth_A if up else bottom + depth_A
            pos[:, 2] += target - pivot[2]
        out.positions[idx] = pos
    if rattle_A > 0:
        out.positions += rng.normal(0, rattle_A, out.positions.shape)
    return out


def perturbed_starts(atoms: Atoms, settings: SearchSettings) -> Iterator[tuple[str, Atoms]]:
    """Yield (label, start structure): the input first, then perturbed copies."""
    yield "as-built", atoms.copy()
    for i in range(1, settings.n_starts):
        rng = np.random.default_rng(settings.seed + i)
        depth = settings.depths_A[i % len(settings.depths_A)]
        yield f"depth={depth:.2f}", perturb(atoms, depth, rng, rotate=True, rattle_A=settings.rattle_A)


def _anneal(atoms: Atoms, calc: Any, steps: int, T_K: float, seed: int) -> Atoms:
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    work = atoms.copy()
    work.calc = calc
    MaxwellBoltzmannDistribution(work, temperature_K=T_K, rng=np.random.default_rng(seed))
    dyn = Langevin(work, 1.0 * units.fs, temperature_K=T_K, friction=0.02, rng=np.random.default_rng(seed))
    dyn.run(steps)
    work.calc = None
    work.set_velocities(np.zeros_like(work.positions))
    return work


def stop_rule(energies: list[float], patience: int, tol_eV: float) -> bool:
    """True when the best energy has not improved by more than ``tol_eV`` in the last ``patience``
    starts (needs at least ``patience + 1`` finite energies)."""
    finite = [e for e in energies if np.isfinite(e)]
    if len(finite) <= patience:
        return False
    before = min(finite[:-patience])
    return min(finite) > before - tol_eV


def minimum_search(atoms: Atoms, calculator: Any, relax_settings: dict[str, Any],
                   settings: SearchSettings = SearchSettings(), prefix: str | Path | None = None,
                   extra_starts: list[tuple[str, Atoms]] | None = None) -> SearchResult:
    """Relax several starts of ``atoms`` and return the lowest distinct minimum and its spread."""
    from ase.io import read, write

    from surfchem.relax import relax

    t0 = time.perf_counter()
    energies: list[float] = []
    finals: list[tuple[float, Atoms]] = []
    records: list[dict[str, Any]] = []
    starts = list(perturbed_starts(atoms, settings)) + list(extra_starts or [])
    stop_reason = "n_starts"
    for i, (label, start) in enumerate(starts):
        done_file = Path(f"{prefix}_s{i}.extxyz") if prefix else None
        if done_file is not None and done_file.exists():
            final = read(done_file)
            for name in ("surface_site", "ligand_index"):
                if name in atoms.arrays:
                    final.set_array(name, atoms.get_array(name))
            e = float(final.info["search_energy_eV"])
            final.info = dict(atoms.info)  # labels as given (extxyz turns lists into arrays)
            records.append({"start": i, "label": label, "energy_eV": e, "resumed": True})
        else:
            if settings.anneal_steps > 0 and i > 0:
                start = _anneal(start, calculator, settings.anneal_steps, settings.anneal_T_K, settings.seed + i)
            res = relax(start, calculator, trajectory=f"{prefix}_s{i}.traj" if prefix else None, **relax_settings)
            final, e = res.atoms, res.energy_eV
            final.calc = None
            records.append({"start": i, "label": label, **res.as_dict()})
            if done_file is not None and np.isfinite(e):
                snap = final.copy()
                snap.info["search_energy_eV"] = e
                write(done_file, snap)
        energies.append(e)
        finals.append((e, final))
        if i + 1 < len(starts) and i + 1 >= 2 and stop_rule(energies, settings.patience, settings.tol_eV):
            stop_reason = f"no improvement > {settings.tol_eV} eV in {settings.patience} starts"
            break
    minima = deduplicate(finals, start_ids=list(range(len(finals))))
    if not minima:
        return SearchResult(float("nan"), atoms, len(energies), 0, float("nan"), float("nan"), 0,
                            energies, -1, "all starts failed", time.perf_counter() - t0, False, records)
    low = [m.energy_eV for m in minima[:3]]
    best = minima[0]
    converged_best = any(r.get("converged", True) for r in records if r["start"] == best.start)
    return SearchResult(
        energy_eV=best.energy_eV, atoms=best.atoms, n_starts=len(energies), n_distinct=len(minima),
        energy_spread_eV=float(np.std(low)) if len(low) > 1 else 0.0,
        gap_eV=float(low[1] - low[0]) if len(low) > 1 else float("nan"),
        hits_lowest=best.hits, start_energies_eV=[float(e) for e in energies], best_start=best.start,
        stop_reason=stop_reason, wall_s=time.perf_counter() - t0, converged=bool(converged_best),
        relax_records=records,
    )
