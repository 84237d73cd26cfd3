"""Slurm resources and ``#SBATCH`` directives: one schema base and one renderer for every job
surfchem writes (the campaign's Parsl blocks, the validation's MPI job)."""

from __future__ import annotations

import re

from pydantic import field_validator

from surfchem.core.spec import Strict

_WALLTIME = re.compile(r"(\d+-)?\d{1,3}:\d{2}:\d{2}")


class SlurmResources(Strict):
    """Where and how long a Slurm job runs (keys shared by every ``[slurm]`` table).

    Attributes
    ----------
    partition : str, optional
        Slurm partition.
    account : str, optional
        Slurm account.
    qos : str, optional
        Quality of service.
    walltime : str, default "01:00:00"
        ``HH:MM:SS`` or ``D-HH:MM:SS``.
    worker_init : str, default ""
        Shell lines run before the work (e.g. activating the environment).
    """

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    walltime: str = "01:00:00"
    worker_init: str = ""

    @field_validator("walltime")
    @classmethod
    def _walltime(cls, v: str) -> str:
        if not _WALLTIME.fullmatch(v):
            raise ValueError(f"walltime must look like HH:MM:SS or D-HH:MM:SS, got {v!r}")
        return v


def sbatch_directives(job_name: str | None = None, partition: str | None = None,
                      account: str | None = None, qos: str | None = None, nodes: int | None = None,
                      ntasks_per_node: int | None = None, cpus_per_task: int | None = None,
                      walltime: str | None = None) -> list[str]:
    """``#SBATCH`` lines for the options given (``None`` leaves an option out).

    In a fixed order: job name, partition, account, qos, nodes, tasks per node, CPUs per task,
    time.

    Parameters
    ----------
    job_name, partition, account, qos : str, optional
        Slurm job name, partition, account and quality of service.
    nodes, ntasks_per_node, cpus_per_task : int, optional
        Nodes, tasks per node and CPUs per task.
    walltime : str, optional
        ``HH:MM:SS`` or ``D-HH:MM:SS``.

    Returns
    -------
    list of str
    """
    options = (("job-name", job_name), ("partition", partition), ("account", account), ("qos", qos),
               ("nodes", nodes), ("ntasks-per-node", ntasks_per_node),
               ("cpus-per-task", cpus_per_task), ("time", walltime))
    return [f"#SBATCH --{key}={value}" for key, value in options if value]
