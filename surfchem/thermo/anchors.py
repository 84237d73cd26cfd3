"""Per-ligand DFT anchors: the composite scheme "DFT for single binding, ML for the coverage trend".

The ML potential's error on the Cs+ -> ligand exchange is large (about 1 eV against GPAW PBE+D3,
``analysis/validation/here``) but, if it is the same for every ligand of one kind on the surface,
it is a property of the ligand, not of the coverage. An anchor measures it once per ligand on a
small exchange reaction (one ligand on a small slab against the L+ Br- ion pair and bulk CsBr, all
on the ML geometries)::

    delta_L = E_exch(DFT) - E_exch(ML)                                   (eV)

and the composite scheme moves the ligand's chemical potential by it::

    mu_LBr(anchored) = mu_LBr(ML) - delta_L

so every dG(N) of that ligand moves by +delta_L and gamma(N) by N delta_L / (2 A): single binding
is on the DFT scale, the coverage dependence (lateral interactions, crowding) stays ML. This is the
same additive correction as a composite (ONIOM-like) scheme or a per-species fitted correction
(e.g. the Materials Project's anion corrections, Jain et al., Phys. Rev. B 84, 045115 (2011)),
measured here per ligand instead of fitted.

Assumptions (each measured or not, in ``docs/anchors.md``): the ML error is additive and
independent of coverage and slab size; the anchor's geometry (ML) is close to the DFT one; the
DFT level itself (LCAO basis, BSSE) errs by less than the correction.

The anchors of a screen are written to ``anchors.json`` (:data:`surfchem.core.screendir.ANCHORS_JSON`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import pandas as pd

from surfchem.core.units import EV_PER_A2_IN_J_PER_M2
from surfchem.errors import FileFormatError, InputError
from surfchem.thermo import References, n_min


@dataclass(frozen=True)
class Anchor:
    """One ligand's anchor: the DFT - ML difference of its exchange energy on a small slab.

    Attributes
    ----------
    ligand : str
        Ligand name.
    smiles : str
        Canonical SMILES of the cation.
    exchange_ml_eV : float
        E_exch with the ML calculator, eV.
    exchange_dft_eV : float
        E_exch with the DFT calculator on the same geometries, eV.
    ml : str
        ML preset (the screen's calculator).
    dft : str
        DFT preset.
    system : str
        The anchor's slab (``"1x1x3+rb"``: in-plane size x layers; ``+rb``: against the relaxed bare slab).
    n_atoms : int
        Atoms of the decorated anchor slab.
    key : str
        Content hash of the anchor calculation (structures, both calculators' parameters).
    """

    ligand: str
    smiles: str
    exchange_ml_eV: float
    exchange_dft_eV: float
    ml: str
    dft: str
    system: str
    n_atoms: int
    key: str = ""

    @property
    def delta_eV(self) -> float:
        """delta_L = E_exch(DFT) - E_exch(ML), eV."""
        return self.exchange_dft_eV - self.exchange_ml_eV

    @property
    def label(self) -> str:
        """Which anchor this is, for tables: ``"gpaw-pbe-d3-lcao - chgnet-d3 @ 1x1x3"``."""
        return f"{self.dft} - {self.ml} @ {self.system}"

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON), with ``delta_eV`` and ``label``."""
        return {**asdict(self), "delta_eV": self.delta_eV, "label": self.label}


def anchor_from_dict(d: Mapping[str, Any]) -> Anchor:
    """An :class:`Anchor` from :meth:`Anchor.as_dict` output (``delta_eV`` and ``label`` are derived).

    Parameters
    ----------
    d : mapping
        One record of ``anchors.json`` (energies in eV).

    Returns
    -------
    Anchor

    Raises
    ------
    surfchem.errors.FileFormatError
        A field is missing or not a number where one is needed.
    """
    try:
        return Anchor(ligand=str(d["ligand"]), smiles=str(d["smiles"]),
                      exchange_ml_eV=float(d["exchange_ml_eV"]), exchange_dft_eV=float(d["exchange_dft_eV"]),
                      ml=str(d["ml"]), dft=str(d["dft"]), system=str(d["system"]), n_atoms=int(d["n_atoms"]),
                      key=str(d.get("key", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise FileFormatError(f"not an anchor record ({exc!r}); it needs ligand, smiles, exchange_ml_eV, "
                              "exchange_dft_eV (eV), ml, dft, system, n_atoms") from None


def anchored(refs: References, anchors: Mapping[str, Anchor]) -> References:
    """The references with each ligand's mu_LBr moved by its anchor: mu' = mu - delta_L.

    Parameters
    ----------
    refs : References
        Plain (ML) references, every ligand's ``mu_LX_eV`` in eV.
    anchors : mapping of str to Anchor
        One anchor per ligand of ``refs`` (by ligand name).

    Returns
    -------
    References
        A copy with ``mu_LX_eV`` moved, ``anchor_eV`` (delta_L per ligand, eV) and ``anchor``
        (the anchor's label per ligand) set. With it, :func:`surfchem.thermo.coverage_table` gives
        dG(N) + delta_L and gamma(N) + N delta_L / (2 A).

    Raises
    ------
    surfchem.errors.InputError
        A ligand of ``refs`` has no anchor, or an anchor's ML calculator is not the references' one.

    Examples
    --------
    >>> from surfchem.thermo import References
    >>> refs = References("CsPbBr3", -18.70, -6.99, {"PEA": -120.0}, {"PEA": "ion_pair"},
    ...                   calculator="chgnet-d3")
    >>> a = Anchor("PEA", "NCCc1ccccc1", -2.38, -3.67, "chgnet-d3", "gpaw-pbe-d3-lcao", "1x1x3", 27)
    >>> round(anchored(refs, {"PEA": a}).mu_LX_eV["PEA"], 2)
    -118.71
    """
    missing = sorted(set(refs.mu_LX_eV) - set(anchors))
    if missing:
        raise InputError(f"no anchor for ligands {missing}; anchors exist for {sorted(anchors)} "
                         "(run the screen with --anchor DFT, or drop the anchored view)")
    for lig in refs.mu_LX_eV:
        a = anchors[lig]
        if refs.calculator and a.ml != refs.calculator:
            raise InputError(f"the anchor of {lig} corrects {a.ml}, but the screen ran {refs.calculator}: "
                             "an anchor only applies to its own ML calculator")
    return replace(
        refs,
        mu_LX_eV={lig: mu - anchors[lig].delta_eV for lig, mu in refs.mu_LX_eV.items()},
        anchor_eV={lig: anchors[lig].delta_eV for lig in refs.mu_LX_eV},
        anchor={lig: anchors[lig].label for lig in refs.mu_LX_eV},
    )


#: columns :func:`anchored_columns` adds (eV, J/m², meV/Å², and the anchor's label)
ANCHORED_COLUMNS = ("anchor_eV", "dG_anchored_eV", "gamma_anchored_J_m2", "gamma_anchored_meV_A2", "anchor")


def anchored_columns(table: pd.DataFrame, anchors: Mapping[str, Anchor]) -> pd.DataFrame:
    """A coverage table with the anchored view beside the plain one.

    With mu_LBr moved by -delta_L (:func:`anchored`), the definitions of
    :mod:`surfchem.thermo` give exactly::

        dG_anchored(N)    = dG(N) + delta_L
        gamma_anchored(N) = gamma(N) + N delta_L / (2 A)

    (G and which row is the minimum do not change.)

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`surfchem.thermo.coverage_table` (``ligand``, ``n``, ``area_A2`` in Å²,
        ``gamma_eV_A2``, ``dG_eV``).
    anchors : mapping of str to Anchor
        Per ligand; ligands without one get NaN (and an empty label).

    Returns
    -------
    pandas.DataFrame
        A copy with :data:`ANCHORED_COLUMNS`.
    """
    df = table.copy()
    delta = df["ligand"].map({k: a.delta_eV for k, a in anchors.items()}).astype(float)
    df["anchor_eV"] = delta
    df["dG_anchored_eV"] = df["dG_eV"] + delta
    gamma = df["gamma_eV_A2"] + df["n"] * delta / (2.0 * df["area_A2"])
    df["gamma_anchored_J_m2"] = gamma * EV_PER_A2_IN_J_PER_M2
    df["gamma_anchored_meV_A2"] = gamma * 1e3
    df["anchor"] = df["ligand"].map({k: a.label for k, a in anchors.items()}).fillna("")
    return df


def anchored_summary(summary_table: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`surfchem.thermo.summary` with the anchored columns of its minima.

    Parameters
    ----------
    summary_table : pandas.DataFrame
        Per (ligand, n) summary.
    table : pandas.DataFrame
        The coverage table it summarises, after :func:`anchored_columns`.

    Returns
    -------
    pandas.DataFrame
        ``summary_table`` plus :data:`ANCHORED_COLUMNS` (from each ``is_min`` row).
    """
    best = table[table["is_min"]].drop_duplicates(["ligand", "n"])[["ligand", "n", *ANCHORED_COLUMNS]]
    keep = [c for c in summary_table.columns if c not in ANCHORED_COLUMNS]
    return summary_table[keep].merge(best, on=["ligand", "n"], how="left")


def anchored_n_min(summary_table: pd.DataFrame, n_values=None) -> dict[str, int | None]:
    """N at the minimum of the anchored gamma(N), per ligand (:func:`surfchem.thermo.n_min`).

    Parameters
    ----------
    summary_table : pandas.DataFrame
        An :func:`anchored_summary`.
    n_values : iterable of int, optional
        The requested coverages (an incomplete range gives ``None``).

    Returns
    -------
    dict of str to int or None
    """
    s = summary_table.copy()
    s["gamma_J_m2"] = s["gamma_anchored_J_m2"]
    return n_min(s, n_values)
