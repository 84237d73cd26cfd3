"""Multi-start minimum search for one ligand-capped slab: the start schedule, stop rule and driver.

Starts (:func:`perturbed_starts`): start 0 is the structure as given; start i >= 1 is
:func:`surfchem.trust.moves.perturb` of it: every ligand turned rigidly about the surface normal
through its N by a random angle free of overlaps, the depth of its N below the outermost
inorganic layer set to ``depths_A[i % len(depths_A)]`` (the soft coordinate of prototype lesson
1 (docs "Trustworthy minima"): NH3+ heads sat 0.6-1.9 Å deep in the A-site pocket) and all atoms
rattled by ``rattle_A``. Those absolute depths are for heads with N-H (their hydrogen bonds pull
the N into the pocket). A head without N-H (quaternary R4N+) is instead moved by
``offsets_A[i % len(offsets_A)]`` from its depth in the given structure (for a new ligand the
builder's depth scan, :mod:`surfchem.build.decorate`, which already put it as deep as its methyls
allow): a quaternary head 1.6 Å into the pocket would have its methyls in the Br layer; with
``anneal_steps > 0`` each start is first annealed by Langevin MD at ``anneal_T_K``
(:func:`surfchem.trust.moves.anneal`) and then quenched by the relaxation. Growth from the
relaxed N-1 slab (the campaign's ``grow`` mode) provides a further, independent start.

Physical validity (:func:`surfchem.trust.checked.checked_relax`, used for every start and by the
campaign's single relaxations): overlapping starts, relaxations that do not converge and relaxed
structures that fail a structural check (:data:`surfchem.trust.sanity.STRUCTURE_FLAGS`) are
rejected. Rejected starts count in ``n_rejected`` and never become the minimum.

Stop rule (:func:`stop_rule`): after each start, stop when the lowest energy has not improved by
more than ``tol_eV`` over the last ``patience`` starts, or after ``n_starts`` starts.

Each start's relaxation writes ``<prefix>_s<i>.traj`` and, once finished, ``<prefix>_s<i>.extxyz``
(with its energy), so a killed search resumes start by start.

The start moves (:func:`~surfchem.trust.moves.perturb`, :func:`~surfchem.trust.moves.head_depths`,
:func:`~surfchem.trust.moves.surface_planes`) and :func:`~surfchem.trust.checked.checked_relax`
are still importable from here, as before they moved to their own modules.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from surfchem.build.ligands import acidic_hydrogens
from surfchem.errors import InputError
from surfchem.trust.checked import checked_relax
from surfchem.trust.fingerprint import deduplicate
from surfchem.trust.moves import anneal, ligand_atoms, perturb

# the start moves, importable from here as before the split into moves/checked/search
from surfchem.trust.moves import head_depths as head_depths
from surfchem.trust.moves import surface_planes as surface_planes


@dataclass(frozen=True)
class SearchSettings:
    """Settings of :func:`minimum_search` (defaults measured on MA and PEA slabs).

    Attributes
    ----------
    n_starts : int, default 4
        Starts at most (start 0 is the structure as given).
    patience : int, default 2
        Stop after this many starts without improvement by more than ``tol_eV``.
    tol_eV : float, default 0.05
        Improvement that counts, eV.
    depths_A : tuple of float, default (0.0, 0.8, 1.6)
        Head depths below the outermost inorganic layer cycled over the starts (heads with N-H), Å.
    offsets_A : tuple of float, default (0.0, 0.5, -0.5)
        Depth offsets of heads without N-H from their depth in the given structure, Å (+ = deeper).
    rattle_A : float, default 0.05
        Standard deviation of the random displacement of every atom, Å.
    anneal_steps : int, default 0
        Langevin MD steps before each perturbed start (0 = no anneal).
    anneal_T_K : float, default 300.0
        Anneal temperature, K.
    seed : int, default 0
        Random seed.

    Raises
    ------
    surfchem.errors.InputError
        ``n_starts < 1``, ``patience < 1`` or ``tol_eV < 0``.
    """

    n_starts: int = 4
    patience: int = 2
    tol_eV: float = 0.05
    depths_A: tuple[float, ...] = (0.0, 0.8, 1.6)
    #: depth offsets (Å, + = deeper) of heads without N-H from their depth in the given structure:
    #: +-0.5 Å is one step of the builder's depth scan (HEAD_DEPTH_SCAN_A)
    offsets_A: tuple[float, ...] = (0.0, 0.5, -0.5)
    rattle_A: float = 0.05
    anneal_steps: int = 0
    anneal_T_K: float = 300.0
    seed: int = 0

    def __post_init__(self):
        if self.n_starts < 1 or self.patience < 1 or self.tol_eV < 0:
            raise InputError(f"search needs n_starts >= 1, patience >= 1, tol_eV >= 0; got {self}")

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (tuples as lists).

        Returns
        -------
        dict
        """
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class SearchResult:
    """Outcome of :func:`minimum_search`.

    Attributes
    ----------
    energy_eV : float
        Lowest valid minimum, eV (NaN when no start gave one).
    atoms : ase.Atoms
        Its structure.
    n_starts : int
        Starts relaxed or rejected.
    n_distinct : int
        Distinct minima after deduplication (energy + fingerprint).
    energy_spread_eV : float
        Standard deviation of the lowest (up to 3) distinct minima, eV; 0 with one minimum.
    gap_eV : float
        Second-lowest distinct minimum minus the lowest, eV (NaN with one).
    hits_lowest : int
        Starts that ended in the lowest minimum.
    start_energies_eV : list of float
        Energy reached from each start, eV (NaN: rejected or failed).
    best_start : int
        Index of the start that gave the lowest minimum.
    stop_reason : str
    wall_s : float
        Wall time, s.
    converged : bool
        A valid minimum was found.
    relax_records : list of dict
        One record per start (status, flags, energy).
    n_rejected : int
        Starts rejected as unphysical or failed.
    rejected : list of str
        Why each was rejected.
    """
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
    n_rejected: int = 0
    rejected: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """Plain-data summary (for result tables and JSON).

        Returns
        -------
        dict
        """
        return {
            "energy_eV": self.energy_eV, "n_starts": self.n_starts, "n_distinct": self.n_distinct,
            "n_rejected": self.n_rejected, "rejected": "; ".join(self.rejected),
            "energy_spread_eV": self.energy_spread_eV, "gap_eV": self.gap_eV,
            "hits_lowest": self.hits_lowest, "start_energies_eV": self.start_energies_eV,
            "best_start": self.best_start, "stop_reason": self.stop_reason, "wall_s": self.wall_s,
            "converged": self.converged,
        }


def perturbed_starts(atoms: Atoms, settings: SearchSettings) -> Iterator[tuple[str, Atoms]]:
    """Yield the starts of a search: the input first, then perturbed copies.

    Heads with N-H get ``settings.depths_A`` in turn, heads without N-H ``settings.offsets_A`` from
    their depth in ``atoms`` (module docstring).

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab.
    settings : SearchSettings

    Yields
    ------
    tuple of (str, ase.Atoms)
        Label (e.g. ``"s2 depth=1.60"``) and start structure.
    """
    acid = acidic_hydrogens(atoms)
    no_nh = any(not acid[idx].any() for idx in ligand_atoms(atoms))
    yield "as-built", atoms.copy()
    for i in range(1, settings.n_starts):
        rng = np.random.default_rng(settings.seed + i)
        depth = settings.depths_A[i % len(settings.depths_A)]
        offset = settings.offsets_A[i % len(settings.offsets_A)] if settings.offsets_A else 0.0
        label = f"depth={depth:.2f}" + (f",offset={offset:+.2f}" if no_nh else "")
        yield label, perturb(atoms, depth, rng, rotate=True, rattle_A=settings.rattle_A, offset_A=offset)


def stop_rule(energies: list[float], patience: int, tol_eV: float) -> bool:
    """Whether the search may stop.

    Parameters
    ----------
    energies : list of float
        Energies of the starts so far, eV (NaN = rejected).
    patience : int
        Starts without improvement needed.
    tol_eV : float
        Improvement that counts, eV.

    Returns
    -------
    bool
        True when the best energy has not improved by more than ``tol_eV`` in the last
        ``patience`` starts (needs at least ``patience + 1`` finite energies).
    """
    finite = [e for e in energies if np.isfinite(e)]
    if len(finite) <= patience:
        return False
    before = min(finite[:-patience])
    return min(finite) > before - tol_eV


def minimum_search(atoms: Atoms, calculator: Any, relax_settings: dict[str, Any],
                   settings: SearchSettings = SearchSettings(), prefix: str | Path | None = None,
                   extra_starts: list[tuple[str, Atoms]] | None = None) -> SearchResult:
    """Relax several starts of ``atoms`` and return the lowest valid distinct minimum and its spread.

    Starts: the structure as given, perturbed starts (:func:`perturbed_starts`: rotation about the
    normal, head depth, rattle, optional anneal) and ``extra_starts``. Every start goes through
    :func:`checked_relax` (reference bond graph: ``atoms``); rejected starts count in ``n_rejected``
    and their reasons in ``rejected``. The search stops after ``settings.patience`` starts without an
    improvement by more than ``settings.tol_eV``. Minima are deduplicated
    (:mod:`surfchem.trust.fingerprint`).

    Parameters
    ----------
    atoms : ase.Atoms
        A ligand-capped slab (labels ``ligand_index`` and ``surface_site`` as built).
    calculator : str or ase.calculators.calculator.Calculator
        Preset name or ASE calculator.
    relax_settings : dict
        Keyword arguments of :func:`surfchem.relax.relax` (``fmax`` in eV/Å, ``steps``, ...).
    settings : SearchSettings, optional
        Starts and stop rule.
    prefix : str or Path, optional
        Path prefix of per-start files (``<prefix>_s<i>.extxyz`` / ``.traj`` /
        ``.rejected.json``): a killed search resumes from them.
    extra_starts : list of (str, ase.Atoms), optional
        Further labelled starts (e.g. grown or built directly).

    Returns
    -------
    SearchResult
        Lowest energy (eV) and structure, spread and gap (eV), counts and per-start records.

    Examples
    --------
    >>> from surfchem import build_slab, decorate, minimum_search
    >>> slab = decorate(build_slab(layers=3), "MA", [0])  # doctest: +SKIP
    >>> res = minimum_search(slab, "chgnet-d3", {"fmax": 0.05, "steps": 300})  # doctest: +SKIP
    >>> res.energy_eV, res.energy_spread_eV, res.n_distinct  # doctest: +SKIP
    """
    import json

    from ase.io import read, write

    t0 = time.perf_counter()
    energies: list[float] = []
    finals: list[tuple[float, Atoms]] = []
    records: list[dict[str, Any]] = []
    rejected: list[str] = []
    starts = list(perturbed_starts(atoms, settings)) + list(extra_starts or [])
    stop_reason = "n_starts"
    for i, (label, start) in enumerate(starts):
        done_file = Path(f"{prefix}_s{i}.extxyz") if prefix else None
        reject_file = Path(f"{prefix}_s{i}.rejected.json") if prefix else None
        if done_file is not None and done_file.exists():
            final = read(done_file)
            for name in ("surface_site", "ligand_index"):
                if name in atoms.arrays:
                    final.set_array(name, atoms.get_array(name))
            e = float(final.info["search_energy_eV"])
            final.info = dict(atoms.info)  # labels as given (extxyz turns lists into arrays)
            records.append({"start": i, "label": label, "energy_eV": e, "resumed": True, "converged": True})
        elif reject_file is not None and reject_file.exists():
            rec = json.loads(reject_file.read_text())
            records.append({"start": i, "label": label, **rec, "resumed": True})
            rejected.append(f"s{i} {label}: {rec.get('error')}")
            energies.append(float("nan"))
            continue
        else:
            if settings.anneal_steps > 0 and i > 0:
                start = anneal(start, calculator, settings.anneal_steps, settings.anneal_T_K, settings.seed + i)
            res, rec = checked_relax(start, calculator, relax_settings, reference=atoms,
                                     trajectory=f"{prefix}_s{i}.traj" if prefix else None)
            records.append({"start": i, "label": label, **rec})
            if rec["status"] != "ok":
                rejected.append(f"s{i} {label}: {rec.get('error')}")
                energies.append(float("nan"))
                if reject_file is not None and rec["status"] == "rejected":
                    reject_file.write_text(json.dumps({k: v for k, v in rec.items() if k != "atoms"},
                                                      default=str))
                continue
            final, e = res.atoms, float(res.energy_eV)
            if done_file is not None:
                snap = final.copy()
                snap.info["search_energy_eV"] = e
                write(done_file, snap)
        energies.append(e)
        finals.append((e, final))
        if i + 1 < len(starts) and i + 1 >= 2 and stop_rule(energies, settings.patience, settings.tol_eV):
            stop_reason = f"no improvement > {settings.tol_eV} eV in {settings.patience} starts"
            break
    start_ids = [r["start"] for r in records if r.get("status", "ok") == "ok"]
    minima = deduplicate(finals, start_ids=start_ids)
    if not minima:
        return SearchResult(float("nan"), atoms, len(energies), 0, float("nan"), float("nan"), 0,
                            energies, -1, "no valid minimum", time.perf_counter() - t0, False, records,
                            n_rejected=len(rejected), rejected=rejected)
    low = [m.energy_eV for m in minima[:3]]
    best = minima[0]
    return SearchResult(
        energy_eV=best.energy_eV, atoms=best.atoms, n_starts=len(energies), n_distinct=len(minima),
        energy_spread_eV=float(np.std(low)) if len(low) > 1 else 0.0,
        gap_eV=float(low[1] - low[0]) if len(low) > 1 else float("nan"),
        hits_lowest=best.hits, start_energies_eV=[float(e) for e in energies], best_start=best.start,
        stop_reason=stop_reason, wall_s=time.perf_counter() - t0, converged=True,
        relax_records=records, n_rejected=len(rejected), rejected=rejected,
    )
