"""Relax one start only if it is physical, and judge the relaxed structure.

:func:`checked_relax` is used for every start of a minimum search
(:func:`surfchem.trust.search.minimum_search`) and by the campaign's single relaxations: a start
whose fragments overlap (:func:`surfchem.trust.sanity.close_contacts`) is rejected before it is
relaxed; a relaxation that reaches its step limit is continued once more (``continue_rounds``)
and rejected if it still has not converged; a relaxed structure whose ligand bond graph changed,
or that fails another structural check (:data:`surfchem.trust.sanity.STRUCTURE_FLAGS`), is
rejected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ase import Atoms

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
        ``n_rounds`` and the ``flag_*`` sanity flags.
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
    res.atoms.calc = None
    rec = {**res.as_dict(), "n_steps": int(steps), "n_rounds": rounds}
    rec.pop("trajectory", None)
    rec.pop("calculator", None)
    ref = reference if reference is not None else start
    flags = structure_sanity(ref, res.atoms, ref.info.get("vacuum_A"))
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
