"""Where and how a campaign runs: the ``[executor]`` (with ``[executor.slurm]``) and ``[database]``
tables of a campaign spec (:mod:`surfchem.campaign.spec`)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator

from surfchem.core.slurm import SlurmResources
from surfchem.core.spec import Strict


class SlurmSpec(SlurmResources):
    """``[executor.slurm]``: the Parsl blocks (pilot jobs) of a campaign on Slurm.

    Besides the keys of :class:`surfchem.core.slurm.SlurmResources` (``partition``, ``account``,
    ``qos``, ``walltime``, ``worker_init``):

    Attributes
    ----------
    nodes_per_block : int, default 1
        Nodes per pilot job.
    cores_per_node : int, optional
        Cores per node (default: Slurm's).
    max_blocks : int, default 1
        Pilot jobs at most.
    scheduler_options : str, default ""
        Extra ``#SBATCH`` lines.
    mpi_launcher : str, default "srun --overlap"
        Launcher of MPI tasks inside a pilot job (``--overlap`` lets the MPI step share the
        worker step's CPUs; add ``--mpi=pmix`` where the site's Slurm has no default PMI plugin).
    heartbeat_s : int, default 30
        Parsl worker heartbeat, s: a worker silent for 4 heartbeats is lost.
    """

    nodes_per_block: Annotated[int, Field(ge=1)] = 1
    cores_per_node: Annotated[int, Field(ge=1)] | None = None
    max_blocks: Annotated[int, Field(ge=1)] = 1
    scheduler_options: str = ""
    # MPI tasks (mpi_ranks > 1) start as a job step inside the Parsl pilot job, whose worker step
    # holds the node's CPUs: plain srun waits forever ("step creation temporarily disabled"),
    # --overlap lets the MPI step share them. Add --mpi=pmix (or pmi2) where the site's Slurm
    # does not default to a PMI plugin Open MPI/MPICH can use (MpiDefault=none).
    mpi_launcher: str = "srun --overlap"
    # Parsl worker heartbeat: a worker silent for 4 heartbeats is lost (job preempted/cancelled)
    heartbeat_s: Annotated[int, Field(ge=1)] = 30


class ExecutorSpec(Strict):
    """The ``[executor]`` table: where the tasks run.

    Attributes
    ----------
    kind : {"threads", "processes", "slurm"}, default "threads"
        Parsl executor.
    workers : int, default 1
        Parallel workers.
    retries : int, default 0
        Parsl retries of a failed task.
    retry_failed : bool, default True
        Recompute tasks stored as failed by an earlier run.
    claim_timeout_s : float, default 600.0
        Shared database: a task claimed by a driver whose heartbeat is older than this is taken
        over, s.
    slurm : SlurmSpec
        Resources of ``kind = "slurm"``.
    """
    kind: Literal["threads", "processes", "slurm"] = "threads"
    workers: Annotated[int, Field(ge=1)] = 1
    retries: Annotated[int, Field(ge=0)] = 0
    retry_failed: bool = True
    # shared database: a task claimed by a driver whose heartbeat is older than this is taken over
    claim_timeout_s: Annotated[float, Field(gt=0)] = 600.0
    slurm: SlurmSpec = Field(default_factory=SlurmSpec)


class DatabaseSpec(Strict):
    """The ``[database]`` table.

    Attributes
    ----------
    url : str or None
        A file path, ``sqlite:///path`` or ``postgresql://user:pass@host:port/dbname`` (default
        ``<out>/results.db``).
    """
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None or "://" not in v:
            return v
        u = urlparse(v)
        if u.scheme not in ("postgresql", "sqlite"):
            raise ValueError(f"database URL scheme {u.scheme!r} not supported: use a file path, "
                             "sqlite:///path or postgresql://user:pass@host:port/dbname")
        if u.scheme == "postgresql" and not u.hostname:
            raise ValueError(f"postgresql URL {v!r} has no host: postgresql://user:pass@host:port/dbname")
        return v
