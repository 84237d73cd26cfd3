"""The link end to end: descriptors + measurements -> joined table, correlations, ranking, figures, HTML.

:func:`link` writes into ``out``:

* ``joined.csv``       one row per computed ligand: descriptors, measured columns, alias notes
* ``descriptors.csv``  descriptors only
* ``measured.csv``     the measurements reduced to one row per (ligand, material)
* ``correlations.csv`` Spearman rho (scipy), n, exact permutation p, caveat per descriptor
* ``candidates.csv``   untested ligands ranked by the best-tracking descriptor
* ``on_vs_descriptors.png/.pdf``, ``rank_agreement.png/.pdf``, ``comparison.png/.pdf``
* ``report.html``      self-contained (figures as base64 PNG, tables, settings, versions)
* ``link.json``        the numbers above in JSON (what the CLI prints)
"""

from __future__ import annotations

import base64
import html
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from surfchem.errors import InputError
from surfchem.link.descriptors import DESCRIPTORS, coverage_summary, descriptors_from_results
from surfchem.link.experiments import aggregate, load_experiments
from surfchem.link.join import JoinResult, join
from surfchem.link.stats import best_descriptor, claim_statement, correlations, rank_candidates

VERSION_PACKAGES = ("surfchem", "numpy", "scipy", "pandas", "matplotlib", "ase", "rdkit", "chgnet",
                    "torch", "dftd3", "tblite", "gpaw")


@dataclass
class LinkResult:
    """Result of :func:`link`.

    Attributes
    ----------
    joined : surfchem.link.join.JoinResult
    descriptors : pandas.DataFrame
        Computed descriptors per ligand.
    measured : pandas.DataFrame
        Aggregated measurements per ligand.
    correlations : pandas.DataFrame
        Spearman rho, scipy p, exact permutation p and n per descriptor.
    best : str or None
        Descriptor with the largest |rho| (None below 3 measured ligands).
    candidates : pandas.DataFrame
        Untested ligands ranked by ``best``.
    ranking_text : str
        The ranking as a sentence with its small-sample caveat.
    settings : dict
    files : dict of str to str
        Files written (``joined.csv``, ``correlations.csv``, ``candidates.csv``, figures,
        ``report.html``).
    """
    joined: JoinResult
    descriptors: pd.DataFrame
    measured: pd.DataFrame
    correlations: pd.DataFrame
    best: str | None
    candidates: pd.DataFrame
    ranking_text: str
    settings: dict
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain-data summary (the JSON that ``surfchem link`` prints).

        Returns
        -------
        dict
        """
        t = self.joined.table
        return {
            "settings": self.settings,
            "aliases": self.joined.alias_notes,
            "measured_ligands": list(t.loc[t["measured"], "ligand"]),
            "untested_ligands": list(t.loc[~t["measured"], "ligand"]),
            "unmatched_measured": self.joined.unmatched_measured,
            "correlations": self.correlations.to_dict("records"),
            "best_descriptor": self.best,
            "paper_claim": claim_statement(self.correlations),
            "candidates": self.candidates.to_dict("records"),
            "ranking": self.ranking_text,
            "files": self.files,
        }


#: draws the link's figures: ``(result, coverage summary, out dir) -> {name: png path}``
FigureMaker = Callable[[LinkResult, pd.DataFrame, Path], dict[str, Path]]


def versions() -> dict[str, str]:
    """Installed versions of surfchem and the packages behind the numbers (no heavy imports).

    Returns
    -------
    dict of str to str
        ``python`` and each installed package of ``VERSION_PACKAGES`` -> its version (missing
        packages are left out).
    """
    out = {"python": platform.python_version()}
    for p in VERSION_PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            continue
    return out


def link(results_dir: str | Path | list, experiments: str | Path | pd.DataFrame = "paper",
         out: str | Path | None = None, aliases: dict[str, str] | None = None, select: str = "primary",
         target: str = "on_fraction", descriptors: list[str] | None = None,
         ligands: list[str] | None = None, strict: bool = False, n_full: int = 8,
         T: float = 298.15, experiments_ligand: str | None = None,
         experiments_material: str | None = None, figures: FigureMaker | None = None,
         report: bool = True, title: str | None = None, table: str = "auto") -> LinkResult:
    """Join a screen/campaign output with measurements; write tables, figures and the report.

    Parameters
    ----------
    results_dir : str, Path or list of them
        Screen or campaign output directories (:func:`~surfchem.link.descriptors.descriptors_from_results`).
    experiments : str, Path or pandas.DataFrame, default "paper"
        Measured table (:func:`~surfchem.link.experiments.load_experiments`).
    out : str or Path, optional
        Output directory; nothing is written without it.
    aliases : dict of str to str, optional
        Computed -> measured ligand names, beside the built-in ``DDA<n>`` -> ``DDA``.
    select : {"primary", "longest", "mean", "median"}, default "primary"
        How several measured rows of a ligand become one.
    target : {"on_fraction", "mandel_q", "k_on", "k_off", "g2_0"}, default "on_fraction"
        Measured column to correlate with.
    descriptors : list of str, optional
        Restrict to these descriptors (default: all available).
    ligands : list of str, optional
        Computed ligands that must have a measurement.
    strict : bool, default False
        Every computed ligand measured and vice versa (same material).
    n_full : int, default 8
        N of full coverage.
    T : float, default 298.15
        Temperature for T S_conf, K.
    experiments_ligand : str, optional
        Ligand of a measured table without a ``ligand`` column (a photons batch CSV).
    experiments_material : str, optional
        Material of such a table.
    figures : callable, optional
        Draws the figures into ``out`` (e.g. :func:`surfchem.plot.link.link_figures`), called as
        ``figures(result, coverage_summary, out)`` and returning ``{name: png path}``; the report
        embeds them. ``None``: tables (and a report without figures) only.
    report : bool, default True
        Write ``report.html``.
    title : str, optional
        Title of the report.
    table : {"auto", "results", "thermo"}, default "auto"
        Descriptor source in ``results_dir``.

    Returns
    -------
    LinkResult

    Raises
    ------
    surfchem.errors.InputError
        Bad inputs (missing files or columns, unmatched required ligands).
    """
    t0 = time.perf_counter()
    desc = descriptors_from_results(results_dir, n_full=n_full, T=T, table=table)
    exp_raw = load_experiments(experiments, ligand=experiments_ligand, material=experiments_material)
    meas = aggregate(exp_raw, select=select)
    jr = join(desc, meas, aliases=aliases, ligands=ligands, strict=strict)
    bad = [d for d in (descriptors or []) if d not in DESCRIPTORS]
    if bad:
        raise InputError(f"unknown descriptor(s) {bad}; choose from {list(DESCRIPTORS)}")
    avail = [d for d in (descriptors or DESCRIPTORS) if d in jr.table.columns
             and jr.table[d].notna().any()]
    corr = correlations(jr.table, target=target, descriptors=avail)
    best = best_descriptor(corr)
    cands, text = rank_candidates(jr.table, corr, best, target=target)
    settings = {
        "results_dir": desc.attrs.get("source"),
        "experiments": experiments if isinstance(experiments, str) else str(experiments)
        if not isinstance(experiments, pd.DataFrame) else "DataFrame",
        "select": select, "target": target, "n_full": n_full, "T_K": T,
        "user_aliases": dict(aliases or {}), "material": desc.attrs.get("material"),
        "calculator": desc.attrs.get("calculator"),
        "descriptor_table": desc.attrs.get("source_table"),
        "references": desc.attrs.get("references", {}),
    }
    res = LinkResult(jr, desc, meas, corr, best, cands, text, settings)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = {}
        for name, df in (("joined", jr.table), ("descriptors", desc), ("measured", meas),
                         ("correlations", corr), ("candidates", cands)):
            df.to_csv(out / f"{name}.csv", index=False)
            files[name] = str(out / f"{name}.csv")
        figs = {}
        if figures is not None:
            figs = figures(res, coverage_summary(results_dir, table), out)
            files.update({k: str(v) for k, v in figs.items()})
        res.settings["wall_s"] = time.perf_counter() - t0
        if report:
            page = render_html(res, figs, exp_raw, title=title)
            (out / "report.html").write_text(page, encoding="utf-8")
            files["report"] = str(out / "report.html")
        res.files = files
        (out / "link.json").write_text(json.dumps(jsonable(res.as_dict()), indent=2))
        files["json"] = str(out / "link.json")
    return res


def main_caveat(corr: pd.DataFrame, best: str | None) -> str:
    """The caveat of the best descriptor's correlation (or why there is none), one sentence.

    Parameters
    ----------
    corr : pandas.DataFrame
        The correlation table (``descriptor``, ``n``, ``caveat``).
    best : str or None
        The best descriptor; None when no correlation could be computed.

    Returns
    -------
    str
    """
    if best is None:
        n = int(corr["n"].max()) if len(corr) else 0
        return (f"At most {n} measured ligand(s) have a computed descriptor: no rank correlation "
                "can be computed. Compute more of the measured ligands (DDA, IPA, PEA).")
    return str(corr.loc[corr["descriptor"] == best, "caveat"].iloc[0])


def jsonable(obj):
    """A copy of ``obj`` that :func:`json.dumps` writes as ``link.json`` is written.

    Parameters
    ----------
    obj : object
        Nested dicts, lists and tuples of numbers, strings and NumPy scalars.

    Returns
    -------
    object
        Dict keys as str, tuples as lists, NumPy scalars as Python ones, non-finite floats as None.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _table_html(df: pd.DataFrame, cols: list[str] | None = None, floatfmt: str = "{:.4g}") -> str:
    if cols:
        df = df[[c for c in cols if c in df.columns]]
    def fmt(v):
        if isinstance(v, float | np.floating):
            return "" if not np.isfinite(v) else floatfmt.format(v)
        return html.escape(str(v))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/><figcaption>{html.escape(alt)}</figcaption></figure>'


_CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%}
.caveat{background:#fff4e0;border-left:4px solid #e69500;padding:0.5em 1em}
figure{margin:1em 0}figcaption{font-size:12px;color:#555}pre{font-size:11px;background:#f7f7f7;padding:0.5em}"""


def render_html(res: LinkResult, figs: dict[str, Path], experiments_raw: pd.DataFrame,
                title: str | None = None) -> str:
    """A self-contained HTML report (figures embedded, no external files).

    Parameters
    ----------
    res : LinkResult
    figs : dict of str to Path
        Figure name -> PNG file.
    experiments_raw : pandas.DataFrame
        The measured rows before aggregation.
    title : str, optional

    Returns
    -------
    str
        The HTML page: figures, tables, settings and package versions.
    """
    t = res.joined.table
    title = title or f"surfchem link: {res.settings['results_dir']}"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p>Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')} by surfchem {html.escape(versions().get('surfchem', '?'))}. "
             f"Computed: {html.escape(str(res.settings.get('calculator') or '?'))}, material "
             f"{html.escape(str(res.settings.get('material')))}. Measured ligands joined: "
             f"{html.escape(', '.join(t.loc[t['measured'], 'ligand']))}; untested: "
             f"{html.escape(', '.join(t.loc[~t['measured'], 'ligand']) or 'none')}.</p>"]
    if res.joined.alias_notes:
        parts.append("<h2>Ligand aliases</h2><ul>" + "".join(
            f"<li>{html.escape(n)}</li>" for n in res.joined.alias_notes) + "</ul>")
    parts.append("<h2>Rank agreement</h2>")
    parts.append(f"<p class='caveat'>{html.escape(main_caveat(res.correlations, res.best))}</p>")
    parts.append(f"<p>{html.escape(claim_statement(res.correlations))}</p>")
    parts.append(_table_html(res.correlations, ["descriptor", "n", "rho", "p_scipy", "p_exact",
                                                 "expected_sign", "ligands"]))
    for key, cap in (("on_vs_descriptors", "Measured ON fraction vs each computed descriptor"),
                     ("rank_agreement", "Spearman rho per descriptor"),
                     ("comparison", "gamma(N) of all ligands and measured ON fractions")):
        if key in figs:
            parts.append(_img(figs[key], cap))
    parts.append("<h2>Untested candidates</h2>")
    parts.append(f"<p class='caveat'>{html.escape(res.ranking_text)}</p>")
    parts.append(_table_html(res.candidates) if len(res.candidates) else "<p>No untested candidates.</p>")
    parts.append("<h2>Joined table</h2>")
    parts.append(_table_html(t, ["ligand", "measured_ligand", "match", "smiles", *DESCRIPTORS,
                                 "on_fraction", "mandel_q", "k_on", "k_off", "g2_0", "n_rows",
                                 "select", "rows_used", "alias_note"]))
    if res.joined.unmatched_measured:
        parts.append("<h2>Measured but not joined</h2>")
        parts.append(_table_html(pd.DataFrame(res.joined.unmatched_measured)))
    parts.append("<h2>Measurements used (all rows)</h2>")
    parts.append(_table_html(experiments_raw, ["ligand", "material", "condition", "on_fraction",
                                               "qualifier", "mandel_q", "k_on", "k_off", "g2_0",
                                               "duration_s", "n_dots", "primary", "source", "figure"]))
    parts.append("<h2>Settings</h2><pre>" + html.escape(json.dumps(jsonable(res.settings), indent=2)) + "</pre>")
    parts.append("<h2>Versions</h2>" + _table_html(pd.DataFrame(list(versions().items()),
                                                                columns=["package", "version"])))
    parts.append("</body></html>")
    return "\n".join(parts)
