"""The ligand-coverage screen (paper Fig. 1c,d): build -> relax -> gamma(N), dG(N) -> plot.

A thin front end to the campaign machinery (:mod:`surfchem.campaign.run`): one stage, a Parsl
thread pool. Every relaxation is a task keyed by its content hash and stored in an ASE database
(``OUT/results.db``) as soon as it finishes; its trajectory (``OUT/trajectories/<hash>.traj``)
lets an interrupted relaxation restart from its last frame. Rerunning the same screen is therefore
a no-op, and a killed screen resumes where it stopped.

Arrangement policies (``arrangements=``):

* ``"grow"`` (default): one path per ligand; the N-ligand slab is grown from the relaxed
  (N-1)-ligand slab by adding one ligand on the next site of
  :func:`surfchem.build.arrangements.grow_order`. Cheapest, and in our prototype it found lower
  minima than building each N directly (docs, "Trustworthy minima": lessons of the prototype).
* ``"first"``: the first symmetry-distinct arrangement of each N, built directly on the relaxed
  bare slab.
* ``"all"`` or an int k: every (or the first k) symmetry-distinct arrangement(s) of each N.

For each N the reported gamma and dG use the lowest-energy arrangement computed; all are kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from surfchem.calculators import DEFAULT_PRESET
from surfchem.campaign.defaults import SCREEN_SEARCH
from surfchem.campaign.run import run_campaign
from surfchem.campaign.spec import parse_spec
from surfchem.errors import CalculatorError, InputError


def default_workers(n_ligands: int) -> int:
    """One worker per ligand (each grow chain is sequential), at most the CPU count.

    Parameters
    ----------
    n_ligands : int
        Ligands of the screen.

    Returns
    -------
    int
        At least 1.
    """
    return max(1, min(int(n_ligands), os.cpu_count() or 1))


def screen(
    ligands: Sequence[str] = ("DDA2", "PEA"),
    n: str | Iterable[int] = "0-8",
    calculator: Any = DEFAULT_PRESET,
    material: str = "CsPbBr3",
    out: str | Path | None = "results/screen",
    arrangements: str | int = "grow",
    fmax: float = 0.05,
    steps: int = 300,
    optimizer: str = "BFGS",
    fix: str = "none",
    size: tuple[int, int] = (2, 2),
    layers: int = 5,
    vacuum: float = 15.0,
    mu_LX_eV: dict[str, float] | None = None,
    db: str | None = None,
    workers: int | None = None,
    search: dict[str, Any] | str | None = "default",
    progress: bool = True,
    anchor: str | dict[str, Any] | None = None,
    **calc_kwargs: Any,
):
    """Run the coverage screen: a one-stage campaign (:func:`surfchem.campaign.run.run_campaign`).

    Builds, relaxes (with the minimum search by default) and analyses the N-ligand slabs of each
    ligand; every relaxation is cached by content hash, so a rerun resumes. Same defaults as
    ``surfchem screen`` (:data:`surfchem.campaign.defaults.SCREEN_SEARCH`, :func:`default_workers`).

    Parameters
    ----------
    ligands : sequence of str, default ("DDA2", "PEA")
        Ligand names or ammonium SMILES (:data:`surfchem.build.ligands.LIGANDS`). ``DDA`` is
        didodecyldimethylammonium, ``DDA<n>`` the same with both tails truncated to n carbons,
        ``C<n>A`` a primary n-alkylammonium (``C6A`` = hexylammonium).
    n : str or iterable of int, default "0-8"
        Coverages (ligands per 2x2 slab), e.g. ``"0-8"`` or ``"0,4,8"`` (:func:`parse_n_range`).
    calculator : str or ase.calculators.calculator.Calculator, default "chgnet-d3"
        Preset name (:func:`surfchem.calculators.get_calculator`; ``calc_kwargs`` override its
        parameters) or an ASE calculator object.
    material : str, default "CsPbBr3"
        ``"CsPbBr3"`` or ``"CsPbI3"``.
    out : str or Path
        Output directory (results, figures, default database). Required (``None`` raises).
    arrangements : {"grow", "first", "all"} or int, default "grow"
        Arrangement policy (module docstring): grow N from the relaxed N-1 slab, the first
        symmetry-distinct arrangement, all of them, or the first k.
    fmax : float, default 0.05
        Force criterion of the relaxations, eV/Å.
    steps : int, default 300
        Maximum optimiser steps per relaxation.
    optimizer : str, default "BFGS"
        ``"BFGS"``, ``"FIRE"``, ``"LBFGS"`` or ``"BFGSLineSearch"`` (:func:`surfchem.relax.relax`).
    fix : {"none", "center", "bottom"}, default "none"
        Slab layers frozen during relaxation.
    size : tuple of int, default (2, 2)
        In-plane repetitions of the cubic cell.
    layers : int, default 5
        Atomic layers, odd (5 = Cs12Pb8Br28 at 2x2).
    vacuum : float, default 15.0
        Vacuum between the outermost atoms (ligand tips) of the two faces, Å.
    mu_LX_eV : dict of str to float, optional
        User chemical potential of L-HX per ligand, eV (instead of the relaxed ion pair).
    db : str, optional
        Database path or ``postgresql://`` URL (default ``OUT/results.db``).
    workers : int, optional
        Parallel tasks in the Parsl thread pool (default :func:`default_workers`: one per
        ligand, at most the CPU count).
    search : dict, "default" or None, default "default"
        ``"default"`` = :data:`surfchem.campaign.defaults.SCREEN_SEARCH` (as ``surfchem screen``); a dict of multi-start
        search settings (keys of :class:`surfchem.campaign.spec_compute.SearchSpec`, e.g.
        ``{"n_starts": 4}``, the rest from :data:`surfchem.campaign.defaults.SCREEN_SEARCH`); ``None`` = one relaxation per
        slab (the fast preview, rows flagged ``single_start``).
    progress : bool, default True
        Show a progress bar.
    anchor : str or dict, optional
        Per-ligand DFT anchors (:mod:`surfchem.thermo.anchors`): a DFT preset name (e.g.
        ``"gpaw-pbe-d3-pw"``) or the keys of :class:`surfchem.campaign.spec_compute.AnchorSpec`. The
        results then carry anchored gamma and dG beside the plain ones, and ``.anchors``.
    **calc_kwargs
        Overrides of the preset's parameters (e.g. ``torch_threads=1``).

    Returns
    -------
    surfchem.campaign.results.CampaignResult
        ``.table`` (every relaxed structure), ``.summary`` (per ligand and N: ``G_eV``,
        ``gamma_J_m2``, ``gamma_meV_A2``, ``dG_eV``), ``.references``, ``.n_min``, ``.files``.
        Written to ``out``: ``results.csv``, ``summary.csv``, ``references.json`` and
        ``structures/*.extxyz``; the figure ``fig1.png``/``.pdf`` is drawn by ``surfchem screen``
        (in Python: :func:`surfchem.plot.coverage.plot_coverage`).

    Raises
    ------
    surfchem.errors.InputError
        Bad input (no ``out``, unknown arrangement policy, ligand or coverage).
    surfchem.errors.CalculatorError
        When every task failed and there is no result at all.

    Examples
    --------
    >>> from surfchem import screen
    >>> res = screen(ligands=["DDA2", "PEA"], n="0-8", out="results/fig1")  # doctest: +SKIP
    >>> res.n_min  # doctest: +SKIP
    {'DDA2': 8, 'PEA': 8}
    """
    if out is None:
        raise InputError("give out= (a directory for results, figures and the database)")
    if not (arrangements in ("grow", "first", "all") or (isinstance(arrangements, int) and arrangements > 0)):
        raise InputError(f"arrangements must be 'grow', 'first', 'all' or a positive int, got {arrangements!r}")
    obj = None if isinstance(calculator, str) else calculator
    stage = {"fmax_eV_A": fmax, "steps": steps, "optimizer": optimizer, "fix": fix, "params": calc_kwargs}
    if search == "default":
        search = dict(SCREEN_SEARCH)
    elif isinstance(search, str):
        raise InputError(f"search must be 'default', a dict of search settings or None, got {search!r}")
    if search is not None:
        stage["search"] = {**SCREEN_SEARCH, **dict(search)}
    if workers is None:
        workers = default_workers(len(ligands))
    if obj is None:
        stage["calculator"] = calculator
    if isinstance(anchor, str):
        anchor = {"dft": anchor}
    if anchor is not None and obj is not None:
        raise InputError("anchor= needs a calculator preset name (the anchor is computed with the "
                         "screen's preset on workers), not a calculator object")
    spec = parse_spec({
        "name": "screen", "material": material, "ligands": list(ligands),
        "n": n if isinstance(n, str) else list(n), "arrangements": arrangements,
        "slab": {"size": list(size), "layers": layers, "vacuum_A": vacuum},
        "stages": [stage], "references": {"mu_LX_eV": dict(mu_LX_eV or {})},
        "executor": {"kind": "threads", "workers": workers},
        "database": {"url": str(db) if db else None}, "out": str(out), "anchor": anchor,
    }, source="screen")
    res = run_campaign(spec, progress=progress, calculator_object=obj)
    if not res.stages:
        first = res.failures[0] if res.failures else {}
        raise CalculatorError(f"screen produced no results: {len(res.failures)} task(s) failed, first: "
                              f"{first.get('kind')} {first.get('ligand') or ''}: {first.get('error')}")
    return res
