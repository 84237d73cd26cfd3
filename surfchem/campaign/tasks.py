"""Task recipes executed on workers: plain functions, no engine code (quacc style).

A task is a plain dict (picklable): ``kind`` (``relax`` | ``single_point`` | ``eos``),
``calculator`` (preset name) and ``calc_params`` (overrides), ``atoms`` (ASE Atoms) or
``material``, ``settings`` (relaxation settings), ``trajectory`` (path, for restart). The result
is a dict ``{"record": {...plain data...}, "atoms": Atoms | None}``; workers never touch the
database. Run as ``python -m surfchem.campaign.tasks IN.pkl OUT.pkl`` (e.g. under ``mpiexec``) the
same function runs on a pickled task.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import threading
import traceback
from typing import Any

from ase import Atoms

from surfchem.build.bulk import bulk
from surfchem.calculators import get_calculator
from surfchem.relax import bulk_tilt_minimum, relax_bulk_lattice, single_point
from surfchem.trust.checked import checked_relax
from surfchem.trust.sanity import structure_sanity
from surfchem.trust.search import SearchSettings, minimum_search
from surfchem.validate.anchor import ligand_anchor
from surfchem.validate.engine import Evaluator, base_preset

_local = threading.local()


def _calculator(task: dict[str, Any]):
    """One calculator per (worker thread, preset, parameters): models load once per worker."""
    if task.get("calculator_object") is not None:
        return task["calculator_object"]
    cache = getattr(_local, "calcs", None)
    if cache is None:
        cache = _local.calcs = {}
    key = json.dumps([task["calculator"], task.get("calc_params", {})], sort_keys=True, default=str)
    if key not in cache:
        cache[key] = get_calculator(task["calculator"], **task.get("calc_params", {}))
    return cache[key]


def _sanity(start, final) -> dict[str, bool]:
    flags = structure_sanity(start, final, start.info.get("vacuum_A"))
    return {f"flag_{k}": v for k, v in flags.items()}


def anchor_evaluator(task: dict[str, Any]) -> Evaluator:
    """The cached evaluator of an anchor task.

    Parameters
    ----------
    task : dict
        An anchor task's payload (:meth:`surfchem.campaign.task.Task.payload`).

    Returns
    -------
    surfchem.validate.engine.Evaluator
        Single points cached in ``task["anchor"]["dir"]``; the stage's parameters for the ML
        preset and the anchor's for the DFT preset, keyed by their base presets (a ``-d3``
        preset's energy is its base preset's plus D3).
    """
    a = task["anchor"]
    return Evaluator(a["dir"], overrides={base_preset(task["calculator"])[0]: task.get("calc_params", {}),
                                          base_preset(a["dft"])[0]: a.get("params", {})})


def _anchor(task: dict[str, Any]) -> dict[str, Any]:
    """A ligand's DFT anchor (:func:`surfchem.validate.anchor.ligand_anchor`); its single points
    are cached one by one in ``task["anchor"]["dir"]`` (a killed anchor resumes there)."""
    a = task["anchor"]
    anc = ligand_anchor(task["record"]["ligand"], anchor_evaluator(task), ml=task["calculator"], dft=a["dft"],
                        material=task["material"], size=a.get("size"), layers=a["layers"])
    return {"record": {**anc.as_dict(), "status": "ok", "converged": True}, "atoms": Atoms()}


def execute(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task; calculator failures come back as ``status="failed"`` with the error.

    Parameters
    ----------
    task : dict
        A task (``kind``, ``record``, structure, calculator and settings), as built by
        :class:`surfchem.campaign.task.Task`.

    Returns
    -------
    dict
        ``record``: the task record with its results (``status``, ``energy_eV`` in eV, ...);
        ``atoms``: the final structure.
    """
    kind = task["kind"]
    try:
        if kind == "anchor":
            return _anchor(task)
        calc = _calculator(task)
        if kind == "eos":
            lat = relax_bulk_lattice(task["material"], calc)
            rec = {"a0_A": lat.a0_A, "energy_eV": lat.energy_per_fu_eV,
                   "bulk_modulus_GPa": lat.bulk_modulus_GPa, "converged": True, "status": "ok"}
            atoms = bulk(task["material"], a=lat.a0_A)
            starts = int(task.get("bulk_tilt_starts") or 0)
            if starts > 0:  # reference consistent with a slab whose octahedra may tilt
                tilt = bulk_tilt_minimum(task["material"], lat.a0_A, calc, starts=starts,
                                         cubic_energy_eV=lat.energy_per_fu_eV)
                rec.update(energy_eV=tilt.energy_per_fu_eV, cubic_energy_eV=tilt.cubic_energy_per_fu_eV,
                           tilt_gain_eV=tilt.tilt_gain_eV, tilt_start_energies_eV=tilt.start_energies_per_fu_eV)
                atoms = tilt.atoms
            return {"record": rec, "atoms": atoms}
        if kind == "single_point":
            import time

            t0 = time.perf_counter()
            e = single_point(task["atoms"], calc)
            rec = {"energy_eV": e, "converged": True, "n_steps": 0, "wall_s": time.perf_counter() - t0,
                   "status": "ok"}
            return {"record": rec, "atoms": task["atoms"]}
        if kind == "relax":
            res, rec = checked_relax(task["atoms"], calc, task["settings"], trajectory=task.get("trajectory"))
            atoms = res.atoms if res is not None else task["atoms"]
            return {"record": rec, "atoms": atoms}
        if kind == "search":
            opts = dict(task["search"])  # the search's own settings (Task.search_options)
            opts["depths_A"] = tuple(opts.get("depths_A", (0.0,)))
            prefix = task["trajectory"].removesuffix(".traj") if task.get("trajectory") else None
            sr = minimum_search(task["atoms"], calc, task["settings"], SearchSettings(**opts), prefix=prefix,
                                extra_starts=task.get("extra_starts"))
            rec = sr.record()
            rec["n_steps"] = int(sum(r.get("n_steps", 0) for r in sr.relax_records))
            rec["status"] = "ok" if sr.n_distinct > 0 else "rejected"
            if task.get("extra_starts") and len(sr.start_energies_eV) > task["search"]["n_starts"]:
                rec["grow_direct_diff_eV"] = sr.start_energies_eV[0] - sr.start_energies_eV[-1]
            if sr.n_distinct == 0:
                rec["error"] = f"no valid minimum in {sr.n_starts} starts: {rec['rejected']}"
            atoms = sr.atoms
            atoms.calc = None
            rec.update(_sanity(task["atoms"], atoms))
            return {"record": rec, "atoms": atoms}
        raise ValueError(f"unknown task kind {kind!r}")
    except Exception as exc:  # recorded, the campaign goes on
        return {"record": {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                           "traceback": traceback.format_exc(limit=5), "energy_eV": float("nan"),
                           "converged": False}, "atoms": task.get("atoms")}


#: environment variables an MPI launcher sets (Open MPI, PMIx, PMI/PMI2: mpirun, srun --mpi=...)
MPI_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK")


def gpaw_mpi_backend() -> str | None:
    """Under an MPI launcher, choose GPAW's MPI backend before GPAW is imported.

    GPAW >= 25 runs serially, or refuses to run, under a launcher unless told: ``cgpaw`` when
    GPAW was compiled with MPI, else ``mpi4py`` (a GPAW built without MPI then parallelises over
    k-points and spins only: band and domain parallelisation need GPAW's own MPI and ScaLAPACK).
    A ``GPAW_MPI_BACKEND`` already set wins.

    Returns
    -------
    str or None
        The backend set, or None.
    """
    if os.environ.get("GPAW_MPI_BACKEND") or not any(v in os.environ for v in MPI_LAUNCHER_VARS):
        return None
    import importlib.util

    try:
        import gpaw
        from gpaw import cgpaw
    except ImportError:
        return None
    if getattr(cgpaw, "have_mpi", False):
        backend = "cgpaw"
    elif importlib.util.find_spec("mpi4py") is not None:
        backend = "mpi4py"
    else:
        return None
    os.environ["GPAW_MPI_BACKEND"] = gpaw.GPAW_MPI_BACKEND = backend
    return backend


def main(argv: list[str] | None = None) -> int:
    """``python -m surfchem.campaign.tasks IN.pkl OUT.pkl``: run a pickled task (MPI-capable).

    Parameters
    ----------
    argv : list of str, optional
        ``[IN.pkl, OUT.pkl]`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0, or 2 on a usage error. Under MPI only rank 0 writes ``OUT.pkl``.
    """
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m surfchem.campaign.tasks IN.pkl OUT.pkl", file=sys.stderr)
        return 2
    gpaw_mpi_backend()
    with open(argv[0], "rb") as fh:
        task = pickle.load(fh)
    result = execute(task)
    rank = 0
    try:  # under MPI only rank 0 writes
        from ase.parallel import world

        rank = world.rank
        result["record"].setdefault("mpi_ranks_used", int(world.size))
    except Exception:  # pragma: no cover
        pass
    if rank == 0:
        with open(argv[1], "wb") as fh:
            pickle.dump(result, fh)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
