"""Validation specs (``calculations/validation_*.toml``): the cluster-size validation as a file.

A spec names the profile (``quick`` | ``here`` | ``cluster``), the calculators, GPAW overrides per
preset and the Slurm resources. The same code runs serially here and under MPI on a cluster:
``srun -n RANKS gpaw python -m surfchem validate --spec FILE`` (every rank runs the driver; GPAW
parallelises over k-points/domains/bands, rank 0 alone writes the cache and the tables, and the
ML-relaxed geometries are broadcast from rank 0 so all ranks see identical atoms).
:func:`sbatch_script` renders the batch script (``surfchem validate --spec FILE --sbatch``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from surfchem.errors import InputError
from surfchem.validate.engine import resolve_calculator

_KEYS = {"name", "profile", "calculators", "out", "gpaw", "slurm", "geometry_calculator", "parts"}


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read and check a validation spec; unknown keys and names are InputErrors."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"validation spec {str(p)!r} does not exist")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"validation spec {str(p)!r} is not valid TOML: {exc}") from None
    bad = sorted(set(data) - _KEYS)
    if bad:
        raise InputError(f"validation spec {str(p)!r}: unknown keys {bad}; allowed: {sorted(_KEYS)}")
    from surfchem.validate.suite import PROFILES

    profile = data.get("profile", "cluster")
    if profile not in PROFILES:
        raise InputError(f"validation spec {str(p)!r}: profile must be one of {', '.join(PROFILES)}")
    calcs = data.get("calculators")
    if not calcs or not isinstance(calcs, list):
        raise InputError(f"validation spec {str(p)!r}: give calculators = [\"chgnet-d3\", ...]")
    for c in calcs:
        resolve_calculator(c)
    gpaw = {resolve_calculator(k): dict(v) for k, v in data.get("gpaw", {}).items()}
    return {"name": data.get("name", p.stem), "profile": profile, "calculators": list(calcs),
            "gpaw": gpaw, "out": data.get("out", f"analysis/validation/{profile}"),
            "slurm": dict(data.get("slurm", {})),
            "geometry_calculator": data.get("geometry_calculator", "chgnet-d3"),
            "parts": data.get("parts", ["bulk", "surface", "binding", "stacking"])}


def sbatch_script(spec: dict[str, Any], spec_path: str) -> str:
    """A Slurm batch script running the spec under MPI (GPAW ranks = nodes x tasks per node)."""
    s = spec["slurm"]
    nodes = int(s.get("nodes", 1))
    tasks = int(s.get("tasks_per_node", 64))
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={spec['name']}",
        f"#SBATCH --partition={s.get('partition', 'compute')}",
        f"#SBATCH --nodes={nodes}",
        f"#SBATCH --ntasks-per-node={tasks}",
        "#SBATCH --cpus-per-task=1",
        f"#SBATCH --time={s.get('walltime', '24:00:00')}",
        "",
        s.get("worker_init", "source ~/venvs/surfchem/bin/activate"),
        "export OMP_NUM_THREADS=1",
        f"{s.get('launcher', 'srun')} -n {nodes * tasks} gpaw python -m surfchem validate "
        f"--spec {spec_path} --json > {spec['out']}/validate.json",
        "",
    ]
    return "\n".join(lines)
