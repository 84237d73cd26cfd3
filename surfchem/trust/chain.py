"""The grow chain and the consistency sweeps of one ligand: a planner that yields starts.

:func:`grow_and_sweep` is a generator. It yields a :class:`Start` (a slab to relax) or a
:class:`PlanError` (a start that could not be made), and is sent back the outcome of each start,
``(atoms, record)`` of the finished task, or ``None`` when the start was not run (then the plan
goes on as if it had failed). Whoever runs the tasks (the campaign's engine loop) knows nothing of
the moves; this module knows nothing of tasks, caches or databases.

1. Grow: N = 1 .. n_max, each start the next ligand of the grow order
   (:func:`surfchem.build.arrangements.grow_order`) added to the best valid N-1 slab (without
   one, or without room on it, all N ligands on the bare slab). With ``direct_start`` the
   arrangement built directly on the bare slab is a second start of the same search.
2. Consistency sweeps, round r = 1 .. ``sweeps`` after the chain, single relaxations in sequence:
   (a) shrink: N+1 -> N (a ligand replaced by Cs) for N = n_max-1 .. 0; (b) with ``regrow`` and
   if (a) improved anything by more than ``tol_eV``, regrow: N-1 -> N for N = 1 .. n_max;
   (c) splice (:mod:`surfchem.trust.splice`): for even N the top face mirrored onto the bottom
   and vice versa, then for odd N the top face of N+1 joined to the bottom face of N-1. Another
   round if the round improved anything. A better framework (octahedral tilts) or head geometry
   found at any N so reaches every N, and the lowest face states found anywhere are combined,
   which is what face-equivalent steps need to agree. Each start is made when its turn comes,
   from the best structures at that time; a start is skipped when its parents have not changed
   since the last start made from them.

A finished slab becomes the best of its N when it is a valid minimum
(:func:`surfchem.trust.sanity.invalid_reasons`) lower in energy than the current best.
"""

from __future__ import annotations

import collections
import traceback
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from surfchem.build.decorate import decorate_relaxed, undecorate
from surfchem.errors import InputError
from surfchem.trust.sanity import invalid_reasons
from surfchem.trust.splice import mirror_slab, splice_faces

#: what the planner is sent back: ``(relaxed atoms, task record)``, or ``None`` (start not run)
Outcome = tuple[Atoms, dict] | None


@dataclass
class Start:
    """One slab to relax: ``n`` ligands on ``sites`` (grow order), built by move ``label``.

    Attributes
    ----------
    n : int
        Ligands on the slab.
    sites : list of int
        Their surface sites, in grow order.
    label : str
        The move that built it (``"grow"``, ``"grow_relieved"`` when the grown start had to be
        relieved, :func:`surfchem.build.decorate.relieve`; sweep moves ``"shrink"``,
        ``"regrow"``, ``"mirror_top"``, ``"mirror_bottom"``, ``"splice"`` with the round number).
    atoms : ase.Atoms
        The start structure.
    extra : list of (str, ase.Atoms), optional
        Further starts of the same search (``[("direct", atoms)]``).
    single : bool, default False
        One relaxation (a sweep move) instead of a multi-start search.
    """

    n: int
    sites: list[int]
    label: str
    atoms: Atoms
    extra: list[tuple[str, Atoms]] | None = None
    single: bool = False


@dataclass
class PlanError:
    """The start of N = ``n`` could not be made.

    Attributes
    ----------
    n : int
        Coverage (ligands per slab) whose start failed.
    error : str
        Exception type and message.
    traceback : str
        The formatted traceback.
    """

    n: int
    error: str
    traceback: str


@dataclass(frozen=True)
class ChainSettings:
    """Settings of :func:`grow_and_sweep`.

    Attributes
    ----------
    tol_eV : float, default 0.0
        An improvement counts above this, eV.
    sweeps : int, default 0
        At most this many sweep rounds.
    regrow : bool, default False
        Sweeps also regrow N from N-1.
    direct_start : bool, default False
        Grow searches also start from the arrangement built directly on the bare slab.
    search : bool, default False
        Grow steps are multi-start searches (else single relaxations).
    """

    tol_eV: float = 0.0
    sweeps: int = 0
    regrow: bool = False
    direct_start: bool = False
    search: bool = False


def improves(record: dict, best: tuple[float, Atoms] | None) -> bool:
    """Is the finished task a valid minimum lower than ``best``?

    Parameters
    ----------
    record : dict
        A finished task record (``energy_eV`` in eV, ``status``, ``converged``, ``flag_*``).
    best : tuple of (float, ase.Atoms) or None
        The best valid minimum so far (energy in eV, structure); None when there is none.

    Returns
    -------
    bool
        True when the record is a valid minimum (:func:`surfchem.trust.sanity.invalid_reasons`)
        with a finite energy below ``best``.
    """
    if invalid_reasons(record):
        return False
    e = record["energy_eV"]
    return bool(np.isfinite(e) and (best is None or e < best[0]))


class _State:
    """Best valid structure per N, its version, and the parent versions each move used."""

    def __init__(self, bare: Atoms, bare_energy_eV: float):
        self.bare = bare
        self.best: dict[int, tuple[float, Atoms]] = {0: (bare_energy_eV, bare)}
        self.version: collections.Counter = collections.Counter()
        self.made_from: dict[tuple[int, str], tuple] = {}

    def record(self, k: int, outcome: Outcome) -> None:
        if outcome is not None and improves(outcome[1], self.best.get(k)):
            self.best[k] = (outcome[1]["energy_eV"], outcome[0])
            self.version[k] += 1


def grown_start(state: _State, smiles: str, order: Sequence[int], k: int, name: str) -> Atoms:
    """Start for N = k: the next ligand of the grow order on the best valid N = k-1 slab.

    Without a valid N = k-1 minimum (or without room on it), all k ligands are placed on the bare
    slab.

    Parameters
    ----------
    state : _State
        The chain's best valid structure per N.
    smiles : str
        The ligand's SMILES.
    order : sequence of int
        Surface sites in grow order.
    k : int
        Coverage of the start (ligands per slab).
    name : str
        The ligand's name (for messages).

    Returns
    -------
    ase.Atoms
        The start structure.

    Raises
    ------
    surfchem.errors.InputError
        No start could be placed, neither on the N = k-1 minimum nor on the bare slab.
    """
    errors = []
    parent = state.best.get(k - 1)
    if parent is not None:
        try:
            return decorate_relaxed(parent[1], smiles, [order[k - 1]])
        except InputError as exc:
            errors.append(f"on the N = {k - 1} minimum: {exc}")
    else:
        errors.append(f"no valid N = {k - 1} minimum to grow from")
    try:
        return decorate_relaxed(state.bare, smiles, list(order[:k]))
    except InputError as exc:
        errors.append(f"on the bare slab: {exc}")
    raise InputError(f"{name} N = {k}: no start could be placed ({'; '.join(errors)})")


def _moves(state: _State, smiles: str, order: Sequence[int], n_max: int, name: str,
           phase: str) -> list[tuple[int, str, tuple[int, ...], Callable[[], Atoms]]]:
    """(N, label, parent N values, start factory) of one sweep phase."""
    best = state.best
    if phase == "shrink":
        return [(k, "shrink", (k + 1,), lambda k=k: undecorate(best[k + 1][1], order[k]))
                for k in range(n_max - 1, -1, -1)]
    if phase == "regrow":
        return [(k, "regrow", (k - 1,), lambda k=k: grown_start(state, smiles, order, k, name))
                for k in range(1, n_max + 1)]
    items = []
    for k in range(0, n_max + 1, 2):
        items.append((k, "mirror_top", (k,), lambda k=k: splice_faces(best[k][1], mirror_slab(best[k][1]))))
        items.append((k, "mirror_bottom", (k,), lambda k=k: splice_faces(mirror_slab(best[k][1]), best[k][1])))
    for k in range(1, n_max, 2):
        items.append((k, "splice", (k + 1, k - 1), lambda k=k: splice_faces(best[k + 1][1], best[k - 1][1])))
    return items


def grow_and_sweep(name: str, smiles: str, order: Sequence[int], n_max: int, bare: Atoms,
                   bare_energy_eV: float, settings: ChainSettings,
                   counts: collections.Counter | None = None) -> Generator[Start | PlanError, Outcome, None]:
    """The grow chain then the consistency sweeps of ligand ``name`` (see the module docs).

    Parameters
    ----------
    name : str
        The ligand's name (for messages).
    smiles : str
        The ligand's SMILES.
    order : sequence of int
        Surface sites in grow order (:func:`surfchem.build.arrangements.grow_order`).
    n_max : int
        Largest coverage (ligands per slab).
    bare : ase.Atoms
        The relaxed bare slab: the N = 0 parent.
    bare_energy_eV : float
        Its energy, eV.
    settings : ChainSettings
        Tolerance (eV), rounds and moves.
    counts : collections.Counter, optional
        Incremented with ``direct_starts_skipped`` and ``sweep_starts_skipped`` (a face without
        room, or a parent without a valid minimum).

    Yields
    ------
    Start or PlanError
        The next slab to relax, or why the start of an N could not be made. The caller sends back
        the outcome: ``(relaxed atoms, task record)``, or None when nothing was relaxed.
    """
    counts = counts if counts is not None else collections.Counter()
    state = _State(bare, bare_energy_eV)
    for k in range(1, n_max + 1):
        state.made_from[(k, "regrow")] = (state.version[k - 1],)
        try:
            start = grown_start(state, smiles, order, k, name)
            extra = None
            if settings.search and settings.direct_start:
                try:
                    extra = [("direct", decorate_relaxed(bare, smiles, list(order[:k])))]
                except InputError:  # a full face may leave no room on the ideal cut: grown start only
                    counts["direct_starts_skipped"] += 1
        except Exception as exc:  # this N could not be planned: the chain goes on
            state.record(k, (yield PlanError(k, f"{type(exc).__name__}: {exc}", traceback.format_exc())))
            continue
        label = "grow_relieved" if start.info.get("relieved_ligands") else "grow"  # results' `build`
        state.record(k, (yield Start(k, list(order[:k]), label, start, extra)))
    for rnd in range(1, settings.sweeps + 1):
        changed = yield from _round(state, smiles, order, n_max, name, rnd, settings, counts)
        if not changed:
            return


def _round(state: _State, smiles: str, order: Sequence[int], n_max: int, name: str, rnd: int,
           settings: ChainSettings, counts: collections.Counter):
    """One sweep round; returns whether it improved any N by more than ``tol_eV``."""
    changed = yield from _phase(state, smiles, order, n_max, name, rnd, "shrink", settings, counts)
    round_changed = changed
    if changed and settings.regrow:
        round_changed |= yield from _phase(state, smiles, order, n_max, name, rnd, "regrow", settings, counts)
    round_changed |= yield from _phase(state, smiles, order, n_max, name, rnd, "splice", settings, counts)
    return round_changed


def _phase(state: _State, smiles: str, order: Sequence[int], n_max: int, name: str, rnd: int,
           phase: str, settings: ChainSettings, counts: collections.Counter):
    """Run the moves of a phase one after the other; returns whether any improved its N."""
    changed = False
    for k, label, parents, make in _moves(state, smiles, order, n_max, name, phase):
        versions = tuple(state.version[p] for p in parents)
        if state.made_from.get((k, label)) == versions:
            continue
        state.made_from[(k, label)] = versions
        try:
            start = make()
        except (InputError, KeyError):  # a crowded face that leaves no room, or a parent
            counts["sweep_starts_skipped"] += 1  # without a valid minimum: skipped
            continue
        if sorted(start.info.get("occupied_sites", [])) != sorted(order[:k]):
            continue  # not the arrangement of the chain (slabs other than the symmetric grow order)
        before = state.best.get(k, (float("inf"),))[0]
        outcome = yield Start(k, list(order[:k]), f"{label}{rnd}", start, single=True)
        state.record(k, outcome)
        if outcome is not None and not invalid_reasons(outcome[1]) \
                and outcome[1]["energy_eV"] < before - settings.tol_eV:
            changed = True
    return changed
