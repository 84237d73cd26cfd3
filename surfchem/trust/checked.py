"""Relax one start only if it is physical, and judge the relaxed structure.

:func:`checked_relax` is used for every start of a minimum search
(:func:`surfchem.trust.search.minimum_search`) and by the campaign's single relaxations: a start
whose fragments overlap (:func:`surfchem.trust.sanity.close_contacts`) is rejected before it is
relaxed; a relaxation that reaches its step limit is continued once more (``continue_rounds``)
and rejected if it still has not converged; a relaxed structure whose ligand bond graph changed,
or that fails another structural check (:data:`surfchem.trust.sanity.STRUCTURE_FLAGS`), is
rejected.

The vacuum is a numerical setting, not a property of the minimum: when tails stand up during a
relaxation and eat into it (DDA6 N = 6 went from 15.0 to 11.3 Å of vacuum between the ligand
tips of neighbouring images) and nothing else is wrong, the cell is lengthened along z to give
the requested vacuum back (no atom moves) and the relaxation goes on, once, in its own
trajectory (``<trajectory stem>.vacuum.traj``, so a kill resumes there too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ase import Atoms

from surfchem.build.decorate import vacuum_gap
from surfchem.relax import relax
from surfchem.trust.sanity import close_contacts, describe_contacts, structure_sanity


def checked_relax(start: Atoms, calculator: Any, relax_settings: dict[str, Any],
                  reference: Atoms | None = None, trajectory: str | Path | None = None,
                  continue_rounds: int = 1) -> tuple[Any, dict[str, Any]]:
    """Relax ``start`` only if it is physical, and judge the result (module docstring).

    Parameters
    ----------
    start : ase.Atoms
        The structure to relax (labels ``ligand_index``/``surface_site`` as built).
    calculator : str or ase.calculators.calculator.Calculator
        Preset name or ASE calculator.
    relax_settings : dict
        Keyword arguments of :func:`surfchem.relax.relax` (``fmax`` in eV/Å, ``steps``, ...).
    reference : ase.Atoms, optional
        The structure whose ligand bond graph the result must keep (default ``start``).
    trajectory : str or Path, optional
        ASE trajectory path (appended to, so a continued or killed relaxation restarts from its
        last frame).
    continue_rounds : int, default 1
        Further relaxations of ``steps`` steps each when the step limit is hit.

    Returns
    -------
    result : surfchem.relax.RelaxResult or None
        ``None`` when the start was rejected unrelaxed.
    record : dict
        ``status`` (``"ok"``, ``"rejected"`` or ``"failed"``), ``error`` (why, for the last two),
        ``n_rounds``, the ``flag_*`` sanity flags and, when the vacuum had to be restored,
        ``vacuum_restored_A`` (the vacuum it had shrunk to, Å).
    """
    contacts = close_contacts(start)
    if contacts:
        return None, {"status": "rejected", "error": f"start overlaps: {describe_contacts(start, contacts)}",
                      "energy_eV": float("nan"), "converged": False, "n_steps": 0, "n_rounds": 0,
                      "flag_clash": True}
    res = relax(start, calculator, trajectory=trajectory, **relax_settings)
    rounds, steps = 1, res.n_steps
    while res.error is None and not res.converged and rounds <= continue_rounds:
        res = relax(res.atoms, calculator, trajectory=trajectory, **relax_settings)
        rounds += 1
        steps += res.n_steps
    ref = reference if reference is not None else start
    vacuum = ref.info.get("vacuum_A")
    flags = structure_sanity(ref, res.atoms, vacuum)
    shrunk = None
    if res.error is None and res.converged and flags["vacuum"] and not any(
            v for k, v in flags.items() if k != "vacuum"):
        shrunk = vacuum_gap(res.atoms)
        grown = res.atoms.copy()
        cell = grown.cell[:].copy()
        cell[2] *= (cell[2, 2] + float(vacuum) - shrunk) / cell[2, 2]
        grown.set_cell(cell, scale_atoms=False)
        vac_traj = None if trajectory is None else Path(trajectory).with_suffix(".vacuum.traj")
        res = relax(grown, calculator, trajectory=vac_traj, **relax_settings)
        rounds += 1
        steps += res.n_steps
        flags = structure_sanity(ref, res.atoms, vacuum)
    res.atoms.calc = None
    rec = {**res.as_dict(), "n_steps": int(steps), "n_rounds": rounds}
    rec.pop("trajectory", None)
    rec.pop("calculator", None)
    if shrunk is not None:
        rec["vacuum_restored_A"] = float(shrunk)
    rec.update({f"flag_{k}": v for k, v in flags.items()})
    bad = [k for k, v in flags.items() if v]
    if res.error is not None:
        rec.update(status="failed", error=res.error)
    elif not res.converged:
        rec.update(status="rejected", error=f"not converged in {steps} steps (fmax {res.fmax_eV_A:.3f} eV/Å)")
    elif bad:
        extra = ""
        if "clash" in bad:
            extra = f" ({describe_contacts(res.atoms, close_contacts(res.atoms))})"
        rec.update(status="rejected", error="unphysical minimum: " + ", ".join(bad) + extra)
    else:
        rec["status"] = "ok"
    return res, rec
