"""One unit of campaign work and its cache key: :class:`Task` owns the hash policy.

A task's key (:meth:`Task.key`, :func:`surfchem.core.hashing.task_hash`) holds everything that
changes its result: the start structure, the calculator's full parameters, the relaxation
settings (or the mode), the search settings that change the search itself, the ligand's
canonical SMILES, the material and the extra starts. It leaves out labels (ligand name, stage,
campaign) and the search keys that plan the work around a search (:data:`SEARCH_PLAN_KEYS`), so
the same computation is found again under another campaign or sweep plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ase import Atoms

from surfchem.core.hashing import task_hash

#: SearchSpec keys that plan the work around a search task (the sweeps, the bare slab's start
#: count, the direct start) rather than the task itself: kept out of its key and not passed to
#: :class:`surfchem.trust.search.SearchSettings`
SEARCH_PLAN_KEYS = ("sweeps", "regrow", "bare_starts", "direct_start")

#: task modes: ``eos`` (cubic lattice fit), ``relax`` (one relaxation), ``search`` (multi-start
#: minimum search), ``single_point``, ``anchor`` (a ligand's DFT anchor, :mod:`surfchem.thermo.anchors`)
MODES = ("eos", "relax", "search", "single_point", "anchor")


@dataclass
class Task:
    """One calculation: what (``kind``: bulk | salt | ion_pair | slab), how (``mode``), on what.

    Parameters
    ----------
    kind, mode
        What is computed and how (:data:`MODES`).
    record
        Labels stored with the result (ligand, n, sites, ...; never hashed).
    atoms
        Start structure (``None`` for an ``eos`` task, which builds its own from ``material``).
    material
        Material of an ``eos`` task.
    calculator, calc_params, preset
        Preset name, its overrides, and the full parameters the key holds
        (:func:`surfchem.calculators.preset_parameters`).
    relax
        Relaxation settings: ``fmax`` (eV/Å), ``steps``, ``optimizer``, ``fix``.
    search
        The search settings (a :class:`surfchem.campaign.spec_compute.SearchSpec` dump) of a ``search``.
    extra_starts
        Further ``(label, atoms)`` starts of a search.
    bulk_tilt_starts
        Tilted 2x2x2 starts of a bulk ``eos`` task (0: cubic cell only).
    anchor
        An ``anchor`` task's settings: ``dft`` (preset), ``dft_preset`` (its full parameters,
        hashed), ``size``, ``layers`` and ``dir`` (the anchors' energy cache, not hashed).
    """

    kind: str
    mode: str
    record: dict[str, Any]
    atoms: Atoms | None = None
    material: str | None = None
    calculator: str = ""
    calc_params: dict[str, Any] = field(default_factory=dict)
    preset: dict[str, Any] = field(default_factory=dict)
    relax: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] | None = None
    extra_starts: list[tuple[str, Atoms]] | None = None
    bulk_tilt_starts: int = 0
    mpi_ranks: int = 1
    calculator_object: Any = None
    anchor: dict[str, Any] | None = None

    def search_options(self) -> dict[str, Any] | None:
        """The search settings that change the search (no :data:`SEARCH_PLAN_KEYS`)."""
        if self.mode != "search" or self.search is None:
            return None
        return {k: v for k, v in self.search.items() if k not in SEARCH_PLAN_KEYS}

    def key(self) -> str:
        """The task's cache key (``h`` + 20 hex digits): the one place that decides what is hashed."""
        settings = dict(self.relax) if self.mode in ("relax", "search") else {"mode": self.mode}
        if self.bulk_tilt_starts:
            settings["bulk_tilt_starts"] = self.bulk_tilt_starts
        if self.mode == "search":
            settings["search"] = self.search_options()
        if self.mode == "anchor" and self.anchor is not None:
            settings["anchor"] = {k: v for k, v in self.anchor.items() if k != "dir"}
        if self.record.get("smiles"):  # the ligand's canonical SMILES: a renamed ligand (the old DDA6 =
            settings["smiles"] = self.record["smiles"]  # hexylammonium) never hits new results
        extra = [task_hash(a, {}, {}) for _, a in self.extra_starts or []]
        return task_hash(self.atoms, self.preset, {**settings, "material": self.material, "kind": self.mode,
                                                   "extra": extra})

    def payload(self, out: Path, stage: int, campaign: str) -> dict[str, Any]:
        """The plain dict a worker runs (:func:`surfchem.campaign.tasks.execute`), picklable.

        ``record`` gets the labels ``kind``, ``stage``, ``campaign``, ``calculator``, ``mode`` and
        the start's formula and atom count; ``trajectory`` is ``OUT/trajectories/<key>.traj``.
        """
        h = self.key()
        atoms = self.atoms
        return {
            "kind": self.mode, "hash": h, "atoms": atoms, "material": self.material,
            "calculator": self.calculator, "calc_params": self.calc_params,
            "settings": self.relax, "mpi_ranks": self.mpi_ranks,
            "calculator_object": self.calculator_object, "bulk_tilt_starts": self.bulk_tilt_starts,
            "trajectory": str(out / "trajectories" / f"{h}.traj") if self.mode in ("relax", "search") else None,
            "search": self.search_options(), "anchor": self.anchor,
            "extra_starts": self.extra_starts if self.mode == "search" else None,
            "record": {**self.record, "kind": self.kind, "stage": stage, "campaign": campaign,
                       "calculator": self.preset["preset"], "mode": self.mode,
                       **({"formula": atoms.get_chemical_formula(), "n_atoms": len(atoms)} if atoms is not None else {})},
        }
