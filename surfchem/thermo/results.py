"""Read a screen/campaign output directory for the free-energy layer (read-only).

``DIR/results.csv`` (one row per relaxed slab), ``DIR/references.json`` (g_bulk, mu_AX, mu_LX per
ligand, calculator, a0), relaxed structures from ``DIR/results.db`` (by ``task_hash``, every row,
ion pairs too) or ``DIR/structures/{ligand}_n{k}.extxyz`` (the lowest one per (ligand, n)): the
directory format of :mod:`surfchem.core.screendir`, which reads them. Nothing is written into
``DIR``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms

from surfchem.build.bulk import get_material
from surfchem.core.screendir import REFERENCES_JSON, RESULTS_CSV, ScreenDir
from surfchem.errors import FileFormatError, InputError
from surfchem.thermo import References
from surfchem.thermo.anchors import Anchor, anchor_from_dict
from surfchem.thermo.models import Memo, ThermoSettings, thermo_summary, thermo_table


@dataclass
class ScreenData:
    """Records, references and structure look-ups of one screen directory.

    Parameters
    ----------
    path : Path
        The screen directory.
    records : pandas.DataFrame
        ``results.csv`` rows with a finite ``energy_eV`` (eV), ``ligand`` "" for the bare slab,
        and ``n_A``, ``n_B`` (AX and B atoms of each slab).
    refs : surfchem.thermo.References
        From ``references.json``.
    anchors : dict of str to surfchem.thermo.anchors.Anchor
        From ``anchors.json`` (empty when the screen has no anchors).
    """

    path: Path
    records: pd.DataFrame
    refs: References
    anchors: dict[str, Anchor] = field(default_factory=dict)

    @property
    def directory(self) -> ScreenDir:
        """The directory's files (:class:`surfchem.core.screendir.ScreenDir`)."""
        return ScreenDir(self.path)

    @property
    def has_structures(self) -> bool:
        """True if relaxed structures can be read (results.db or structures/*.extxyz)."""
        return self.directory.has_structures

    def structure(self, row: pd.Series) -> Atoms | None:
        """Relaxed slab of a results row (db by task_hash, else the lowest extxyz if it matches).

        Parameters
        ----------
        row : pandas.Series
            A row of the screen's results table.

        Returns
        -------
        ase.Atoms or None
            None when the screen holds no structure for the row.
        """
        return self.directory.structure_of_row(row, self.records)

    def free_reference(self, ligand: str) -> Atoms | None:
        """The relaxed L+ X- ion pair of ``ligand`` stored by the screen.

        Parameters
        ----------
        ligand : str
            Ligand name.

        Returns
        -------
        ase.Atoms or None
            None when the screen used a user chemical potential (no ion pair relaxed).
        """
        return self.directory.db_ion_pair(ligand)


def _references(refd: dict, source: Path) -> References:
    """:class:`References` from the dict of ``references.json`` (energies in eV, a0 in Å)."""
    try:
        return References(
            material=refd.get("material", "CsPbBr3"), g_bulk_eV=float(refd["g_bulk_eV"]),
            mu_AX_eV=float(refd["mu_AX_eV"]), mu_LX_eV={k: float(v) for k, v in refd["mu_LX_eV"].items()},
            mu_LX_kind=dict(refd.get("mu_LX_kind", {})), a0_A=refd.get("a0_A"),
            calculator=refd.get("calculator", ""),
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise FileFormatError(f"{source}: not a screen references file ({exc}); it needs g_bulk_eV, "
                              "mu_AX_eV and mu_LX_eV (eV)") from None


def load_screen(path: str | Path) -> ScreenData:
    """Read ``results.csv`` + ``references.json`` of a screen directory.

    Parameters
    ----------
    path : str or Path
        A finished screen or campaign output directory.

    Returns
    -------
    ScreenData
        The last stage's rows (a funnel's ``references.json`` is the last stage's, so earlier
        stages' energies would mix two calculators); rows without a finite energy (failed tasks)
        dropped.

    Raises
    ------
    surfchem.errors.InputError
        ``path`` is not a directory or lacks ``results.csv`` or ``references.json``.
    surfchem.errors.FileFormatError
        ``references.json`` lacks the references.
    """
    sd = ScreenDir(path).require(RESULTS_CSV, REFERENCES_JSON)
    refs = _references(sd.read_references(), sd.references_json)
    df = sd.read_results()
    if "stage" in df and df["stage"].nunique() > 1:  # a funnel: references.json (and the anchors)
        df = df[df["stage"] == df["stage"].max()].reset_index(drop=True)  # are the last stage's
    df["ligand"] = df["ligand"].fillna("").astype(str)
    mat = get_material(refs.material)
    if "n_A" not in df or "n_B" not in df:
        from ase.symbols import string2symbols

        syms = [string2symbols(f) if isinstance(f, str) else [] for f in df["formula"]]
        df["n_A"] = [s.count(mat.a) for s in syms]
        df["n_B"] = [s.count(mat.b) for s in syms]
    df = df[np.isfinite(df["energy_eV"].astype(float))].reset_index(drop=True)
    anchors = {a.ligand: a for a in map(anchor_from_dict, sd.read_anchors())}
    return ScreenData(sd.path, df, refs, anchors)


def thermo_for_screen(path: str | Path, settings=None, out: str | Path | None = None,
                      ligands: list[str] | None = None):
    """Apply an entropy model to a finished screen directory.

    Parameters
    ----------
    path : str or Path
        Screen or campaign output directory (``results.csv``, ``references.json``, and
        ``results.db`` or ``structures/``); read only.
    settings : surfchem.thermo.models.ThermoSettings or dict, optional
        The model, or a plain dict of its fields, e.g. ``{"model": "qrrho+rotor", "T_K": 298.15}``
        (T in K). Default: the rotor model at 298.15 K.
    out : str or Path, optional
        Directory for ``thermo_<model>_<T>K.csv`` and ``..._summary.csv``.
    ligands : list of str, optional
        Subset of the screen's ligands (default all).

    Returns
    -------
    table : pandas.DataFrame
        Every row with ``TS_conf_eV``, ``F_vib_eV``, ``G_eV``, ``gamma_J_m2``, ``dG_eV`` (eV, J/m²).
    summary : pandas.DataFrame
        The lowest row per (ligand, N).
    """
    if settings is None:
        settings = ThermoSettings()
    elif isinstance(settings, dict):
        unknown = sorted(set(settings) - set(ThermoSettings.__dataclass_fields__))
        if unknown:
            raise InputError(f"unknown thermo settings {unknown}; known: {sorted(ThermoSettings.__dataclass_fields__)}")
        settings = ThermoSettings(**settings)
    data = load_screen(path)
    if ligands:
        data.records = data.records[data.records["ligand"].isin([*ligands, ""])].reset_index(drop=True)
    table = thermo_table(data.records, data.refs, settings,
                         structure=data.structure if data.has_structures else None,
                         free_reference=data.free_reference, memo=Memo())
    summ = thermo_summary(table)
    if out is not None:
        o = Path(out)
        o.mkdir(parents=True, exist_ok=True)
        stem = f"thermo_{settings.model.replace('+', '-')}_{settings.T_K:g}K"
        table.to_csv(o / f"{stem}.csv", index=False)
        summ.to_csv(o / f"{stem}_summary.csv", index=False)
    return table, summ
