"""Results in an ASE database (SQLite file by default, PostgreSQL by ``postgresql://`` URL).

One row per finished task, keyed by its content hash (``task_hash``, always in the form of
:func:`surfchem.campaign.hashing.hash_key`, which no database or CSV reader takes for a number;
rows written before that form existed are found too). The relaxed structure is the
row's ``Atoms``; plain-data results are key-value pairs (units in their names); per-atom labels
(``surface_site``, ``ligand_index``) and ``atoms.info`` go to the row's ``data`` so a structure can
be rebuilt exactly (e.g. to grow N+1 from it). Only the driver process writes.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from surfchem.campaign.hashing import hash_key, key_forms
from surfchem.errors import InputError

#: the key names ASE's database accepts (ASCII identifiers; ``str.isidentifier`` also admits
#: unicode letters, which ASE refuses)
_KEY = re.compile(r"^[_a-zA-Z][_0-9a-zA-Z]*$")
_KV_TYPES = (bool, int, float, str, np.integer, np.floating, np.bool_)


def _is_url(spec: str) -> bool:
    return "://" in spec


class ResultStore:
    """Thin wrapper over :func:`ase.db.connect` addressed by task hash."""

    def __init__(self, url: str | os.PathLike):
        from ase.db import connect

        spec = str(url)
        if _is_url(spec) and not spec.startswith(("postgresql://", "sqlite://")):
            raise InputError(f"database URL {spec!r}: use a file path (SQLite) or postgresql://...")
        if spec.startswith("sqlite://"):
            spec = spec[len("sqlite://"):]
        if not _is_url(spec):
            Path(spec).parent.mkdir(parents=True, exist_ok=True)
        self.url = spec
        self.db = connect(spec, type="postgresql" if spec.startswith("postgresql") else "db")

    def get(self, task_hash: str) -> tuple[Atoms, dict[str, Any]] | None:
        """The stored (atoms, record) of a finished task, or ``None``."""
        for form in key_forms(task_hash):
            rows = list(self.db.select(task_hash=form, limit=1))
            if rows:
                return self._row_to(rows[0])
        return None

    def _row_to(self, row) -> tuple[Atoms, dict[str, Any]]:
        atoms = row.toatoms()
        data = row.data or {}
        for name in ("surface_site", "ligand_index"):
            if name in data:
                atoms.set_array(name, np.asarray(data[name], dtype=int))
        if "info" in data:
            atoms.info.update(json.loads(data["info"]))
        record = dict(row.key_value_pairs)
        record.update(json.loads(data.get("record", "{}")))
        if "task_hash" in record:
            record["task_hash"] = hash_key(str(record["task_hash"]))
        return atoms, record

    def put(self, task_hash: str, atoms: Atoms, record: dict[str, Any]) -> None:
        """Store a finished task (replacing nothing: a hash is written once)."""
        key = hash_key(task_hash)
        if not _kv_ok(key):
            raise InputError(f"task key {task_hash!r} is not a valid database key: give a content "
                             "hash from surfchem.campaign.hashing.task_hash")
        if self.get(key) is not None:
            return
        kv: dict[str, Any] = {"task_hash": key}
        rest: dict[str, Any] = {}
        from ase.db.core import reserved_keys

        for name, value in record.items():
            if name == "task_hash":
                continue
            if name not in reserved_keys and _KEY.match(name) and _kv_ok(value):
                kv[name] = value.item() if isinstance(value, np.generic) else value
            else:  # kept exactly in the row's data (not selectable)
                rest[name] = value
        data = {"record": json.dumps(rest, default=_jsonable)}
        for name in ("surface_site", "ligand_index"):
            if name in atoms.arrays:
                data[name] = atoms.get_array(name).tolist()
        data["info"] = json.dumps({k: v for k, v in atoms.info.items()}, default=_jsonable)
        clean = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell,
                      pbc=atoms.pbc)
        self.db.write(clean, key_value_pairs=kv, data=data)

    def delete(self, task_hash: str) -> None:
        """Remove the rows of a task (used to retry a failed one)."""
        ids = [row.id for form in key_forms(task_hash) for row in self.db.select(task_hash=form)]
        if ids:
            self.db.delete(ids)

    def records(self, **selection: Any) -> list[dict[str, Any]]:
        """All records (plain dicts) matching ``selection`` (ASE db key=value filters)."""
        return [self._row_to(row)[1] for row in self.db.select(**selection)]

    def __len__(self) -> int:
        return self.db.count()


def _kv_ok(value: Any) -> bool:
    """Can ``value`` be an ASE-db key-value pair: numbers finite, strings that ASE's own reading
    (:func:`ase.db.core.convert_str_to_int_float_bool_or_str`) keeps as strings: not ``"1e5"``,
    ``" 12"``, ``"nan"``, ``"inf"``, ``"1_000"``, ``"True"`` or ``"١٢"``."""
    if not isinstance(value, _KV_TYPES):
        return False
    if isinstance(value, str):
        from ase.db.core import convert_str_to_int_float_bool_or_str

        return "\x00" not in value and isinstance(convert_str_to_int_float_bool_or_str(value), str)
    return not (isinstance(value, float | np.floating) and not math.isfinite(value))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)
