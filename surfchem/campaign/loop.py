"""The engine loop of the campaign driver: cache look-ups, submission, completion callbacks,
store writes, failure isolation, claims shared with other drivers (see :class:`Loop`).

It knows nothing of the science: a task is a plain dict (:meth:`surfchem.campaign.task.Task.payload`)
and its callback decides what comes next.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ase import Atoms

from surfchem.campaign.engine import is_lost
from surfchem.campaign.progress import TrajectoryProgress
from surfchem.core.store import ResultStore, new_owner


class Loop:
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

    Parameters
    ----------
    store : surfchem.core.store.ResultStore
        The result database.
    engine : surfchem.campaign.engine.Engine or None
        Runs the tasks (anything with ``submit(task) -> Future``); None for a dry run.
    bar : tqdm.tqdm
        Progress bar (``update``, ``refresh``, ``set_postfix_str``, ``total``).
    retry_failed : bool
        Recompute tasks stored as failed.
    dry : bool, default False
        Plan only: count tasks, compute nothing, write nothing.
    log : Path, optional
        Failure log file.
    claim_timeout_s : float, default 600.0
        A claim whose heartbeat is older than this is taken over, s.
    poll_s : float, default 2.0
        Poll interval for tasks claimed by another driver, s.
    max_inflight : int, optional
        Tasks submitted at once at most (default unlimited).
    progress : surfchem.core.progress.TrajectoryProgress, optional
        Reads relaxations and steps from the trajectories of running tasks.
    progress_s : float, default 10.0
        Interval of those progress reports, s.
    """

    def __init__(self, store: ResultStore, engine: Any, bar: Any, retry_failed: bool, dry: bool = False,
                 log: Path | None = None, claim_timeout_s: float = 600.0, poll_s: float = 2.0,
                 max_inflight: int | None = None, progress: TrajectoryProgress | None = None,
                 progress_s: float = 10.0):
        self.store, self.engine, self.bar = store, engine, bar
        # inside long tasks: relaxations and steps from the trajectories, every progress_s
        self.progress, self.progress_s = progress, progress_s
        self.stage_label = ""
        self._shown = 0.0
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
        """Run ``task`` (a :meth:`surfchem.campaign.task.Task.payload`), or take its stored result;
        ``then(atoms, record)`` runs when it is done. ``extra``: a task not in the plan's count
        (:attr:`surfchem.campaign.plan.CampaignPlan.n_tasks`; sweeps, refined bare slabs): grows
        the bar total."""
        if extra:
            self.counts["extra"] += 1
            if self.bar.total is not None:
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

    def set_stage(self, label: str) -> None:
        """Name the running stage on the bar (``"stage 0: chgnet-d3"``)."""
        self.stage_label = label
        self._show(force=True)

    def _show(self, force: bool = False) -> None:
        if self.progress is None:
            self.bar.set_postfix_str(self.stage_label)
            return
        if force or time.time() - self._shown >= self.progress_s:
            self.bar.set_postfix_str(f"{self.stage_label}; {self.progress.label()}")
            self._shown = time.time()

    def run(self) -> None:
        while self.pending or self.ready or self.waiting or self.queued:
            if self.progress is not None:
                self._show()
            while self.ready:
                then, atoms, rec = self.ready.popleft()
                self.guard(rec, then, atoms, rec)
            self._poll()
            if not self.pending:
                if self.waiting and not self.ready:
                    time.sleep(self.poll_s)
                continue
            timeout = self.poll_s if self.waiting else self.claim_timeout_s / 4
            if self.progress is not None:
                timeout = min(timeout, self.progress_s)
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
