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
  minima than building each N directly (``findings.md``, lesson 1).
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
    """One worker per ligand (each grow chain is sequential), at most the CPU count."""
    return max(1, min(int(n_ligands), os.cpu_count() or 1))


def screen(
    ligands: Sequence[str] = ("C6A", "PEA"),
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
    **calc_kwargs: Any,
):
    """Run the coverage screen: a one-stage campaign (:func:`surfchem.campaign.run.run_campaign`).

    Writes ``OUT/results.csv``, ``summary.csv``, ``references.json`` and ``structures/`` (the
    figure: :func:`surfchem.plot.coverage.plot_coverage`, drawn by ``surfchem screen``); returns a :class:`surfchem.campaign.results.CampaignResult` (``.table``,
    ``.summary``, ``.references``, ``.n_min``, ``.files``).

    Parameters
    ----------
    ligands: names or SMILES (see :mod:`surfchem.build.ligands`); ``DDA<n>`` = the paper's DDA with both tails truncated to n carbons, ``C6A`` = hexylammonium.
    n: coverages, e.g. ``"0-8"``. calculator: preset name (``calc_kwargs`` override its
    parameters) or an ASE calculator object. arrangements: ``grow`` | ``first`` | ``all`` | int.
    fmax (eV/Å), steps, optimizer, fix: relaxation settings (:func:`surfchem.relax.relax`).
    mu_LX_eV: user chemical potentials of L-HX per ligand (eV), instead of the ion pair.
    db: database path or ``postgresql://`` URL (default ``OUT/results.db``).
    workers: parallel tasks (Parsl thread pool; default :func:`default_workers`: one per ligand).
    search: ``"default"`` (:data:`surfchem.campaign.defaults.SCREEN_SEARCH`, as ``surfchem screen``), or multi-start minimum
    search settings per ligand slab (keys of :class:`surfchem.campaign.spec.SearchSpec`, e.g.
    ``{"n_starts": 4}``, the rest from :data:`surfchem.campaign.defaults.SCREEN_SEARCH`); ``None`` = one relaxation per slab
    (the fast preview, flagged ``single_start``).
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
    spec = parse_spec({
        "name": "screen", "material": material, "ligands": list(ligands),
        "n": n if isinstance(n, str) else list(n), "arrangements": arrangements,
        "slab": {"size": list(size), "layers": layers, "vacuum_A": vacuum},
        "stages": [stage], "references": {"mu_LX_eV": dict(mu_LX_eV or {})},
        "executor": {"kind": "threads", "workers": workers},
        "database": {"url": str(db) if db else None}, "out": str(out),
    }, source="screen")
    res = run_campaign(spec, progress=progress, calculator_object=obj)
    if not res.stages:
        first = res.failures[0] if res.failures else {}
        raise CalculatorError(f"screen produced no results: {len(res.failures)} task(s) failed, first: "
                              f"{first.get('kind')} {first.get('ligand') or ''}: {first.get('error')}")
    return res
