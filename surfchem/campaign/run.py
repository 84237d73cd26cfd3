"""The campaign driver: runs every stage of a spec on the engine and writes the outputs.

:class:`surfchem.campaign.plan.CampaignPlan` says what is computed (and how many tasks);
:class:`surfchem.campaign.stage.StagePlanner` builds each stage's tasks
(:class:`surfchem.campaign.task.Task`) and reacts to their results; the engine loop
(:class:`surfchem.campaign.loop.Loop`) runs them. Only this process writes the database; workers
return plain results. Every task is looked up by its content hash first: finished work is never
recomputed, and failed work is retried when ``executor.retry_failed`` is true. Interrupted
relaxations restart from their trajectory (``OUT/trajectories/<hash>.traj``). Figures are drawn by
the caller (``surfchem screen``, ``surfchem campaign run``), not here.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from ase import Atoms
from tqdm.auto import tqdm

from surfchem.campaign.engine import Engine
from surfchem.campaign.loop import Loop
from surfchem.campaign.output import write_outputs
from surfchem.campaign.plan import CampaignPlan
from surfchem.campaign.progress import TrajectoryProgress
from surfchem.campaign.results import CampaignResult, StageResult
from surfchem.campaign.spec import CampaignSpec
from surfchem.campaign.stage import StagePlanner
from surfchem.core.store import ResultStore
from surfchem.errors import InputError
from surfchem.thermo.anchors import Anchor, anchor_from_dict


def run_campaign(spec: CampaignSpec, progress: bool = True, dry: bool = False,
                 calculator_object: Any = None) -> CampaignResult:
    """Run (or, with ``dry=True``, only count against the database) every stage of ``spec``.

    Plans the tasks (references, relaxations with the minimum search, consistency sweeps, later
    funnel stages), runs them on the spec's Parsl executor, stores each result in the database as
    soon as it finishes (a finished task hash is never recomputed), and writes ``results.csv``,
    ``summary.csv``, ``references.json``, ``structures/`` and the figure into ``spec.out``.

    Parameters
    ----------
    spec : surfchem.campaign.spec.CampaignSpec
        A validated spec (:func:`surfchem.campaign.spec.load_spec` or ``parse_spec``).
    progress : bool, default True
        Show a progress bar.
    dry : bool, default False
        Count done/failed/pending tasks without running anything.
    calculator_object : ase.calculators.calculator.Calculator, optional
        An ASE calculator used instead of the first stage's preset (thread executor only;
        recorded by its class name and parameters).

    Returns
    -------
    CampaignResult
        Per-stage tables, counts, failures and the files written.

    Raises
    ------
    surfchem.errors.InputError
        An executor or calculator object that does not fit the spec.
    """
    t0 = time.perf_counter()
    out = spec.out_dir()
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(spec.database_url())
    plan = CampaignPlan(spec)
    total = plan.n_tasks
    bar = tqdm(total=total, desc=spec.name, unit="task", disable=not progress or dry, dynamic_ncols=True)
    if calculator_object is not None and spec.executor.kind != "threads":
        raise InputError("a calculator object can only run with executor.kind = 'threads'")
    engine = None
    if not dry:
        engine = Engine(spec.executor, out)
    loop = Loop(store, engine, bar, spec.executor.retry_failed, dry=dry, log=out / "campaign.log",
                claim_timeout_s=spec.executor.claim_timeout_s, max_inflight=_slots(spec),
                progress=TrajectoryProgress(out / "trajectories") if progress and not dry else None)
    stages: list[StageResult] = []
    previous, prev_structures = None, {}
    all_structures: dict[str, Atoms] = {}
    anchors: dict[str, Anchor] = {}
    try:
        for s in range(len(spec.stages)):
            planner = StagePlanner(plan, s, loop, out, previous, prev_structures,
                                   calculator_object if s == 0 else None)
            loop.set_stage(f"stage {s}: {spec.stages[s].calculator}")
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
        if stages and spec.anchor is not None:  # per-ligand DFT anchors, after the last stage
            loop.set_stage(f"anchors: {spec.anchor.dft}")
            for task in plan.anchor_tasks(out):
                loop.submit(task.payload(out, len(stages) - 1, spec.name),
                            then=lambda _atoms, rec: _keep_anchor(anchors, rec))
            loop.run()
    finally:
        bar.close()
        if engine is not None:
            engine.close()
            store.claims.release_all(loop.owner)
    counts = dict(loop.counts)
    total += counts.get("extra", 0)  # the planned tasks and those found on the way (sweeps, ...)
    done = counts.get("cached_ok", 0) + counts.get("computed_ok", 0)
    failed = counts.get("cached_failed", 0) + counts.get("computed_failed", 0)
    rejected = counts.get("cached_rejected", 0) + counts.get("computed_rejected", 0)
    counts.update(total=total, done=done, failed=failed, rejected=rejected,
                  pending=max(total - done - failed - rejected, 0))
    result = CampaignResult(spec, stages, out, time.perf_counter() - t0, counts, loop.failures, anchors=anchors)
    counts["missing_rows"] = sum(len(v) for v in result.missing.values())
    if not dry and stages:
        write_outputs(result, all_structures)
    return result


def _keep_anchor(anchors: dict[str, Anchor], rec: dict[str, Any]) -> None:
    """Collect a finished anchor task's result (a failed one is in the loop's failures)."""
    if rec.get("status", "ok") == "ok":
        a = anchor_from_dict(rec)
        anchors[a.ligand] = a


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
