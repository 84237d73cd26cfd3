"""The workflow engine is a setting: Parsl executors built from the campaign's ``[executor]``.

* ``threads`` (default): Parsl ``ThreadPoolExecutor`` in the driver process.
* ``processes``: Parsl ``HighThroughputExecutor`` with a ``LocalProvider`` (worker processes).
* ``slurm``: ``HighThroughputExecutor`` with a ``SlurmProvider`` built from ``[executor.slurm]``;
  :func:`render_slurm_script` writes the batch script Parsl would submit, without a cluster.

A task whose worker is lost (the Slurm job preempted or cancelled: :func:`is_lost`) has no
result; with ``retries > 0`` Parsl resubmits it to a new block, else the driver leaves it
pending for the next run.

Tasks with ``mpi_ranks > 1`` (GPAW) or ``isolate=True`` run as Parsl bash apps in a new process:
``<launcher> -n <ranks> python -m surfchem.campaign.tasks IN.pkl OUT.pkl``.
The Parsl ``DataFlowKernel`` is owned by :class:`Engine` (no global ``parsl.load``).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import pickle
import shlex
import sys
from pathlib import Path
from typing import Any

from surfchem.campaign.spec_run import ExecutorSpec, SlurmSpec
from surfchem.campaign.tasks import execute
from surfchem.core.slurm import sbatch_directives


def _htex(spec: ExecutorSpec, provider) -> Any:
    from parsl.executors import HighThroughputExecutor

    beat = spec.slurm.heartbeat_s
    return HighThroughputExecutor(label="htex", provider=provider, max_workers_per_node=spec.workers,
                                  cpu_affinity="none", heartbeat_period=beat, heartbeat_threshold=4 * beat)


def is_lost(exc: BaseException) -> bool:
    """Did a task end because its worker went away rather than because of what it computed?

    A worker goes away when its Slurm job is preempted, cancelled or out of walltime, or its node
    is lost. Such a task has no result: the campaign stores nothing for it, so the next run
    computes it (from its trajectory).

    Parameters
    ----------
    exc : BaseException
        The exception the task's future raised.

    Returns
    -------
    bool
        True for Parsl's ``ManagerLost``, ``WorkerLost`` and ``BadStateException``.
    """
    from parsl.executors.errors import BadStateException
    from parsl.executors.high_throughput.errors import ManagerLost, WorkerLost

    return isinstance(exc, ManagerLost | WorkerLost | BadStateException)


def slurm_provider(slurm: SlurmSpec):
    """Parsl ``SlurmProvider`` built from the ``[executor.slurm]`` table.

    Parameters
    ----------
    slurm : surfchem.campaign.spec_run.SlurmSpec

    Returns
    -------
    parsl.providers.SlurmProvider
        Pilot jobs (blocks) of ``nodes_per_block`` nodes for ``walltime``, at most ``max_blocks``
        at once, started with ``srun``.
    """
    from parsl.launchers import SrunLauncher
    from parsl.providers import SlurmProvider

    return SlurmProvider(
        partition=slurm.partition, account=slurm.account, qos=slurm.qos,
        nodes_per_block=slurm.nodes_per_block, cores_per_node=slurm.cores_per_node,
        init_blocks=1, min_blocks=0, max_blocks=slurm.max_blocks, walltime=slurm.walltime,
        worker_init=slurm.worker_init, scheduler_options=slurm.scheduler_options,
        launcher=SrunLauncher(),
    )


def parsl_config(spec: ExecutorSpec, run_dir: str | os.PathLike):
    """A ``parsl.Config`` for the spec (executor labelled ``main``; bash apps share it).

    Parameters
    ----------
    spec : surfchem.campaign.spec_run.ExecutorSpec
        The ``[executor]`` table.
    run_dir : str or os.PathLike
        Parsl's run directory (``runinfo``).

    Returns
    -------
    parsl.config.Config
    """
    from parsl.config import Config

    if spec.kind == "threads":
        from parsl.executors.threads import ThreadPoolExecutor

        executor = ThreadPoolExecutor(label="main", max_threads=spec.workers)
    elif spec.kind == "processes":
        from parsl.providers import LocalProvider

        executor = _htex(spec, LocalProvider(init_blocks=1, max_blocks=1))
        executor.label = "main"
    else:
        executor = _htex(spec, slurm_provider(spec.slurm))
        executor.label = "main"
    return Config(executors=[executor], run_dir=str(run_dir), retries=spec.retries,
                  initialize_logging=False, usage_tracking=0)


def render_slurm_script(spec: ExecutorSpec, path: str | os.PathLike, command: str = "process_worker_pool.py ...") -> str:
    """Write and return the Slurm batch script the Slurm provider would submit for one block.

    Parameters
    ----------
    spec : surfchem.campaign.spec_run.ExecutorSpec
        The ``[executor]`` table (its ``slurm`` resources).
    path : str or os.PathLike
        Where to write the script (parent directories are created).
    command : str, default "process_worker_pool.py ..."
        The worker command the script launches.

    Returns
    -------
    str
        The script.
    """
    from parsl.providers.slurm.template import template_string

    provider = slurm_provider(spec.slurm)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tasks_per_node = 1
    job_config = {
        "submit_script_dir": str(path.parent), "nodes": spec.slurm.nodes_per_block,
        "tasks_per_node": tasks_per_node, "walltime": spec.slurm.walltime,
        "scheduler_options": _scheduler_options(spec.slurm), "worker_init": spec.slurm.worker_init,
        "user_script": provider.launcher(command, tasks_per_node, spec.slurm.nodes_per_block),
        "job_stdout_path": str(path.with_suffix(".stdout")),
        "job_stderr_path": str(path.with_suffix(".stderr")),
    }
    provider._write_submit_script(template_string, str(path), "surfchem", job_config)
    return path.read_text()


def _scheduler_options(s: SlurmSpec) -> str:
    lines = sbatch_directives(partition=s.partition, account=s.account, qos=s.qos,
                              cpus_per_task=s.cores_per_node)
    if s.scheduler_options:
        lines.append(s.scheduler_options)
    return "\n".join(lines)


def mpi_command(task_in: str, task_out: str, ranks: int, launcher: str = "mpiexec") -> str:
    """Shell command running a pickled task under MPI (or plainly for ``ranks == 1``).

    Parameters
    ----------
    task_in : str
        Pickled task file.
    task_out : str
        Pickled result file to write.
    ranks : int
        MPI ranks.
    launcher : str, default "mpiexec"
        MPI launcher (e.g. ``"srun --overlap"``).

    Returns
    -------
    str
        ``<launcher> -n <ranks> python -m surfchem.campaign.tasks IN OUT`` (no launcher for one
        rank).
    """
    py = shlex.quote(sys.executable)
    cmd = f"{py} -m surfchem.campaign.tasks {shlex.quote(task_in)} {shlex.quote(task_out)}"
    return cmd if ranks <= 1 else f"{launcher} -n {int(ranks)} {cmd}"


class Engine:
    """Owns a Parsl DataFlowKernel; :meth:`submit` returns a ``concurrent.futures.Future``.

    The future resolves to the task's result dict.

    Parameters
    ----------
    spec : surfchem.campaign.spec_run.ExecutorSpec
        The ``[executor]`` table.
    run_dir : str or os.PathLike
        Directory of Parsl's run information and of the pickled MPI tasks (created).
    """

    def __init__(self, spec: ExecutorSpec, run_dir: str | os.PathLike):
        from parsl.app.app import bash_app, python_app
        from parsl.dataflow.dflow import DataFlowKernel

        self.spec = spec
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.dfk = DataFlowKernel(parsl_config(spec, self.run_dir / "runinfo"))
        self._py = python_app(execute, data_flow_kernel=self.dfk, executors=["main"])

        def run_cmd(cmd: str, stdout=None, stderr=None) -> str:
            return cmd

        self._bash = bash_app(run_cmd, data_flow_kernel=self.dfk, executors=["main"])
        self.launcher = spec.slurm.mpi_launcher if spec.kind == "slurm" else "mpiexec"

    def submit(self, task: dict[str, Any]) -> cf.Future:
        """Submit one task.

        A task with ``mpi_ranks > 1`` (or ``isolate``) runs as ``<launcher> -n K python -m
        surfchem.campaign.tasks IN.pkl OUT.pkl`` in a Parsl bash app; a non-zero exit becomes a failed
        record (a lost worker is raised, so the driver stores nothing).

        Parameters
        ----------
        task : dict
            The task (``hash``, ``atoms``, calculator, settings, ``mpi_ranks``).

        Returns
        -------
        concurrent.futures.Future
            Resolves to the task's result dict (``record`` and ``atoms``).
        """
        ranks = int(task.get("mpi_ranks", 1))
        isolate = ranks > 1 or bool(task.get("isolate"))
        if not isolate or task.get("calculator_object") is not None:
            return self._py(task)
        tdir = self.run_dir / "mpi_tasks"
        tdir.mkdir(exist_ok=True)
        base = tdir / task["hash"]
        with open(f"{base}.in.pkl", "wb") as fh:
            pickle.dump(task, fh)
        out = f"{base}.out.pkl"
        app = self._bash(mpi_command(f"{base}.in.pkl", out, ranks, self.launcher),
                         stdout=f"{base}.stdout", stderr=f"{base}.stderr")
        result: cf.Future = cf.Future()

        def _done(f):
            try:
                f.result()
                with open(out, "rb") as fh:
                    result.set_result(pickle.load(fh))
            except Exception as exc:  # non-zero exit of the MPI job
                if is_lost(exc):  # no result at all: the driver stores nothing
                    result.set_exception(exc)
                    return
                result.set_result({"record": {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                                              "energy_eV": float("nan"), "converged": False},
                                   "atoms": task.get("atoms")})

        app.add_done_callback(_done)
        return result

    def close(self) -> None:
        """Shut the Parsl DataFlowKernel down (pilot jobs are cancelled)."""
        self.dfk.cleanup()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
