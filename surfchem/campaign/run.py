"""The campaign driver: plans tasks from a spec, runs them on the engine, owns the database.

Flow per stage (a funnel: stage 0 relaxes everything planned, stage s > 0 recomputes the
``keep`` lowest-energy arrangements per (ligand, N) of stage s-1 with its own calculator):

1. references: cubic EOS of the perovskite and of the CsX salt, the ligand ion pairs;
2. the bare slab at the stage's own a0 (depends on 1);
3. the ligand slabs (depend on 2): in ``grow`` mode a chain N-1 -> N per ligand, else every
   planned arrangement at once.

Only this process writes the database; workers return plain results. Every task is looked up
by its content hash first: finished work is never recomputed, and failed work is retried when
``executor.retry_failed`` is true. Interrupted relaxations restart from their trajectory
(``OUT/trajectories/<hash>.traj``).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms

from surfchem.build import ion_pair
from surfchem.build.arrangements import arrangements as enumerate_arrangements
from surfchem.build.arrangements import grow_order, identify, site_permutations
from surfchem.build.bulk import HALIDE_SALT, get_material
from surfchem.build.decorate import decorate, decorate_relaxed, undecorate
from surfchem.build.ligands import resolve_ligand
from surfchem.build.slab import slab as build_slab
from surfchem.build.sterics import STERIC_COLUMNS, steric_descriptors
from surfchem.calculators import preset_parameters
from surfchem.campaign.engine import Engine, is_lost
from surfchem.campaign.spec import SEARCH_PLAN_KEYS, CampaignSpec, StageSpec
from surfchem.core.hashing import task_hash
from surfchem.core.spec import parse_n_range
from surfchem.core.store import ResultStore, new_owner
from surfchem.errors import InputError
from surfchem.thermo import References, coverage_table, missing_coverages, n_min, summary
from surfchem.trust.diagnostics import add_diagnostics, invalid_reasons, stage_rankings
from surfchem.trust.splice import mirror_slab, splice_faces


@dataclass
class StageResult:
    """One stage's tables. ``n_min`` is ``None`` for a ligand whose coverage range is incomplete;
    ``missing`` lists the requested N without a valid minimum, per ligand."""

    stage: int
    calculator: str
    table: pd.DataFrame
    summary: pd.DataFrame
    references: References
    n_min: dict[str, int | None]
    missing: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class CampaignResult:
    """Per-stage tables; ``table``/``summary``/``references`` are those of the last stage."""

    spec: CampaignSpec
    stages: list[StageResult]
    out: Path
    wall_s: float
    counts: dict[str, int]
    failures: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        return self.stages[-1].table

    @property
    def summary(self) -> pd.DataFrame:
        return self.stages[-1].summary

    @property
    def references(self) -> References:
        return self.stages[-1].references

    @property
    def n_min(self) -> dict[str, int | None]:
        return self.stages[-1].n_min

    @property
    def missing(self) -> dict[str, list[int]]:
        """Requested (ligand, N) without a valid minimum in the last stage (all, if no stage ran)."""
        if not self.stages:
            return {resolve_ligand(lig).name: parse_n(self.spec) for lig in self.spec.ligands}
        return self.stages[-1].missing

    @property
    def complete(self) -> bool:
        """Every requested (ligand, N) has a valid minimum in every planned stage."""
        return len(self.stages) == len(self.spec.stages) and not any(s.missing for s in self.stages)


def parse_n(spec: CampaignSpec) -> list[int]:
    return parse_n_range(spec.n if isinstance(spec.n, str) else list(spec.n),
                         2 * spec.slab.size[0] * spec.slab.size[1])


class _Loop:
    """Event loop of the driver: cache lookups, submission, completion callbacks, store writes.

    Failure isolation: an exception while storing a result, in a completion callback (planning
    the next task) or while planning is recorded as a failure of that task or (ligand, N), with
    its traceback, in ``failures``, the log (``OUT/campaign.log``) and, for a task, the database;
    the loop goes on with everything that does not depend on it. Callbacks run for every
    finished task, also failed or rejected ones, so that chains (grow, sweeps) go on.

    Several drivers on one database: a task is computed only by the driver holding its claim
    (:class:`surfchem.core.store.Claims`); the others wait for its row (``waiting``, polled
    every ``poll_s``) and use it as a cached result. Claims are released when the row is written,
    refreshed every ``claim_timeout_s / 4`` while the driver runs, and taken over when stale.
    """

    def __init__(self, store: ResultStore, engine: Any, bar: Any, retry_failed: bool, dry: bool = False,
                 log: Path | None = None, claim_timeout_s: float = 600.0, poll_s: float = 2.0,
                 max_inflight: int | None = None):
        self.store, self.engine, self.bar = store, engine, bar
        self.retry_failed, self.dry = retry_failed, dry
        self.log = log
        self.owner = new_owner()
        self.claim_timeout_s, self.poll_s = claim_timeout_s, poll_s
        self.waiting: list[tuple[dict, Callable | None]] = []
        # tasks are claimed when a worker is free for them, not when planned: drivers sharing a
        # database split the work by how fast each computes
        self.max_inflight = max_inflight
        self.queued: collections.deque = collections.deque()
        self._beat = time.time()
        self.pending: dict[cf.Future, tuple[dict, Callable | None]] = {}
        self.ready: collections.deque = collections.deque()
        self.counts = collections.Counter()
        self.failures: list[dict[str, Any]] = []

    def note(self, kind: str, context: dict[str, Any], error: str, tb: str | None = None) -> None:
        """Record a failure: in ``failures`` and as a line (plus traceback) in the log."""
        entry = {"kind": kind, "ligand": context.get("ligand"), "n": context.get("n"), "error": error}
        if context.get("task_hash"):
            entry["task_hash"] = context["task_hash"]
        self.failures.append(entry)
        if self.log is not None and not self.dry:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            with open(self.log, "a") as fh:
                fh.write(f"{stamp} {kind} failed: ligand={entry['ligand']!r} n={entry['n']} "
                         f"{entry.get('task_hash', '')} {error}\n")
                if tb:
                    fh.write("".join("    " + line + "\n" for line in tb.rstrip().splitlines()))

    def guard(self, context: dict[str, Any], fn: Callable, *args: Any) -> bool:
        """Call ``fn(*args)``; an exception is recorded as a planning failure of ``context``."""
        try:
            fn(*args)
            return True
        except Exception as exc:
            self.counts["plan_failed"] += 1
            self.note("plan", context, f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return False

    def submit(self, task: dict[str, Any], then: Callable[[Atoms, dict], None] | None = None,
               extra: bool = False) -> None:
        """``extra``: a task not in :func:`count_tasks` (consistency sweeps): grows the bar total."""
        if extra and self.bar.total is not None:
            self.bar.total += 1
            self.bar.refresh()
        hit = self.store.get(task["hash"])
        status = hit[1].get("status", "ok") if hit is not None else None
        if hit is not None and (status != "failed" or not self.retry_failed or self.dry):
            return self._cached(task, then, hit)
        if self.dry:
            self.counts["missing"] += 1
            return
        self._start(task, then, hit)

    def _cached(self, task: dict[str, Any], then: Callable | None, hit: tuple[Atoms, dict]) -> None:
        status = hit[1].get("status", "ok")
        self.counts["cached_" + status] += 1
        if status == "failed":
            self.failures.append({k: hit[1].get(k) for k in ("kind", "ligand", "n", "error")})
        self.bar.update(1)
        if then is not None:
            # results from the store, labels (ligand name, stage, campaign) from this plan
            self.ready.append((then, hit[0], {**hit[1], **task["record"], "task_hash": task["hash"]}))

    def _start(self, task: dict[str, Any], then: Callable | None, hit: tuple[Atoms, dict] | None) -> None:
        """Compute the task if this driver gets its claim, else wait for the holder's row."""
        if self.max_inflight is not None and len(self.pending) >= self.max_inflight:
            self.queued.append((task, then, hit))
            return
        if not self.store.claims.claim(task["hash"], self.owner, self.claim_timeout_s):
            self.counts["waited"] += 1
            self.waiting.append((task, then))
            return
        fresh = self.store.get(task["hash"])  # finished by another driver before we claimed it?
        if fresh is not None and (hit is None or fresh[1].get("status", "ok") != "failed"):
            self.store.claims.release(task["hash"], self.owner)
            return self._cached(task, then, fresh)
        if hit is not None:
            self.store.delete(task["hash"])  # a failed attempt, retried now
        self.pending[self.engine.submit(task)] = (task, then)

    def _poll(self) -> None:
        """Waiting tasks: use the row another driver wrote, or compute the task if its claim
        was released without a row (lost) or went stale; refresh our own claims."""
        if time.time() - self._beat > self.claim_timeout_s / 4:
            self.store.claims.heartbeat(self.owner)
            self._beat = time.time()
        while self.queued and (self.max_inflight is None or len(self.pending) < self.max_inflight):
            self._start(*self.queued.popleft())
        waiting, self.waiting = self.waiting, []
        for task, then in waiting:
            hit = self.store.get(task["hash"])
            if hit is not None:  # the holder's result, failed ones included: never computed twice
                self._cached(task, then, hit)
            else:
                self._start(task, then, None)

    def _store(self, task: dict[str, Any], atoms: Atoms, rec: dict[str, Any]) -> dict[str, Any]:
        """Write a finished task; a failing write becomes that task's failure (kept in the database
        as a failed row when the database takes that, in the log in any case)."""
        try:
            self.store.put(task["hash"], atoms, rec)
            return rec
        except Exception as exc:
            err = f"storing the result failed: {type(exc).__name__}: {exc}"
            tb = traceback.format_exc()
            failed = {**task["record"], "status": "failed", "error": err,
                      "traceback": tb, "energy_eV": float("nan"), "converged": False}
            try:
                self.store.put(task["hash"], Atoms(), failed)
            except Exception:
                pass
            self.counts["store_failed"] += 1
            self.note("store", {**task["record"], "task_hash": task["hash"]}, err, tb)
            return failed

    def _lost(self, task: dict[str, Any], exc: BaseException) -> bool:
        """A task whose worker went away (Slurm job preempted/cancelled): nothing is stored and
        nothing planned from it; it stays pending and the next run computes it, restarting
        from its trajectory. Logged (``lost``) so the user knows to rerun."""
        if not is_lost(exc):
            return False
        self.counts["lost"] += 1
        self.store.claims.release(task["hash"], self.owner)
        self.note("lost", {**task["record"], "task_hash": task["hash"]},
                  f"{type(exc).__name__}: {exc}: its worker was lost (job preempted or cancelled?); "
                  "nothing stored: run the campaign again to compute it")
        return True

    def run(self) -> None:
        while self.pending or self.ready or self.waiting or self.queued:
            while self.ready:
                then, atoms, rec = self.ready.popleft()
                self.guard(rec, then, atoms, rec)
            self._poll()
            if not self.pending:
                if self.waiting and not self.ready:
                    time.sleep(self.poll_s)
                continue
            timeout = self.poll_s if self.waiting else self.claim_timeout_s / 4
            done, _ = cf.wait(list(self.pending), timeout=timeout, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                task, then = self.pending.pop(fut)
                try:
                    out = fut.result()
                except Exception as exc:  # engine-level failure after Parsl's retries
                    if self._lost(task, exc):
                        continue
                    out = {"record": {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                                      "traceback": traceback.format_exc(), "energy_eV": float("nan"),
                                      "converged": False},
                           "atoms": task.get("atoms")}
                rec = {**task["record"], **out["record"]}
                atoms = out["atoms"] if out["atoms"] is not None else Atoms()
                rec = self._store(task, atoms, rec)
                self.store.claims.release(task["hash"], self.owner)
                status = rec.get("status", "ok")
                self.counts["computed_" + status] += 1
                if status == "failed" and not str(rec.get("error", "")).startswith("storing"):
                    self.note("task", {**rec, "task_hash": task["hash"]}, str(rec.get("error")),
                              rec.get("traceback"))
                self.bar.update(1)
                if then is not None:
                    self.ready.append((then, atoms, {**rec, "task_hash": task["hash"]}))


class _Planner:
    """Builds the tasks of one stage and reacts to their completion."""

    def __init__(self, spec: CampaignSpec, stage_index: int, loop: _Loop, out: Path,
                 previous: pd.DataFrame | None, prev_structures: dict[str, Atoms],
                 calculator_object: Any = None):
        self.spec, self.s, self.loop, self.out = spec, stage_index, loop, out
        self.stage: StageSpec = spec.stages[stage_index]
        self.mat = get_material(spec.material)
        self.calc_params = (preset_parameters(self.stage.calculator, **self.stage.params)
                            if calculator_object is None else preset_parameters(calculator_object))
        self.calculator_object = calculator_object
        self.settings = {"fmax": self.stage.fmax_eV_A, "steps": self.stage.steps,
                         "optimizer": self.stage.optimizer, "fix": self.stage.fix}
        self.previous, self.prev_structures = previous, prev_structures
        self.rows: list[dict[str, Any]] = []
        self.structures: dict[str, Atoms] = {}
        self.refs: dict[str, Any] = {"mu_LX_eV": {}, "mu_LX_kind": {}}
        self.template = build_slab(self.mat.name, size=spec.slab.size, layers=spec.slab.layers,
                                   vacuum=spec.slab.vacuum_A)
        self.perms = site_permutations(self.template)
        self.n_values = parse_n(spec)
        self.specs = [resolve_ligand(lig) for lig in spec.ligands]
        self.best: dict[tuple[str, int], tuple[float, Atoms]] = {}
        # consistency sweeps: version of each best structure, and the version a start was made from
        self.version: collections.Counter = collections.Counter()
        self.made_from: dict[tuple[str, int, str], int] = {}

    # -- task construction -------------------------------------------------------------------
    def _task(self, kind: str, record: dict[str, Any], atoms: Atoms | None = None,
              material: str | None = None, mode: str | None = None,
              extra_starts: list[tuple[str, Atoms]] | None = None, single: bool = False) -> dict[str, Any]:
        mode = mode or "relax"
        search = self.stage.search.model_dump() if self.stage.search is not None else None
        # every slab is searched, the bare one too: relaxed from the ideal symmetric cut (a saddle
        # of the octahedral tilts) it stays 0.5-0.6 eV (CHGNet+D3) above the minimum a rattled start
        # finds, which would otherwise land in dG(1); its starts are cheap, so it gets bare_starts
        if mode == "relax" and search is not None and kind == "slab" and not single:
            mode = "search"
            if record.get("n") == 0:
                n_bare = max(search["n_starts"], search["bare_starts"])
                search = {**search, "n_starts": n_bare, "patience": n_bare}
        settings = self.settings if mode in ("relax", "search") else {"mode": mode}
        tilt_starts = self.stage.bulk_tilt_starts if kind == "bulk" else 0
        if tilt_starts:
            settings = {**settings, "bulk_tilt_starts": tilt_starts}
        hashed = settings
        if mode == "search":
            settings = {**settings, "search": search}
            # the hash holds what changes this task's result: not the sweep plan around it
            hashed = {**settings, "search": {k: v for k, v in search.items() if k not in SEARCH_PLAN_KEYS}}
        if record.get("smiles"):  # the ligand's canonical SMILES: a renamed ligand (the old DDA6 =
            hashed = {**hashed, "smiles": record["smiles"]}  # hexylammonium) never hits new results
        h = task_hash(atoms, self.calc_params, {**hashed, "material": material, "kind": mode,
                                                "extra": [task_hash(a, {}, {}) for _, a in extra_starts or []]})
        task = {
            "kind": mode, "hash": h, "atoms": atoms, "material": material,
            "calculator": self.stage.calculator, "calc_params": self.stage.params,
            "settings": self.settings, "mpi_ranks": self.stage.mpi_ranks,
            "calculator_object": self.calculator_object, "bulk_tilt_starts": tilt_starts,
            "trajectory": str(self.out / "trajectories" / f"{h}.traj") if mode in ("relax", "search") else None,
            "search": search if mode == "search" else None,
            "extra_starts": extra_starts if mode == "search" else None,
            "record": {**record, "kind": kind, "stage": self.s, "campaign": self.spec.name,
                       "calculator": self.calc_params["preset"], "mode": mode,
                       **({"formula": atoms.get_chemical_formula(), "n_atoms": len(atoms)} if atoms is not None else {})},
        }
        return task

    def start(self) -> None:
        mat = self.mat
        self.loop.submit(self._task("bulk", {"material": mat.name}, material=mat.name, mode="eos"),
                         self._on_bulk)
        salt = HALIDE_SALT[mat.name]
        self.loop.submit(self._task("salt", {"material": salt}, material=salt, mode="eos"), self._on_salt)
        for spec in self.specs:
            if spec.name in self.spec.references.mu_LX_eV:
                self.refs["mu_LX_eV"][spec.name] = float(self.spec.references.mu_LX_eV[spec.name])
                self.refs["mu_LX_kind"][spec.name] = "user"
                continue
            self.loop.guard({"ligand": spec.name, "n": None}, self._submit_ion_pair, spec)

    def _submit_ion_pair(self, spec) -> None:
        start = self.prev_structures.get(f"ion_pair/{spec.name}")
        if start is None:
            start = ion_pair(spec.smiles, halide=self.mat.x)
        self.loop.submit(self._task("ion_pair", {"ligand": spec.name, "smiles": spec.smiles}, start,
                                    mode=self._mode()), self._on_ion_pair(spec.name))

    def _mode(self) -> str:
        return self.stage.mode if self.s > 0 else "relax"

    # -- callbacks ---------------------------------------------------------------------------
    def _on_salt(self, atoms: Atoms, rec: dict) -> None:
        if rec.get("status", "ok") == "ok":
            self.refs["mu_AX_eV"] = rec["energy_eV"]

    def _on_ion_pair(self, name: str) -> Callable:
        def cb(atoms: Atoms, rec: dict) -> None:
            if invalid_reasons(rec):  # no reference (the task's failure is recorded by the loop):
                return                # this ligand's rows are reported missing
            self.refs["mu_LX_eV"][name] = rec["energy_eV"]
            self.refs["mu_LX_kind"][name] = "ion_pair"
            self.structures[f"ion_pair/{name}"] = atoms
        return cb

    def _on_bulk(self, atoms: Atoms, rec: dict) -> None:
        if rec.get("status", "ok") != "ok":
            return
        a0 = float(rec["a0_A"])
        self.refs.update(g_bulk_eV=rec["energy_eV"], a0_A=a0, bulk_tilt_gain_eV=rec.get("tilt_gain_eV"))
        self.area = (self.spec.slab.size[0] * a0) * (self.spec.slab.size[1] * a0)
        self.base = {"material": self.mat.name, "area_A2": self.area, "a0_A": a0}
        if self.s == 0:
            bare = build_slab(self.mat.name, size=self.spec.slab.size, layers=self.spec.slab.layers,
                              vacuum=self.spec.slab.vacuum_A, a=a0)
        else:
            bare = self._rescaled(self.prev_structures["slab//0"], a0)
        rec0 = {**self.base, "ligand": "", "n": 0, "sites": "", "arrangement": 0, "multiplicity": 1}
        self.loop.submit(self._task("slab", rec0, bare, mode=self._mode()), self._on_bare)

    def _rescaled(self, atoms: Atoms, a0: float) -> Atoms:
        """A previous stage's structure strained in plane to this stage's a0 (same fractions)."""
        at = atoms.copy()
        cell = at.cell[:].copy()
        f = a0 * self.spec.slab.size[0] / np.linalg.norm(cell[0])
        cell[0] *= f
        cell[1] *= f
        at.set_cell(cell, scale_atoms=False)
        at.positions[:, :2] *= f
        return at

    def _slab_done(self, lig: str, k: int, atoms: Atoms, rec: dict) -> None:
        """Keep the row; a valid minimum (trust.diagnostics.invalid_reasons) may become the best
        structure of (lig, k), i.e. the parent of later starts; an invalid one never does."""
        reasons = invalid_reasons(rec)
        rec = {**rec, **steric_descriptors(atoms if atoms is not None else Atoms()),
               "valid": not reasons, "invalid_reason": ", ".join(reasons)}
        self.rows.append(rec)
        e = rec["energy_eV"]
        key = (lig, k)
        if reasons:
            self.loop.counts["rejected_minima"] += 1
            return
        if np.isfinite(e) and (key not in self.best or e < self.best[key][0]):
            self.best[key] = (e, atoms)
            self.version[key] += 1
            self.structures[f"slab/{lig}/{k}"] = atoms

    def _on_bare(self, atoms: Atoms, rec: dict) -> None:
        self._slab_done("", 0, atoms, rec)
        reasons = invalid_reasons(rec)
        if reasons:  # nothing can be built on it: every ligand row of this stage will be missing
            self.loop.note("bare_slab", {"ligand": "", "n": 0},
                           f"the bare slab has no valid minimum ({', '.join(reasons)}): {rec.get('error', '')}")
            return
        self.bare = atoms
        for spec in self.specs:
            self.best[(spec.name, 0)] = (rec["energy_eV"], atoms)
            if self.s > 0:
                self.loop.guard({"ligand": spec.name, "n": None}, self._refine, spec)
            elif self.spec.arrangements == "grow":
                self._grow(spec, 1)
            else:
                arr = self.spec.arrangements
                limit = None if arr == "all" else (1 if arr == "first" else int(arr))
                for k in (k for k in self.n_values if k > 0):
                    for a in list(enumerate_arrangements(k, self.template))[:limit]:
                        self.loop.guard({"ligand": spec.name, "n": k}, lambda a=a, k=k, spec=spec: self._submit_slab(
                            spec, k, a.sites, decorate(atoms, spec.smiles, a.sites), "direct"))

    def _submit_slab(self, spec, k: int, sites, start: Atoms, mode_label: str, then=None,
                     single: bool = False, counted: bool = True) -> None:
        start.info["ligand"] = spec.name
        arr = identify(sites, self.perms)
        rec = {**self.base, "ligand": spec.name, "smiles": spec.smiles, "n": k,
               "sites": ",".join(map(str, sites)), "arrangement": arr.index,
               "multiplicity": arr.multiplicity, "build": mode_label}

        def cb(atoms: Atoms, r: dict) -> None:
            try:
                self._slab_done(spec.name, k, atoms, r)
            finally:  # the chain (grow, sweeps) goes on even when recording this row failed
                if then is not None:
                    then(atoms, r)
        extra = None
        search = self.stage.search
        if search is not None and search.direct_start and mode_label == "grow":
            try:
                extra = [("direct", decorate_relaxed(self.bare, spec.smiles, list(sites)))]
            except InputError:  # a full face may leave no room on the ideal cut: grown start only
                self.loop.counts["direct_starts_skipped"] += 1
        self.loop.submit(self._task("slab", rec, start, mode=self._mode(), extra_starts=extra, single=single),
                         cb, extra=single or not counted)

    def _grow(self, spec, k: int) -> None:
        n_max = max(self.n_values)
        if k > n_max:
            self._round(spec, 1)
            return
        self.made_from[(spec.name, k, "regrow")] = (self.version[(spec.name, k - 1)],)
        ok = self.loop.guard({"ligand": spec.name, "n": k}, lambda: self._submit_slab(
            spec, k, grow_order(self.template)[:k], self._grown_start(spec, k), "grow",
            then=lambda atoms, rec: self._grow(spec, k + 1)))
        if not ok:  # this N could not be planned: the chain goes on (N+1 falls back to a direct start)
            self._grow(spec, k + 1)

    def _grown_start(self, spec, k: int) -> Atoms:
        """Start for N = k: the next ligand of the grow order on the best valid N = k-1 slab; without
        one (or without room on it), all k ligands placed on the bare slab."""
        order = grow_order(self.template)
        errors = []
        parent = self.best.get((spec.name, k - 1))
        if parent is not None:
            try:
                return decorate_relaxed(parent[1], spec.smiles, [order[k - 1]])
            except InputError as exc:
                errors.append(f"on the N = {k - 1} minimum: {exc}")
        else:
            errors.append(f"no valid N = {k - 1} minimum to grow from")
        try:
            return decorate_relaxed(self.bare, spec.smiles, order[:k])
        except InputError as exc:
            errors.append(f"on the bare slab: {exc}")
        raise InputError(f"{spec.name} N = {k}: no start could be placed ({'; '.join(errors)})")

    # -- consistency sweeps (grow mode with a search) --------------------------------------------
    # Round r, after the grow chain: (1) shrink: N+1 -> N (ligand replaced by Cs) for N = n_max-1
    # .. 0; (2) with search.regrow and if (1) improved anything by more than tol_eV, regrow: N-1 -> N
    # for N = 1 .. n_max; (3) splice (surfchem.trust.splice): for even N the top face mirrored
    # onto the bottom and vice
    # versa, then for odd N the top face of N+1 joined to the bottom face of N-1. Another round if
    # the round improved anything. A better framework (octahedral tilts) or head geometry found at
    # any N so reaches every N, and the lowest face states found anywhere are combined, which is
    # what face-equivalent steps need to agree. Single relaxations, in sequence (each start is
    # made when its turn comes, from the best structures at that time); a start is skipped when
    # its parents have not changed since the last start made from them.
    def _sweeps(self) -> int:
        search = self.stage.search
        if search is None or self.s > 0 or self.spec.arrangements != "grow":
            return 0
        return search.sweeps

    def _sweep_plan(self, spec, phase: str) -> list[tuple[int, str, tuple, Callable[[], Atoms]]]:
        """(N, label, parent keys, start factory) of one phase of a round."""
        order = grow_order(self.template)
        n_max = max(self.n_values)
        lig = spec.name
        best = self.best
        if phase == "shrink":
            return [(k, "shrink", ((lig, k + 1),), lambda k=k: undecorate(best[(lig, k + 1)][1], order[k]))
                    for k in range(n_max - 1, -1, -1)]
        if phase == "regrow":
            return [(k, "regrow", ((lig, k - 1),), lambda k=k: self._grown_start(spec, k))
                    for k in range(1, n_max + 1)]
        items = []
        for k in range(0, n_max + 1, 2):
            items.append((k, "mirror_top", ((lig, k),),
                          lambda k=k: splice_faces(best[(lig, k)][1], mirror_slab(best[(lig, k)][1]))))
            items.append((k, "mirror_bottom", ((lig, k),),
                          lambda k=k: splice_faces(mirror_slab(best[(lig, k)][1]), best[(lig, k)][1])))
        for k in range(1, n_max, 2):
            items.append((k, "splice", ((lig, k + 1), (lig, k - 1)),
                          lambda k=k: splice_faces(best[(lig, k + 1)][1], best[(lig, k - 1)][1])))
        return items

    def _round(self, spec, rnd: int) -> None:
        if rnd <= self._sweeps():
            self._phase(spec, rnd, "shrink", self._sweep_plan(spec, "shrink"), False, False)

    def _phase(self, spec, rnd: int, phase: str, items: list, changed: bool, round_changed: bool) -> None:
        """Run the items of a phase one after the other, then the next phase or round."""
        tol = self.stage.search.tol_eV if self.stage.search is not None else 0.0
        order = grow_order(self.template)
        while items:
            k, label, parents, make = items.pop(0)
            made = (spec.name, k, label)
            versions = tuple(self.version[p] for p in parents)
            if self.made_from.get(made) == versions:
                continue
            self.made_from[made] = versions
            try:
                start = make()
            except (InputError, KeyError):  # a crowded face that leaves no room, or a parent
                self.loop.counts["sweep_starts_skipped"] += 1  # without a valid minimum: skipped
                continue
            if sorted(start.info.get("occupied_sites", [])) != sorted(order[:k]):
                continue  # not the arrangement of the chain (slabs other than the symmetric grow order)
            before = self.best.get((spec.name, k), (float("inf"),))[0]

            def then(atoms: Atoms, rec: dict, before=before) -> None:
                better = bool(not invalid_reasons(rec) and rec["energy_eV"] < before - tol)
                self._phase(spec, rnd, phase, items, changed or better, round_changed or better)
            if self.loop.guard({"ligand": spec.name, "n": k}, self._submit_slab, spec, k, order[:k], start,
                               f"{label}{rnd}", then, True):
                return
        if phase == "shrink" and changed and self.stage.search is not None and self.stage.search.regrow:
            return self._phase(spec, rnd, "regrow", self._sweep_plan(spec, "regrow"), False, round_changed)
        if phase in ("shrink", "regrow"):
            return self._phase(spec, rnd, "splice", self._sweep_plan(spec, "splice"), False, round_changed)
        if round_changed:
            self._round(spec, rnd + 1)
        return None

    def _refine(self, spec) -> None:
        prev = self.previous
        # n = 0 rows of this ligand are bare slabs its sweeps found (lower than the shared one):
        # refined too, so dG(1) of this stage compares like with like
        sel = prev[(prev["ligand"] == spec.name) & prev["valid"].astype(bool)]
        for k, grp in sel.groupby("n"):
            for _, row in grp.nsmallest(self.stage.keep, "energy_eV").iterrows():
                start = self._rescaled(self.prev_structures[f"hash/{row['task_hash']}"], self.refs["a0_A"])
                sites = [int(x) for x in str(row["sites"]).split(",") if x not in ("", "nan")]
                self._submit_slab(spec, int(k), sites, start, f"stage{self.s - 1}", counted=int(k) > 0)

    # -- results -------------------------------------------------------------------------------
    def result(self) -> StageResult | None:
        needed = {"g_bulk_eV", "mu_AX_eV"}
        if not needed <= set(self.refs) or not self.rows:
            return None
        refs = References(self.mat.name, self.refs["g_bulk_eV"], self.refs["mu_AX_eV"],
                          dict(self.refs["mu_LX_eV"]), dict(self.refs["mu_LX_kind"]),
                          self.refs.get("a0_A"), self.calc_params["preset"], self.refs.get("bulk_tilt_gain_eV"))
        df = pd.DataFrame(self.rows)
        for col in df.columns:  # list values (e.g. start_energies_eV) as tuples: hashable rows
            if df[col].map(lambda v: isinstance(v, list)).any():
                df[col] = df[col].map(lambda v: tuple(v) if isinstance(v, list) else v)
        if "status" in df:  # finished tasks; rejected ones stay visible (valid = False, never is_min)
            df = df[df["status"].isin(["ok", "rejected"])]
        if "valid" not in df:
            df["valid"] = True
        if df.empty:
            return None
        from ase.symbols import string2symbols

        df["n_A"] = [string2symbols(f).count(self.mat.a) for f in df["formula"]]
        df["n_B"] = [string2symbols(f).count(self.mat.b) for f in df["formula"]]
        ligs = [s.name for s in self.specs if s.name in refs.mu_LX_eV]
        df = df[df["ligand"].isin(["", *ligs])]
        table = coverage_table(df, refs)
        table = table[table["n"].isin(self.n_values)].reset_index(drop=True)
        table["smiles"] = table["ligand"].map({sp.name: sp.smiles for sp in self.specs})  # bare rows too
        table["stage"] = self.s
        table = add_diagnostics(table, self.perms, self.stage.diagnostics_tol_eV)
        summ = summary(table)
        extra_cols = ["n_starts", "energy_spread_eV", "gamma_err_J_m2", "dG_err_eV", "face_eq_violation_eV", "flags"]
        best = table[table["is_min"]].drop_duplicates(["ligand", "n"])[["ligand", "n", *extra_cols]]
        summ = summ.merge(best, on=["ligand", "n"], how="left")
        summ["stage"] = self.s
        names = [s.name for s in self.specs]
        missing = missing_coverages(summ, names, self.n_values)
        nm = n_min(summ, self.n_values)
        return StageResult(self.s, self.calc_params["preset"], table, summ, refs,
                           {lig: nm.get(lig) for lig in names}, missing)


def count_tasks(spec: CampaignSpec) -> int:
    """Number of tasks the campaign runs in all (known before running)."""
    n_values = parse_n(spec)
    template = build_slab(spec.material, size=spec.slab.size, layers=spec.slab.layers)
    n_arr = {k: len(list(enumerate_arrangements(k, template))) for k in n_values if k > 0}
    ligands = [resolve_ligand(lig).name for lig in spec.ligands]
    n_ion = sum(1 for lig in ligands if lig not in spec.references.mu_LX_eV)
    total = 0
    per_n_prev: dict[int, int] = {}
    for s, stage in enumerate(spec.stages):
        total += 2 + n_ion + 1
        if s == 0:
            if spec.arrangements == "grow":
                per_n = {k: 1 for k in range(1, max(n_values) + 1)}
            else:
                lim = {"all": None, "first": 1}.get(spec.arrangements, spec.arrangements)
                per_n = {k: (m if lim is None else min(m, lim)) for k, m in n_arr.items()}
        else:
            per_n = {k: min(stage.keep, m) for k, m in per_n_prev.items()}
        total += len(ligands) * sum(per_n.values())
        per_n_prev = per_n
    return total


def run_campaign(spec: CampaignSpec, progress: bool = True, dry: bool = False,
                 calculator_object: Any = None) -> CampaignResult:
    """Run (or, with ``dry=True``, only count against the database) every stage of ``spec``.

    ``calculator_object``: an ASE calculator used instead of the first stage's preset (thread
    executor only; recorded by its class name and parameters).
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    out = spec.out_dir()
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(spec.database_url())
    total = count_tasks(spec)
    bar = tqdm(total=total, desc=spec.name, unit="task", disable=not progress or dry, dynamic_ncols=True)
    if calculator_object is not None and spec.executor.kind != "threads":
        raise InputError("a calculator object can only run with executor.kind = 'threads'")
    engine = None
    if not dry:
        engine = Engine(spec.executor, out)
    loop = _Loop(store, engine, bar, spec.executor.retry_failed, dry=dry, log=out / "campaign.log",
                 claim_timeout_s=spec.executor.claim_timeout_s, max_inflight=_slots(spec))
    stages: list[StageResult] = []
    previous, prev_structures = None, {}
    all_structures: dict[str, Atoms] = {}
    try:
        for s in range(len(spec.stages)):
            planner = _Planner(spec, s, loop, out, previous, prev_structures,
                               calculator_object if s == 0 else None)
            bar.set_postfix_str(f"stage {s}: {spec.stages[s].calculator}")
            planner.start()
            loop.run()
            res = planner.result()
            if res is None:
                break
            stages.append(res)
            previous = pd.DataFrame(planner.rows)
            prev_structures = {**planner.structures, **_structures_by_hash(store, planner.rows)}
            prev_structures["slab//0"] = planner.bare
            all_structures.update({f"stage{s}/{k}": v for k, v in planner.structures.items()})
    finally:
        bar.close()
        if engine is not None:
            engine.close()
            store.claims.release_all(loop.owner)
    counts = dict(loop.counts)
    done = counts.get("cached_ok", 0) + counts.get("computed_ok", 0)
    failed = counts.get("cached_failed", 0) + counts.get("computed_failed", 0)
    rejected = counts.get("cached_rejected", 0) + counts.get("computed_rejected", 0)
    counts.update(total=total, done=done, failed=failed, rejected=rejected,
                  pending=max(total - done - failed - rejected, 0))
    result = CampaignResult(spec, stages, out, time.perf_counter() - t0, counts, loop.failures)
    counts["missing_rows"] = sum(len(v) for v in result.missing.values())
    if not dry and stages:
        write_outputs(result, all_structures)
    return result


def _slots(spec: CampaignSpec) -> int:
    """Tasks the executor runs at once (workers per node x nodes x blocks for Slurm)."""
    ex = spec.executor
    if ex.kind == "slurm":
        return ex.workers * ex.slurm.nodes_per_block * ex.slurm.max_blocks
    return ex.workers


def _structures_by_hash(store: ResultStore, rows: list[dict]) -> dict[str, Atoms]:
    out = {}
    for r in rows:
        hit = store.get(r["task_hash"])
        if hit is not None:
            out[f"hash/{r['task_hash']}"] = hit[0]
    return out


TABLE_COLUMNS = [
    "stage", "ligand", "smiles", "n", "arrangement", "sites", "multiplicity", "build", "energy_eV",
    "G_corr_eV", "G_eV", "gamma_J_m2", "gamma_meV_A2", "dG_eV", "is_min", "converged",
    "n_starts", "n_distinct", "energy_spread_eV", "gap_eV", "gamma_err_J_m2", "dG_err_eV",
    "face_eq_violation_eV", "grow_direct_diff_eV", "flags",
    "flag_bonds", "flag_clash", "flag_head_off_site", "flag_pb_coordination", "flag_vacuum", "flag_face_eq",
    "flag_grow_vs_direct", "flag_single_start", *STERIC_COLUMNS, "valid", "invalid_reason", "n_rejected", "rejected",
    "fmax_eV_A", "n_steps", "n_rounds", "wall_s", "calculator", "mode", "formula", "n_atoms", "area_A2",
    "task_hash", "status", "error",
]


def write_outputs(result: CampaignResult, structures: dict[str, Atoms]) -> None:
    """results.csv (all stages), summary.csv, references.json, lowest structures (the figure:
    :func:`surfchem.plot.coverage.plot_coverage`, drawn by the CLI)."""
    from ase.io import write

    out = result.out
    table = pd.concat([s.table for s in result.stages], ignore_index=True)
    cols = [c for c in TABLE_COLUMNS if c in table.columns]
    table[cols].to_csv(out / "results.csv", index=False)
    summ = pd.concat([s.summary for s in result.stages], ignore_index=True)
    summ.to_csv(out / "summary.csv", index=False)
    if len(result.stages) > 1:  # the funnel: did a higher level reorder the arrangements?
        ranks = stage_rankings([s.table for s in result.stages])
        ranks.to_csv(out / "stages.csv", index=False)
        result.files["stages"] = str(out / "stages.csv")
    refs = {f"stage{s.stage}": {**s.references.as_dict(), "n_min": s.n_min, "missing": s.missing}
            for s in result.stages}
    (out / "references.json").write_text(json.dumps(
        {**result.references.as_dict(), "n_min": result.n_min, "complete": result.complete,
         "missing": result.missing, "stages": refs, "wall_s": result.wall_s, "counts": result.counts,
         "failures": result.failures}, indent=2, default=str))
    sdir = out / "structures"
    sdir.mkdir(exist_ok=True)
    last = len(result.stages) - 1
    for key, at in structures.items():
        stage, kind, *rest = key.split("/")
        if stage != f"stage{last}" or at is None:
            continue
        if kind == "slab" and rest[0]:
            write(sdir / f"{rest[0]}_n{rest[1]}.extxyz", at)
        elif kind == "ion_pair":
            write(sdir / f"{rest[0]}_ion_pair.extxyz", at)
    bare = structures.get(f"stage{last}/slab//0")
    if bare is not None:
        write(sdir / "bare_n0.extxyz", bare)
    result.files.update({"results": str(out / "results.csv"), "summary": str(out / "summary.csv"),
                         "references": str(out / "references.json")})
