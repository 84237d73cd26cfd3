"""Validation specs (``calculations/validation_*.toml``): the cluster-size validation as a file.

A spec names the profile (``quick`` | ``here`` | ``cluster``), the calculators, GPAW overrides per
preset and the Slurm resources. The same code runs serially here and under MPI on a cluster:
``srun -n RANKS gpaw python -m surfchem validate --spec FILE`` (every rank runs the driver; GPAW
parallelises over k-points/domains/bands, rank 0 alone writes the cache and the tables, and the
ML-relaxed geometries are broadcast from rank 0 so all ranks see identical atoms).
:func:`sbatch_script` renders the batch script (``surfchem validate --spec FILE --sbatch``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from surfchem.core.slurm import SlurmResources, sbatch_directives
from surfchem.core.spec import Strict, read_toml, validate_model
from surfchem.validate.engine import resolve_calculator
from surfchem.validate.suite import PROFILES


class SlurmSpec(SlurmResources):
    """``[slurm]`` of a validation spec: one MPI job (GPAW ranks = nodes x tasks per node).

    Besides the keys of :class:`surfchem.core.slurm.SlurmResources`:

    Attributes
    ----------
    partition : str, default "compute"
        Slurm partition.
    walltime : str, default "24:00:00"
        ``HH:MM:SS`` or ``D-HH:MM:SS``.
    worker_init : str, default "source ~/venvs/surfchem/bin/activate"
        Shell lines run before the work.
    nodes : int, default 1
        Nodes.
    tasks_per_node : int, default 64
        MPI tasks per node.
    launcher : {"srun", "mpiexec", "mpirun"}, default "srun"
        MPI launcher.
    """

    partition: str | None = "compute"
    walltime: str = "24:00:00"
    worker_init: str = "source ~/venvs/surfchem/bin/activate"
    nodes: Annotated[int, Field(ge=1)] = 1
    tasks_per_node: Annotated[int, Field(ge=1)] = 64
    launcher: Literal["srun", "mpiexec", "mpirun"] = "srun"


class ValidationSpec(Strict):
    """Schema of a validation spec (declarative, checked like the campaign specs).

    Attributes
    ----------
    name : str, default ""
        Name (default: the file's stem).
    profile : str, default "cluster"
        Size profile of the systems (one of ``PROFILES``).
    calculators : list of str
        Calculator presets to validate (at least one).
    out : str, default ""
        Output directory (default ``analysis/validation/<profile>``).
    gpaw : dict
        GPAW parameters per preset.
    slurm : SlurmSpec
        The Slurm job.
    geometry_calculator : str, default "chgnet-d3"
        Preset that relaxes the shared geometries.
    parts : list of {"bulk", "surface", "binding", "stacking"}
        Parts of the validation to run (default all).
    """

    name: str = ""
    profile: str = "cluster"
    calculators: Annotated[list[str], Field(min_length=1)]
    out: str = ""
    gpaw: dict[str, dict[str, Any]] = Field(default_factory=dict)
    slurm: SlurmSpec = Field(default_factory=SlurmSpec)
    geometry_calculator: str = "chgnet-d3"
    parts: list[Literal["bulk", "surface", "binding", "stacking"]] = Field(
        default_factory=lambda: ["bulk", "surface", "binding", "stacking"])

    @field_validator("profile")
    @classmethod
    def _profile(cls, v: str) -> str:
        if v not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
        return v

    @field_validator("calculators")
    @classmethod
    def _calcs(cls, v: list[str]) -> list[str]:
        for c in v:
            resolve_calculator(c)
        return v

    @field_validator("gpaw")
    @classmethod
    def _gpaw(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {resolve_calculator(k): dict(o) for k, o in v.items()}


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read and check a validation spec.

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    dict
        The spec as a dict, ``name`` and ``out`` filled in.

    Raises
    ------
    surfchem.errors.InputError
        Missing file, bad TOML, unknown keys or names (one per line).
    """
    p = Path(path)
    spec = validate_model(ValidationSpec, read_toml(p, "validation spec"), str(p))
    out = spec.model_dump()
    out["name"] = out["name"] or p.stem
    out["out"] = out["out"] or f"analysis/validation/{spec.profile}"
    return out


def sbatch_script(spec: dict[str, Any], spec_path: str) -> str:
    """A Slurm batch script running the spec under MPI (GPAW ranks = nodes x tasks per node).

    Parameters
    ----------
    spec : dict
        A spec from :func:`load_spec`.
    spec_path : str
        Path of the spec file, as the job will see it.

    Returns
    -------
    str
    """
    s = spec["slurm"]
    nodes = int(s.get("nodes", 1))
    tasks = int(s.get("tasks_per_node", 64))
    header = sbatch_directives(job_name=spec["name"], partition=s.get("partition"),
                               account=s.get("account"), qos=s.get("qos"), nodes=nodes,
                               ntasks_per_node=tasks, cpus_per_task=1,
                               walltime=s.get("walltime", "24:00:00"))
    lines = [
        "#!/bin/bash",
        *header,
        "",
        s.get("worker_init", "source ~/venvs/surfchem/bin/activate"),
        "export OMP_NUM_THREADS=1",
        f"mkdir -p {spec['out']}",
        f"{s.get('launcher', 'srun')} -n {nodes * tasks} gpaw python -m surfchem validate "
        f"--spec {spec_path} --json > {spec['out']}/validate.json",
        "",
    ]
    return "\n".join(lines)
