"""Computation-experiment link: per-ligand descriptors from a screen joined with measured
single-dot statistics (ON fraction, Mandel Q, k_ON/k_OFF, g2(0)), rank agreement, candidate
ranking and a self-contained report.

Entry points: :func:`descriptors_from_results` (a screen/campaign output directory -> one row per
ligand), :func:`load_experiments` / :func:`aggregate` (measured table -> one row per ligand),
:func:`join` (aliases, canonical SMILES), :func:`correlations` / :func:`rank_candidates`, and
:func:`link` (all of it, writing CSVs, figures and ``report.html``). The paper's values are
:func:`paper_table` (also ``analysis/on_fractions.csv``).
"""

from surfchem.link.descriptors import DESCRIPTORS, descriptors_from_results, descriptors_from_tables
from surfchem.link.experiments import aggregate, load_experiments
from surfchem.link.join import DEFAULT_ALIASES, JoinResult, join, parse_aliases
from surfchem.link.paper import paper_table
from surfchem.link.report import LinkResult, link, render_html
from surfchem.link.stats import (
    best_descriptor,
    correlations,
    exact_spearman_p,
    rank_candidates,
    spearman,
)

__all__ = [
    "DEFAULT_ALIASES", "DESCRIPTORS", "JoinResult", "LinkResult", "aggregate", "best_descriptor",
    "correlations", "descriptors_from_results", "descriptors_from_tables", "exact_spearman_p",
    "join", "link", "load_experiments", "paper_table", "parse_aliases", "rank_candidates",
    "render_html", "spearman",
]
