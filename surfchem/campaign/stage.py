"""One stage of a campaign: builds its tasks (:class:`surfchem.campaign.task.Task`), submits them
to the engine loop, and keeps their rows, references and lowest structures.

References first; the bare slab when the bulk a0 is known; the ligand slabs when the bare slab is
relaxed: in ``grow`` mode by running each ligand's planner (:func:`surfchem.trust.chain.grow_and_sweep`),
else every planned arrangement at once; a stage s > 0 recomputes the lowest rows of stage s-1.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms

from surfchem.build import ion_pair
from surfchem.build.arrangements import identify
from surfchem.build.bulk import HALIDE_SALT
from surfchem.build.decorate import decorate
from surfchem.build.ligands import LigandSpec
from surfchem.build.slab import slab as build_slab
from surfchem.build.sterics import steric_descriptors
from surfchem.calculators import preset_parameters
from surfchem.campaign.loop import Loop
from surfchem.campaign.plan import CampaignPlan
from surfchem.campaign.results import StageResult, stage_result
from surfchem.campaign.task import Task
from surfchem.trust.chain import ChainSettings, PlanError, Start, grow_and_sweep, improves
from surfchem.trust.sanity import invalid_reasons


class StagePlanner:
    """Builds the tasks of one stage and reacts to their completion.

    Parameters
    ----------
    plan : surfchem.campaign.plan.CampaignPlan
        The campaign's plan (spec, material, ligands, slab).
    stage_index : int
        Index of the stage in ``plan.spec.stages``.
    loop : surfchem.campaign.loop.Loop
        The driver's event loop.
    out : Path
        Output directory.
    previous : pandas.DataFrame or None
        The previous stage's table (None for the first stage).
    prev_structures : dict of str to ase.Atoms
        The previous stage's structures (keys ``"slab//0"`` for the bare slab and
        ``"hash/<task_hash>"``).
    calculator_object : ase.calculators.calculator.Calculator, optional
        An ASE calculator object instead of the stage's preset.
    """

    def __init__(self, plan: CampaignPlan, stage_index: int, loop: Loop, out: Path,
                 previous: pd.DataFrame | None, prev_structures: dict[str, Atoms],
                 calculator_object: Any = None):
        self.plan, self.spec, self.s, self.loop, self.out = plan, plan.spec, stage_index, loop, out
        self.stage = self.spec.stages[stage_index]
        self.mat = plan.material
        self.calc_params = (preset_parameters(self.stage.calculator, **self.stage.params)
                            if calculator_object is None else preset_parameters(calculator_object))
        self.calculator_object = calculator_object
        # the stage's relaxation settings: the one place its fmax (eV/Å) enters the tasks
        self.relax = {"fmax": self.stage.fmax_eV_A, "steps": self.stage.steps,
                      "optimizer": self.stage.optimizer, "fix": self.stage.fix}
        self.previous, self.prev_structures = previous, prev_structures
        self.rows: list[dict[str, Any]] = []
        self.structures: dict[str, Atoms] = {}
        self.refs: dict[str, Any] = {"mu_LX_eV": {}, "mu_LX_kind": {}}
        self.lowest: dict[tuple[str, int], tuple[float, Atoms]] = {}  # lowest valid row per (ligand, N)

    # -- task construction -------------------------------------------------------------------
    def task(self, kind: str, record: dict[str, Any], atoms: Atoms | None = None,
             material: str | None = None, mode: str | None = None,
             extra_starts: list[tuple[str, Atoms]] | None = None, single: bool = False) -> Task:
        """A task of this stage; every slab is searched when the stage has a search (unless
        ``single``), the bare one too: relaxed from the ideal symmetric cut (a saddle of the
        octahedral tilts) it stays 0.5-0.6 eV (CHGNet+D3) above the minimum a rattled start finds,
        which would otherwise land in dG(1); its starts are cheap, so it gets ``bare_starts``."""
        mode = mode or "relax"
        search = self.stage.search.model_dump() if self.stage.search is not None else None
        if mode == "relax" and search is not None and kind == "slab" and not single:
            mode = "search"
            if record.get("n") == 0:
                n_bare = max(search["n_starts"], search["bare_starts"])
                search = {**search, "n_starts": n_bare, "patience": n_bare}
        return Task(kind, mode, record, atoms, material, self.stage.calculator, self.stage.params,
                    self.calc_params, self.relax, search if mode == "search" else None, extra_starts,
                    self.stage.bulk_tilt_starts if kind == "bulk" else 0, self.stage.mpi_ranks,
                    self.calculator_object)

    def _submit(self, task: Task, then: Callable | None, extra: bool = False) -> None:
        self.loop.submit(task.payload(self.out, self.s, self.spec.name), then, extra=extra)

    def _mode(self) -> str:
        return self.stage.mode if self.s > 0 else "relax"

    def start(self) -> None:
        mat = self.mat
        self._submit(self.task("bulk", {"material": mat.name}, material=mat.name, mode="eos"), self._on_bulk)
        salt = HALIDE_SALT[mat.name]
        self._submit(self.task("salt", {"material": salt}, material=salt, mode="eos"), self._on_salt)
        for lig in self.plan.ligands:
            if lig.name in self.spec.references.mu_LX_eV:
                self.refs["mu_LX_eV"][lig.name] = float(self.spec.references.mu_LX_eV[lig.name])
                self.refs["mu_LX_kind"][lig.name] = "user"
                continue
            self.loop.guard({"ligand": lig.name, "n": None}, self._submit_ion_pair, lig)

    def _submit_ion_pair(self, lig: LigandSpec) -> None:
        start = self.prev_structures.get(f"ion_pair/{lig.name}")
        if start is None:
            start = ion_pair(lig.smiles, halide=self.mat.x)
        self._submit(self.task("ion_pair", {"ligand": lig.name, "smiles": lig.smiles}, start, mode=self._mode()),
                     self._on_ion_pair(lig.name))

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
        size = self.spec.slab.size
        self.base = {"material": self.mat.name, "area_A2": (size[0] * a0) * (size[1] * a0), "a0_A": a0}
        if self.s == 0:
            bare = build_slab(self.mat.name, size=size, layers=self.spec.slab.layers,
                              vacuum=self.spec.slab.vacuum_A, a=a0)
        else:
            bare = self._rescaled(self.prev_structures["slab//0"], a0)
        rec0 = {**self.base, "ligand": "", "n": 0, "sites": "", "arrangement": 0, "multiplicity": 1}
        self._submit(self.task("slab", rec0, bare, mode=self._mode()), self._on_bare)

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
        """Keep the row; a valid minimum (trust.sanity.invalid_reasons) lower than the
        stage's lowest of (lig, k) becomes its written structure; an invalid one never does."""
        reasons = invalid_reasons(rec)
        row = {**rec, **steric_descriptors(atoms if atoms is not None else Atoms()),
               "valid": not reasons, "invalid_reason": ", ".join(reasons)}
        self.rows.append(row)
        if reasons:
            self.loop.counts["rejected_minima"] += 1
            return
        if improves(rec, self.lowest.get((lig, k))):
            self.lowest[(lig, k)] = (rec["energy_eV"], atoms)
            self.structures[f"slab/{lig}/{k}"] = atoms

    def _on_bare(self, atoms: Atoms, rec: dict) -> None:
        self._slab_done("", 0, atoms, rec)
        reasons = invalid_reasons(rec)
        if reasons:  # nothing can be built on it: every ligand row of this stage will be missing
            self.loop.note("bare_slab", {"ligand": "", "n": 0},
                           f"the bare slab has no valid minimum ({', '.join(reasons)}): {rec.get('error', '')}")
            return
        self.bare = atoms
        for lig in self.plan.ligands:
            self.lowest[(lig.name, 0)] = (rec["energy_eV"], atoms)
            if self.s > 0:
                self.loop.guard({"ligand": lig.name, "n": None}, self._refine, lig)
            elif self.spec.arrangements == "grow":
                self._drive(lig, self._chain(lig, rec["energy_eV"]))
            else:
                for k in (k for k in self.plan.n_values if k > 0):
                    for a in self.plan.arrangements(k):
                        self.loop.guard({"ligand": lig.name, "n": k}, lambda a=a, k=k, lig=lig: self._submit_slab(
                            lig, k, a.sites, decorate(atoms, lig.smiles, a.sites), "direct"))

    def _submit_slab(self, lig: LigandSpec, k: int, sites, start: Atoms, label: str, then=None,
                     single: bool = False, counted: bool = True,
                     extra_starts: list[tuple[str, Atoms]] | None = None) -> None:
        start.info["ligand"] = lig.name
        arr = identify(sites, self.plan.perms)
        rec = {**self.base, "ligand": lig.name, "smiles": lig.smiles, "n": k,
               "sites": ",".join(map(str, sites)), "arrangement": arr.index,
               "multiplicity": arr.multiplicity, "build": label}

        def cb(atoms: Atoms, r: dict) -> None:
            recorded = False
            try:
                self._slab_done(lig.name, k, atoms, r)
                recorded = True
            finally:  # the chain (grow, sweeps) goes on even when recording this row failed
                if then is not None:  # (a row that could not be recorded is no parent)
                    then((atoms, r) if recorded else None)
        task = self.task("slab", rec, start, mode=self._mode(), extra_starts=extra_starts, single=single)
        self._submit(task, cb, extra=single or not counted)

    # -- the grow chain and the sweeps (search science in surfchem.trust.chain) -------------------
    def _chain(self, lig: LigandSpec, bare_energy_eV: float) -> Generator:
        search = self.stage.search
        settings = ChainSettings() if search is None else ChainSettings(
            tol_eV=search.tol_eV, sweeps=search.sweeps, regrow=search.regrow,
            direct_start=search.direct_start, search=True)
        return grow_and_sweep(lig.name, lig.smiles, self.plan.order, self.plan.n_max, self.bare,
                              bare_energy_eV, settings, self.loop.counts)

    def _drive(self, lig: LigandSpec, chain: Generator, outcome: Any = None) -> None:
        """Submit the chain's next start; its completion sends the outcome back and goes on. A
        start that cannot be made or submitted is a recorded planning failure of its N."""
        while True:
            try:
                item = chain.send(outcome)
            except StopIteration:
                return
            context = {"ligand": lig.name, "n": item.n}
            if isinstance(item, PlanError):
                self.loop.counts["plan_failed"] += 1
                self.loop.note("plan", context, item.error, item.traceback)
                outcome = None
                continue
            if self.loop.guard(context, self._submit_start, lig, chain, item):
                return
            outcome = None  # not submitted: the chain goes on without it

    def _submit_start(self, lig: LigandSpec, chain: Generator, item: Start) -> None:
        self._submit_slab(lig, item.n, item.sites, item.atoms, item.label,
                          then=lambda outcome: self._drive(lig, chain, outcome), single=item.single,
                          extra_starts=item.extra)

    def _refine(self, lig: LigandSpec) -> None:
        prev = self.previous
        # n = 0 rows of this ligand are bare slabs its sweeps found (lower than the shared one):
        # refined too, so dG(1) of this stage compares like with like
        sel = prev[(prev["ligand"] == lig.name) & prev["valid"].astype(bool)]
        for k, grp in sel.groupby("n"):
            for _, row in grp.nsmallest(self.stage.keep, "energy_eV").iterrows():
                start = self._rescaled(self.prev_structures[f"hash/{row['task_hash']}"], self.refs["a0_A"])
                sites = [int(x) for x in str(row["sites"]).split(",") if x not in ("", "nan")]
                self._submit_slab(lig, int(k), sites, start, f"stage{self.s - 1}", counted=int(k) > 0)

    # -- results -------------------------------------------------------------------------------
    def result(self) -> StageResult | None:
        return stage_result(self.s, self.rows, self.refs, self.mat, self.calc_params["preset"],
                            self.plan.ligands, self.plan.n_values, self.plan.perms,
                            self.stage.diagnostics_tol_eV)
