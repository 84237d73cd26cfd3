"""The screen output directory: its files are named, written and read here and nowhere else.

A ``surfchem screen`` or ``surfchem campaign run`` writes into its output directory ``OUT``:

* ``results.csv`` (:data:`RESULTS_CSV`): one row per relaxed structure, all stages, the columns
  of :data:`RESULTS_COLUMNS` that the table has, in that order;
* ``summary.csv`` (:data:`SUMMARY_CSV`): the lowest row per (ligand, N) of every stage;
* ``stages.csv`` (:data:`STAGES_CSV`): how each stage ranked the arrangements (funnels only);
* ``references.json`` (:data:`REFERENCES_JSON`): the references of the last stage (``material``,
  ``g_bulk_eV``, ``mu_AX_eV``, ``mu_LX_eV`` per ligand, ``calculator``, ``a0_A``, ...) and the
  run (``n_min``, ``complete``, ``missing``, ``stages``, ``wall_s``, ``counts``, ``failures``);
* ``structures/`` (:data:`STRUCTURES_DIR`): the lowest relaxed slab per (ligand, N) of the last
  stage as ``{ligand}_n{N}.extxyz`` (:func:`slab_structure_name`), the relaxed free ion pair as
  ``{ligand}_ion_pair.extxyz`` (:func:`ion_pair_structure_name`) and the bare slab as
  ``bare_n0.extxyz`` (:data:`BARE_STRUCTURE`);
* ``anchors.json`` (:data:`ANCHORS_JSON`): with ``--anchor``/``[anchor]``, the per-ligand DFT
  anchors (a JSON list of :meth:`surfchem.thermo.anchors.Anchor.as_dict`); results and summary
  then carry the anchored columns ``anchor_eV``, ``dG_anchored_eV``, ``gamma_anchored_J_m2``,
  ``gamma_anchored_meV_A2`` and ``anchor`` beside the plain ones;
* ``results.db`` (:data:`DATABASE`): the task database (:class:`surfchem.core.store.ResultStore`),
  every relaxed structure by task hash, ion pairs too (``kind="ion_pair"``).

``surfchem thermo RESULTS --out DIR`` writes ``thermo.csv`` (:data:`THERMO_CSV`) and
``thermo_summary.csv`` (:data:`THERMO_SUMMARY_CSV`) into ``DIR``: the same rows with the entropy
model's free energies. :class:`ScreenDir` reads and writes all of these; reading never writes into
the directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from ase import Atoms

from surfchem.core.hashing import key_forms
from surfchem.core.store import row_atoms
from surfchem.errors import FileFormatError, InputError

RESULTS_CSV = "results.csv"
SUMMARY_CSV = "summary.csv"
STAGES_CSV = "stages.csv"
REFERENCES_JSON = "references.json"
STRUCTURES_DIR = "structures"
DATABASE = "results.db"
THERMO_CSV = "thermo.csv"
ANCHORS_JSON = "anchors.json"
THERMO_SUMMARY_CSV = "thermo_summary.csv"
#: file name of the bare slab in ``structures/``
BARE_STRUCTURE = "bare_n0.extxyz"

#: columns of :func:`surfchem.build.sterics.steric_descriptors`, in order (re-exported there)
STERIC_COLUMNS = ("chains_top_nm2", "chains_bottom_nm2", "tail_hh_min_A", "tail_cc_min_A",
                  "tail_tilt_deg", "flag_overpacked")

#: columns of ``results.csv``, in order (a table writes those it has)
RESULTS_COLUMNS = (
    "stage", "ligand", "smiles", "n", "arrangement", "sites", "multiplicity", "build", "energy_eV",
    "G_corr_eV", "G_eV", "gamma_J_m2", "gamma_meV_A2", "dG_eV",
    "anchor_eV", "dG_anchored_eV", "gamma_anchored_J_m2", "gamma_anchored_meV_A2", "anchor",
    "is_min", "converged",
    "n_starts", "n_distinct", "energy_spread_eV", "gap_eV", "gamma_err_J_m2", "dG_err_eV",
    "face_eq_violation_eV", "grow_direct_diff_eV", "flags",
    "flag_bonds", "flag_clash", "flag_head_off_site", "flag_pb_coordination", "flag_vacuum", "flag_face_eq",
    "flag_grow_vs_direct", "flag_single_start", *STERIC_COLUMNS, "valid", "invalid_reason", "n_rejected", "rejected",
    "fmax_eV_A", "n_steps", "n_rounds", "wall_s", "calculator", "mode", "formula", "n_atoms", "area_A2",
    "task_hash", "status", "error",
)

#: column types fixed on reading: a task hash or a ligand name is never a number
_DTYPES = {"task_hash": str, "ligand": str}
#: which run writes each file (for the error that a file is missing)
_WRITTEN_BY = {THERMO_CSV: "`surfchem thermo RESULTS --out DIR`",
               THERMO_SUMMARY_CSV: "`surfchem thermo RESULTS --out DIR`"}
_SCREEN_RUN = "a finished `surfchem screen` or `surfchem campaign run`"
#: the tables :meth:`ScreenDir.read_tables` can read
TABLE_CHOICES = ("auto", "results", "thermo")


def results_columns(columns) -> list[str]:
    """The columns of ``results.csv`` among ``columns``, in the order of :data:`RESULTS_COLUMNS`.

    Parameters
    ----------
    columns : iterable of str
        Column names of a results table (e.g. ``table.columns``).

    Returns
    -------
    list of str
        Those of :data:`RESULTS_COLUMNS` present; any others are not written.
    """
    have = set(columns)
    return [c for c in RESULTS_COLUMNS if c in have]


def slab_structure_name(ligand: str, n: int) -> str:
    """File name of the lowest slab of (``ligand``, ``n``) in ``structures/``: ``{ligand}_n{n}.extxyz``.

    Parameters
    ----------
    ligand : str
        Ligand name as in ``results.csv``.
    n : int
        Number of ligands on the slab.

    Returns
    -------
    str
    """
    return f"{ligand}_n{int(n)}.extxyz"


def ion_pair_structure_name(ligand: str) -> str:
    """File name of the relaxed free ion pair of ``ligand`` in ``structures/``: ``{ligand}_ion_pair.extxyz``.

    Parameters
    ----------
    ligand : str
        Ligand name as in ``results.csv``.

    Returns
    -------
    str
    """
    return f"{ligand}_ion_pair.extxyz"


class ScreenTables(NamedTuple):
    """The tables of a screen directory as read by :meth:`ScreenDir.read_tables`.

    Attributes
    ----------
    table : pandas.DataFrame
        Every row (``results.csv`` or ``thermo.csv``).
    summary : pandas.DataFrame or None
        The lowest row per (ligand, N) (``summary.csv`` or ``thermo_summary.csv``), None if
        absent.
    references : dict
        ``references.json`` ({} if absent).
    source : str
        File name of ``table`` (``"results.csv"`` or ``"thermo.csv"``).
    """

    table: pd.DataFrame
    summary: pd.DataFrame | None
    references: dict[str, Any]
    source: str


@dataclass(frozen=True)
class ScreenDir:
    """A screen or campaign output directory (module docstring): its files, written and read.

    Parameters
    ----------
    path : str or Path
        The directory. Writing creates it; reading never writes into it.

    Examples
    --------
    Read the main job's screen (CHGNet+D3, C6A and PEA at N = 0..8):

    >>> from surfchem.core.screendir import ScreenDir
    >>> sd = ScreenDir("analysis/fig1_main_job").require("results.csv", "references.json")
    >>> table = sd.read_results()                     # energies in eV, gamma in J/m^2
    >>> sd.read_references()["calculator"]
    'chgnet-d3'
    >>> slab = sd.read_structure("PEA", 8)           # structures/PEA_n8.extxyz
    >>> low = sd.structure_of_row(table[table["is_min"] & (table["ligand"] == "PEA")
    ...                                 & (table["n"] == 8)].iloc[0], table)
    >>> len(low) == len(slab)
    True

    Write one (a campaign writes its tables, references and lowest structures so) and read it back:

    >>> import tempfile
    >>> out = ScreenDir(tempfile.mkdtemp())
    >>> out.write_results(table).name
    'results.csv'
    >>> out.write_structure(slab, "PEA", 8).relative_to(out.path).as_posix()
    'structures/PEA_n8.extxyz'
    >>> out.read_results().equals(table)
    True
    """

    path: Path

    def __init__(self, path: str | Path):
        object.__setattr__(self, "path", Path(path))

    # -- file names -------------------------------------------------------------------------
    @property
    def results_csv(self) -> Path:
        """``results.csv``: every relaxed structure."""
        return self.path / RESULTS_CSV

    @property
    def summary_csv(self) -> Path:
        """``summary.csv``: the lowest row per (ligand, N)."""
        return self.path / SUMMARY_CSV

    @property
    def stages_csv(self) -> Path:
        """``stages.csv``: the rankings per stage of a funnel."""
        return self.path / STAGES_CSV

    @property
    def references_json(self) -> Path:
        """``references.json``: references and run metadata."""
        return self.path / REFERENCES_JSON

    @property
    def structures_dir(self) -> Path:
        """``structures/``: the lowest structures as extended XYZ."""
        return self.path / STRUCTURES_DIR

    @property
    def database(self) -> Path:
        """``results.db``: the task database (SQLite) of a screen run with the default database."""
        return self.path / DATABASE

    @property
    def thermo_csv(self) -> Path:
        """``thermo.csv``: every row with the entropy model (``surfchem thermo --out``)."""
        return self.path / THERMO_CSV

    @property
    def thermo_summary_csv(self) -> Path:
        """``thermo_summary.csv``: the lowest row per (ligand, N) with the entropy model."""
        return self.path / THERMO_SUMMARY_CSV

    def structure_path(self, ligand: str, n: int) -> Path:
        """``structures/{ligand}_n{n}.extxyz`` (the lowest slab of (ligand, n)); may not exist."""
        return self.structures_dir / slab_structure_name(ligand, n)

    def ion_pair_path(self, ligand: str) -> Path:
        """``structures/{ligand}_ion_pair.extxyz``; may not exist."""
        return self.structures_dir / ion_pair_structure_name(ligand)

    @property
    def has_structures(self) -> bool:
        """True if relaxed structures can be read (``results.db`` or ``structures/*.extxyz``)."""
        sdir = self.structures_dir
        return self.database.exists() or (sdir.is_dir() and any(sdir.glob("*.extxyz")))

    # -- checks -----------------------------------------------------------------------------
    def require(self, *names: str) -> ScreenDir:
        """Check that the directory exists and holds the files ``names``.

        Parameters
        ----------
        *names : str
            File names inside the directory, e.g. :data:`RESULTS_CSV`, :data:`REFERENCES_JSON`.

        Returns
        -------
        ScreenDir
            ``self``, for chaining.

        Raises
        ------
        surfchem.errors.InputError
            The directory does not exist, is a file, or lacks one of ``names``; the message names
            the directory, the missing files, what it holds and which run writes them.
        """
        p = self.path
        if not p.exists():
            raise InputError(f"results directory {str(p)!r} does not exist; give the output directory "
                             f"(OUT) of {_SCREEN_RUN}, holding {RESULTS_CSV}")
        if not p.is_dir():
            raise InputError(f"results {str(p)!r} is a file, not a directory; give the output directory "
                             f"(OUT) of {_SCREEN_RUN}, holding {RESULTS_CSV}")
        missing = [n for n in names if not (p / n).is_file()]
        if missing:
            have = sorted(q.name for q in p.iterdir())
            hint = f" ({DATABASE} is there: the screen may still be running)" if DATABASE in have else ""
            writers = "; ".join(f"{m} is written by {_WRITTEN_BY.get(m, _SCREEN_RUN)}" for m in missing)
            raise InputError(f"{str(p)!r} has no {' or '.join(missing)}{hint}; it holds {have[:12]}. "
                             f"{writers}: give the directory it wrote")
        return self

    # -- writing ----------------------------------------------------------------------------
    def _mkdir(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def write_results(self, table: pd.DataFrame) -> Path:
        """Write ``results.csv``: the columns of :data:`RESULTS_COLUMNS` that ``table`` has, in order.

        Parameters
        ----------
        table : pandas.DataFrame
            Every relaxed structure (energies in eV, gamma in J/m² and meV/Å²).

        Returns
        -------
        Path
            The file written.
        """
        self._mkdir()
        table[results_columns(table.columns)].to_csv(self.results_csv, index=False)
        return self.results_csv

    def write_summary(self, summary: pd.DataFrame) -> Path:
        """Write ``summary.csv`` (every column of ``summary``, as given).

        Parameters
        ----------
        summary : pandas.DataFrame
            The lowest row per (ligand, N).

        Returns
        -------
        Path
        """
        self._mkdir()
        summary.to_csv(self.summary_csv, index=False)
        return self.summary_csv

    def write_stages(self, rankings: pd.DataFrame) -> Path:
        """Write ``stages.csv`` (:func:`surfchem.trust.diagnostics.stage_rankings` of a funnel).

        Parameters
        ----------
        rankings : pandas.DataFrame

        Returns
        -------
        Path
        """
        self._mkdir()
        rankings.to_csv(self.stages_csv, index=False)
        return self.stages_csv

    def write_references(self, references: dict[str, Any]) -> Path:
        """Write ``references.json`` (indented JSON; values JSON cannot hold are written as strings).

        Parameters
        ----------
        references : dict
            References (energies in eV, ``a0_A`` in Å) and run metadata.

        Returns
        -------
        Path
        """
        self._mkdir()
        self.references_json.write_text(json.dumps(references, indent=2, default=str))
        return self.references_json

    @property
    def anchors_json(self) -> Path:
        """``anchors.json``: the per-ligand DFT anchors (with ``--anchor``)."""
        return self.path / ANCHORS_JSON

    def write_anchors(self, anchors: list[dict[str, Any]]) -> Path:
        """Write ``anchors.json``.

        Parameters
        ----------
        anchors : list of dict
            One :meth:`surfchem.thermo.anchors.Anchor.as_dict` per ligand (energies in eV).

        Returns
        -------
        Path
        """
        self._mkdir()
        self.anchors_json.write_text(json.dumps(anchors, indent=2))
        return self.anchors_json

    def read_anchors(self) -> list[dict[str, Any]]:
        """``anchors.json`` as a list of dicts (``[]`` when the screen has no anchors).

        Returns
        -------
        list of dict

        Raises
        ------
        surfchem.errors.FileFormatError
            The file is not a JSON list.
        """
        if not self.anchors_json.is_file():
            return []
        try:
            data = json.loads(self.anchors_json.read_text())
        except ValueError as exc:
            raise FileFormatError(f"{self.anchors_json}: not an anchors file ({exc})") from None
        if not isinstance(data, list):
            raise FileFormatError(f"{self.anchors_json}: not an anchors file (a JSON list of anchors)")
        return data

    def _write_atoms(self, name: str, atoms: Atoms) -> Path:
        from ase.io import write  # ase.io loads every file format (GPAW's too): only when writing

        self.structures_dir.mkdir(parents=True, exist_ok=True)
        path = self.structures_dir / name
        write(path, atoms)
        return path

    def write_structure(self, atoms: Atoms, ligand: str, n: int) -> Path:
        """Write the lowest slab of (``ligand``, ``n``) to ``structures/{ligand}_n{n}.extxyz``.

        Parameters
        ----------
        atoms : ase.Atoms
            The relaxed slab (positions in Å).
        ligand : str
        n : int

        Returns
        -------
        Path
        """
        return self._write_atoms(slab_structure_name(ligand, n), atoms)

    def write_ion_pair(self, atoms: Atoms, ligand: str) -> Path:
        """Write the relaxed free ion pair of ``ligand`` to ``structures/{ligand}_ion_pair.extxyz``.

        Parameters
        ----------
        atoms : ase.Atoms
        ligand : str

        Returns
        -------
        Path
        """
        return self._write_atoms(ion_pair_structure_name(ligand), atoms)

    def write_bare(self, atoms: Atoms) -> Path:
        """Write the bare slab to ``structures/bare_n0.extxyz``.

        Parameters
        ----------
        atoms : ase.Atoms

        Returns
        -------
        Path
        """
        return self._write_atoms(BARE_STRUCTURE, atoms)

    def write_thermo(self, table: pd.DataFrame, summary: pd.DataFrame) -> tuple[Path, Path]:
        """Write ``thermo.csv`` and ``thermo_summary.csv`` (``surfchem thermo --out``).

        Parameters
        ----------
        table : pandas.DataFrame
            Every row with the entropy model's ``G_eV``, ``gamma_J_m2``, ``dG_eV``.
        summary : pandas.DataFrame
            The lowest row per (ligand, N).

        Returns
        -------
        tuple of Path
            ``thermo.csv``, ``thermo_summary.csv``.
        """
        self._mkdir()
        table.to_csv(self.thermo_csv, index=False)
        summary.to_csv(self.thermo_summary_csv, index=False)
        return self.thermo_csv, self.thermo_summary_csv

    # -- reading tables ---------------------------------------------------------------------
    def read_results(self) -> pd.DataFrame:
        """``results.csv`` as written (``task_hash`` and ``ligand`` as strings; empty cells NaN).

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        surfchem.errors.InputError
            The directory or the file is missing.
        """
        self.require(RESULTS_CSV)
        return pd.read_csv(self.results_csv, dtype=_DTYPES)

    def read_summary(self) -> pd.DataFrame | None:
        """``summary.csv`` (``ligand`` as strings), or None if the directory has none.

        Returns
        -------
        pandas.DataFrame or None
        """
        return self._read_optional(self.summary_csv)

    def read_references(self, required: bool = True) -> dict[str, Any]:
        """``references.json`` as a dict.

        Parameters
        ----------
        required : bool, default True
            If False, a missing file gives ``{}``.

        Returns
        -------
        dict

        Raises
        ------
        surfchem.errors.InputError
            The file is missing (``required``).
        surfchem.errors.FileFormatError
            The file is not a JSON object.
        """
        if not required and not self.references_json.is_file():
            return {}
        self.require(REFERENCES_JSON)
        try:
            refs = json.loads(self.references_json.read_text())
        except ValueError as exc:
            raise FileFormatError(f"{self.references_json}: not a screen references file ({exc}); "
                                  "it should be the JSON object a screen writes") from None
        if not isinstance(refs, dict):
            raise FileFormatError(f"{self.references_json}: not a screen references file (a JSON "
                                  f"{type(refs).__name__}, not an object)")
        return refs

    def read_tables(self, table: str = "auto") -> ScreenTables:
        """The table, summary and references of a screen or ``surfchem thermo --out`` directory.

        Parameters
        ----------
        table : {"auto", "results", "thermo"}, default "auto"
            ``"results"``: ``results.csv`` + ``summary.csv``; ``"thermo"``: ``thermo.csv`` +
            ``thermo_summary.csv`` (entropy-corrected); ``"auto"``: thermo when ``thermo.csv``
            exists, else results.

        Returns
        -------
        ScreenTables
            The summary is None and the references ``{}`` when their files are absent.

        Raises
        ------
        surfchem.errors.InputError
            An unknown ``table``, or the directory or its main table is missing.
        """
        if table not in TABLE_CHOICES:
            raise InputError(f"table must be 'auto', 'results' or 'thermo', got {table!r}")
        use = table if table != "auto" else ("thermo" if self.thermo_csv.is_file() else "results")
        main, summ = ((self.thermo_csv, self.thermo_summary_csv) if use == "thermo"
                      else (self.results_csv, self.summary_csv))
        self.require(main.name)
        return ScreenTables(pd.read_csv(main, dtype=_DTYPES), self._read_optional(summ),
                            self.read_references(required=False), main.name)

    @staticmethod
    def _read_optional(path: Path) -> pd.DataFrame | None:
        return pd.read_csv(path, dtype={"ligand": str}) if path.is_file() else None

    # -- reading structures -----------------------------------------------------------------
    def read_structure(self, ligand: str, n: int) -> Atoms | None:
        """The lowest slab of (``ligand``, ``n``) from ``structures/``, or None if not written.

        Parameters
        ----------
        ligand : str
        n : int

        Returns
        -------
        ase.Atoms or None
            Positions in Å.
        """
        return self._read_atoms(self.structure_path(ligand, n))

    def read_ion_pair(self, ligand: str) -> Atoms | None:
        """The free ion pair of ``ligand`` from ``structures/``, or None if not written.

        Parameters
        ----------
        ligand : str

        Returns
        -------
        ase.Atoms or None
        """
        return self._read_atoms(self.ion_pair_path(ligand))

    @staticmethod
    def _read_atoms(path: Path) -> Atoms | None:
        if not path.exists():
            return None
        from ase.io import read  # ase.io loads every file format: only when reading one

        return read(path)

    def _from_db(self, **selection: Any) -> Atoms | None:
        """The first row of ``results.db`` matching ``selection`` (read only), or None."""
        if not self.database.exists():
            return None
        from ase.db import connect

        rows = list(connect(str(self.database), type="db").select(limit=1, **selection))
        return row_atoms(rows[0]) if rows else None

    def relaxed(self, task_hash: str) -> Atoms | None:
        """The relaxed structure of a task from ``results.db`` (any stored form of its key).

        Parameters
        ----------
        task_hash : str
            The ``task_hash`` of a ``results.csv`` row.

        Returns
        -------
        ase.Atoms or None
            With ``surface_site``, ``ligand_index`` and ``info`` as stored; None if the
            directory has no ``results.db`` or the task is not in it.
        """
        for form in key_forms(task_hash):
            atoms = self._from_db(task_hash=form)
            if atoms is not None:
                return atoms
        return None

    def db_ion_pair(self, ligand: str) -> Atoms | None:
        """The relaxed free ion pair of ``ligand`` from ``results.db`` (None if absent).

        Parameters
        ----------
        ligand : str

        Returns
        -------
        ase.Atoms or None
        """
        return self._from_db(kind="ion_pair", ligand=ligand)

    def structure_of_row(self, row: pd.Series, records: pd.DataFrame) -> Atoms | None:
        """Relaxed slab of a ``results.csv`` row: from ``results.db`` by its task hash, else from
        ``structures/`` when the row is the lowest of its (ligand, N) in ``records`` (the file
        holds only that one).

        Parameters
        ----------
        row : pandas.Series
            A row of ``records`` (``ligand``, ``n``, ``energy_eV`` in eV, ``task_hash``).
        records : pandas.DataFrame
            The rows the lowest is taken over (e.g. :meth:`read_results`).

        Returns
        -------
        ase.Atoms or None
            None when neither source holds this row's structure.
        """
        h = row.get("task_hash")
        if isinstance(h, str) and h:
            atoms = self.relaxed(h)
            if atoms is not None:
                return atoms
        path = self.structure_path(row["ligand"], int(row["n"]))
        if path.exists():
            atoms = self._read_atoms(path)
            same = records[(records["ligand"] == row["ligand"]) & (records["n"] == row["n"])]
            if np.isclose(row["energy_eV"], same["energy_eV"].min()):
                return atoms
        return None
