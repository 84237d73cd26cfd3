"""The paper's measured single-dot statistics, per ligand and condition, with their provenance.

Source: Mi et al., "Towards non-blinking and photostable perovskite quantum dots",
Nat. Commun. 16, 2025 (science brief, section 3). Every number carries the figure it belongs to,
the section of the main text that states it, the line of our text extraction
(``/work/shared/seeds/000_3c5a8938328da44e.txt``) and the exact quote, so it can be checked.
The text extraction has no page markers, so no page numbers are given (figure + section instead).

Conventions (the same column names as ``surfchem photons batch``): ``on_fraction`` is a fraction
(0..1) of 10 ms bins above 50 % of the maximum intensity (the paper's threshold); ``mandel_q``
Mandel Q of the binned counts; ``k_on``/``k_off`` power-law exponents of the ON/OFF durations;
``g2_0`` background-corrected g2(0); ``duration_s`` the measurement length. ``qualifier`` is
``">"`` when the paper gives only a lower bound. ``primary`` = 1 marks the row that represents the
ligand when one value per ligand is needed (the longest plain measurement; see
:func:`surfchem.link.experiments.aggregate`).

``python -m surfchem.link.paper FILE`` writes the table as CSV (``analysis/on_fractions.csv`` is
this table; users append their own rows there).
"""

from __future__ import annotations

import math
import sys

import pandas as pd

NAN = math.nan

#: columns of an experiments table, in order (extra user columns are kept)
COLUMNS = [
    "ligand", "smiles", "material", "condition", "stacking", "on_fraction", "qualifier",
    "mandel_q", "k_on", "k_off", "g2_0", "duration_s", "n_dots", "size_nm", "bin_s", "threshold",
    "primary", "source", "figure", "section", "source_line", "quote", "note",
]

#: the paper's DDA: didodecyldimethylammonium, the cation of DDABr (quaternary, two C12 tails;
#: science brief, section 1). Before issue 13 this row carried dodecylammonium, which was wrong.
_DDA = "C[N+](C)(CCCCCCCCCCCC)CCCCCCCCCCCC"
_PEA = "[NH3+]CCc1ccccc1"
_IPA = "CC(C)[NH3+]"
_S1 = "Blinking behaviors of single CsPbBr3/I3 quantum dots"
_S2 = "Effect of ligand tail pi-pi stacking on quantum dot blinking"
_S3 = "Photostability of quantum dots covered by stacking ligands"
_S4 = "Photoluminescence performance of CsPbBr3/I3 quantum dots"


def _row(**kw) -> dict:
    base = {c: NAN for c in COLUMNS}
    base.update(qualifier="", bin_s=0.01, threshold=0.5, primary=0, source="paper", note="",
                smiles="", stacking="")
    base.update(kw)
    return base


PAPER_ROWS: list[dict] = [
    _row(ligand="DDA", smiles=_DDA, material="CsPbBr3", condition="DDA, colloidal exchange, in polystyrene; 300 s trace",
         stacking="no", on_fraction=0.165, duration_s=300, n_dots=1, size_nm=4.5, primary=1,
         figure="Fig. 2c", section=_S1, source_line=75,
         quote="For measurements with a duration of 300 and 60 s, the DDA-covered QD exhibits a 16.5 and 55.4% ON time fraction",
         note="photodarkens after ~120 s; the 300 s value includes the darkening"),
    _row(ligand="DDA", smiles=_DDA, material="CsPbBr3", condition="DDA, colloidal exchange, in polystyrene; 60 s window",
         stacking="no", on_fraction=0.554, mandel_q=7.3, duration_s=60, n_dots=1, size_nm=4.5,
         figure="Fig. 2c,d", section=_S1, source_line=84,
         quote="DDA-covered QDs exhibited a broad and asymmetric PL intensity distribution histogram with a Q parameter of 7.3",
         note="ON fraction: line 75 (same dot as the 300 s row); Q from the 1 min window of Fig. 2d"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbBr3", condition="PEA stacked (solution-engineering exchange); 10 min trace",
         stacking="yes", on_fraction=0.942, duration_s=600, n_dots=1, size_nm=4.5, primary=1,
         figure="Fig. 2a", section=_S1, source_line=75,
         quote="the QD exhibited an ON time fraction of 94.2% over 10 min and 98.6% over 60 s"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbBr3", condition="PEA stacked; 60 s window",
         stacking="yes", on_fraction=0.986, mandel_q=0.3, g2_0=0.013, duration_s=60, n_dots=1, size_nm=4.5,
         figure="Fig. 2b,h", section=_S1, source_line=84,
         quote="In stark contrast, the PEA-covered QD exhibited a narrow PL intensity distribution with a Q parameter of 0.3",
         note="ON fraction: line 75; g2(0) = 0.013 of the QD in Fig. 2b (Fig. 2h, line 86)"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbBr3", condition="PEA stacked; ON/OFF durations, 10 h single dot + 60 dots (60-300 s)",
         stacking="yes", k_on=2.0, k_off=1.2, duration_s=36000, n_dots=60, size_nm=5.5,
         figure="Fig. 2i,j", section=_S1, source_line=90,
         quote="Our QDs showed an average k_{ON} of 2.0 and k_{OFF} value of 1.2",
         note="typical QDs: k_ON ~ k_OFF ~ 1.5 (ref. 53)"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbBr3", condition="PEA stacked; > 12 h continuous operation",
         stacking="yes", on_fraction=0.98, duration_s=43200, n_dots=1,
         figure="Fig. 4g,h", section=_S3, source_line=106,
         quote="the PEA-covered QD remained nearly non-blinking with a 98% ON time fraction beyond 12 hours of continuous operation"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbBr3", condition="PEA stacked; oversaturated excitation <N> = 2.0, 15 min",
         stacking="yes", on_fraction=0.90, qualifier=">", duration_s=900, n_dots=1,
         figure="Supplementary Fig. 25", section=_S3, source_line=110,
         quote="CsPbBr₃ QD maintains $> 90\\%$ ON time fraction over 15 min under oversaturated excitation densities"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbBr3", condition="PEA stacked; four dots of different sizes",
         stacking="yes", on_fraction=0.94, qualifier=">", n_dots=4,
         figure="Fig. 5a-d", section=_S4, source_line=116,
         quote="All QDs are nearly blinking-free with $>94\\%$ ON time fractions",
         note="the same sentence covers two CsPbI3 dots (Fig. 5e,f)"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbBr3", condition="PEA stacked; weakly confined 9 nm dot, 30 min",
         stacking="yes", on_fraction=0.941, duration_s=1800, n_dots=1, size_nm=9.0,
         figure="Supplementary Fig. 30", section=_S4, source_line=116,
         quote="a single CsPbBr₃ QD with the size of 9 nm was nearly blinking-free and maintained a 94.1% ON time fraction over 30 minutes"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbBr3", condition="PEA stacked; average of 81 dots",
         stacking="yes", g2_0=0.054, n_dots=81,
         figure="Supplementary Fig. 31", section=_S4, source_line=118,
         quote="low average $g^{(2)}(0)$ value of 0.054"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbBr3", condition="PEA without tail stacking (previous study, ref. 42); moderate excitation",
         stacking="no", on_fraction=0.78, mandel_q=8.9,
         figure="Supplementary Fig. 20 (ref. 42)", section=_S2, source_line=94,
         quote="exhibited a 78% ON time fraction (using the ON/OFF threshold in this work) under moderate excitation",
         note="same ligand as the stacked rows, prepared without the stacking protocol; Q = 8.9 in the next sentence"),
    _row(ligand="IPA", smiles=_IPA, material="CsPbBr3", condition="IPA, solution-engineering exchange (no pi-pi stacking); mean of 67 dots",
         stacking="no", on_fraction=0.83, n_dots=67, primary=1,
         figure="Supplementary Fig. 18", section=_S2, source_line=94,
         quote="average ON time fraction of 83% (extracted from measurements of 67 IPA-covered QDs"),
    _row(ligand="PEA", smiles=_PEA, material="CsPbI3", condition="PEAI, solution-engineering exchange; 10 min trace",
         stacking="yes", on_fraction=0.949, mandel_q=0.6, duration_s=600, n_dots=1, size_nm=7.0, primary=1,
         figure="Fig. 2e,f", section=_S1, source_line=84,
         quote="The resulting QD exhibits a 94.9% ON time fraction with a Q parameter as small as 0.6",
         note="Q from the 1 min window of Fig. 2f"),
    _row(ligand="PEA+NBA", smiles="", material="CsPbBr3", condition="PEA + NBA 3:1 (mass), stacking disturbed",
         stacking="disturbed", n_dots=1, size_nm=4.3, primary=1,
         figure="Fig. 3b", section=_S2, source_line=100,
         quote="start to blink when NBA interferes with the PEA stacking",
         note="blinks (Fig. 3b, Supplementary Fig. 21); no ON fraction given; a ligand mixture has no single SMILES"),
]


def paper_table() -> pd.DataFrame:
    """The paper's single-dot statistics per ligand and condition (Mi et al., Nat. Commun. 2025).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``ligand``, ``material``, ``on_fraction`` (0..1, 10 ms bins,
        threshold 50 % of the maximum), ``mandel_q``, ``k_on``, ``k_off``, ``g2_0``, ``duration_s``
        (s), number of dots, ``primary``, and the figure, section and exact quote of each number
        (also ``analysis/on_fractions.csv``).
    """
    return pd.DataFrame(PAPER_ROWS, columns=COLUMNS)


def main(argv: list[str] | None = None) -> int:
    """Write :func:`paper_table` as CSV.

    Parameters
    ----------
    argv : list of str, optional
        ``[path]``: the CSV file; without it the table goes to stdout.

    Returns
    -------
    int
        Exit status 0.
    """
    argv = sys.argv[1:] if argv is None else argv
    table = paper_table()
    if argv:
        table.to_csv(argv[0], index=False)
    else:
        table.to_csv(sys.stdout, index=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
