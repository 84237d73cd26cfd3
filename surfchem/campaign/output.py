"""The campaign's output directory: writes ``results.csv``, ``summary.csv``, ``stages.csv``,
``references.json`` and ``structures/`` (:func:`write_outputs`) in the format of
:mod:`surfchem.core.screendir`, which names the files and orders the columns."""

from __future__ import annotations

import pandas as pd
from ase import Atoms

from surfchem.campaign.results import CampaignResult
from surfchem.core.screendir import RESULTS_COLUMNS, ScreenDir
from surfchem.trust.diagnostics import stage_rankings

#: columns of ``results.csv``, in order (those present): :data:`surfchem.core.screendir.RESULTS_COLUMNS`
TABLE_COLUMNS = list(RESULTS_COLUMNS)


def write_outputs(result: CampaignResult, structures: dict[str, Atoms]) -> None:
    """Write a campaign's output directory ``result.out`` and record the files in ``result.files``.

    ``results.csv`` (every stage's rows), ``summary.csv`` (every stage's), ``stages.csv`` (a
    funnel's rankings), ``references.json`` (the last stage's references, each stage's, and the
    run's ``n_min``, ``complete``, ``missing``, ``wall_s``, ``counts``, ``failures``; with anchors
    also ``n_min_anchored``), ``anchors.json`` (with anchors) and the last stage's lowest
    structures in ``structures/``. The figure
    (:func:`surfchem.plot.coverage.plot_coverage`) is drawn by the CLI.

    Parameters
    ----------
    result : surfchem.campaign.results.CampaignResult
        The finished (or partial) run; ``result.files`` gains ``results``, ``summary``,
        ``references`` (and ``stages``).
    structures : dict of str to ase.Atoms
        Relaxed structures keyed ``stage{i}/slab/{ligand}/{n}`` (the bare slab:
        ``stage{i}/slab//0``) and ``stage{i}/ion_pair/{ligand}``; only the last stage's are written.
    """
    out = ScreenDir(result.out)
    tables = [s.table for s in result.stages]
    summaries = [s.summary for s in result.stages]
    if result.anchors:  # the anchored view beside the plain one, for the stage the anchors correct
        tables[-1], summaries[-1] = result.anchored_table, result.anchored_summary
    files = {"results": out.write_results(pd.concat(tables, ignore_index=True)),
             "summary": out.write_summary(pd.concat(summaries, ignore_index=True))}
    if result.anchors:
        files["anchors"] = out.write_anchors([a.as_dict() for a in result.anchors.values()])
    if len(result.stages) > 1:  # the funnel: did a higher level reorder the arrangements?
        result.files["stages"] = str(out.write_stages(stage_rankings([s.table for s in result.stages])))
    refs = {f"stage{s.stage}": {**s.references.as_dict(), "n_min": s.n_min, "missing": s.missing}
            for s in result.stages}
    files["references"] = out.write_references(
        {**result.references.as_dict(), "n_min": result.n_min, "complete": result.complete,
         "missing": result.missing, "stages": refs, "wall_s": result.wall_s, "counts": result.counts,
         "failures": result.failures,
         **({"n_min_anchored": result.n_min_anchored} if result.anchors else {})})
    _write_structures(out, structures, last=len(result.stages) - 1)
    result.files.update({k: str(v) for k, v in files.items()})


def _write_structures(out: ScreenDir, structures: dict[str, Atoms], last: int) -> None:
    """The last stage's lowest slab per (ligand, N), ion pairs and bare slab into ``structures/``."""
    out.structures_dir.mkdir(parents=True, exist_ok=True)
    for key, at in structures.items():
        stage, kind, *rest = key.split("/")
        if stage != f"stage{last}" or at is None:
            continue
        if kind == "slab" and rest[0]:
            out.write_structure(at, rest[0], int(rest[1]))
        elif kind == "ion_pair":
            out.write_ion_pair(at, rest[0])
    bare = structures.get(f"stage{last}/slab//0")
    if bare is not None:
        out.write_bare(bare)
