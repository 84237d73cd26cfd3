"""Results in an ASE database (SQLite file by default, PostgreSQL by ``postgresql://`` URL).

One row per finished task, keyed by its content hash (``task_hash``, always in the form of
:func:`surfchem.core.hashing.hash_key`, which no database or CSV reader takes for a number;
rows written before that form existed are found too). The relaxed structure is the
row's ``Atoms``; plain-data results are key-value pairs (units in their names); per-atom labels
(``surface_site``, ``ligand_index``) and ``atoms.info`` go to the row's ``data`` so a structure can
be rebuilt exactly (e.g. to grow N+1 from it). Only driver processes write.

Claims (:class:`Claims`, the table ``surfchem_claims`` next to ASE's tables in the same
database): before computing a task a driver claims its hash; a driver that finds the hash
claimed waits for the holder's row instead of computing it. So several campaign processes on one
database (two users, two allocations) split the work and compute no task twice.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from surfchem.core.hashing import hash_key, key_forms
from surfchem.errors import InputError

#: the key names ASE's database accepts (ASCII identifiers; ``str.isidentifier`` also admits
#: unicode letters, which ASE refuses)
_KEY = re.compile(r"^[_a-zA-Z][_0-9a-zA-Z]*$")
_KV_TYPES = (bool, int, float, str, np.integer, np.floating, np.bool_)
#: PostgreSQL advisory lock key serialising schema creation (any fixed 64-bit number)
_SCHEMA_LOCK = 0x5375726663686D


def _is_url(spec: str) -> bool:
    return "://" in spec


class ResultStore:
    """Thin wrapper over :func:`ase.db.connect` addressed by task hash.

    Parameters
    ----------
    url : str or os.PathLike
        A file path (SQLite; parent directories are created), ``sqlite:///path`` or
        ``postgresql://user:pass@host:port/dbname``.

    Raises
    ------
    surfchem.errors.InputError
        A URL of another scheme.
    """

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
        self.claims = Claims(spec)
        if spec.startswith("postgresql"):
            self._create_schema()

    def _create_schema(self) -> None:
        """Create ASE's tables (on first use) under a PostgreSQL advisory lock: two drivers
        starting at once on an empty database would otherwise both try to create them
        (``DuplicateTable``)."""
        import psycopg2

        con = psycopg2.connect(self.url)
        try:
            cur = con.cursor()
            cur.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
            try:
                self.db.count()  # ASE creates its schema in its first connection
            finally:
                cur.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
        finally:
            con.close()

    def get(self, task_hash: str) -> tuple[Atoms, dict[str, Any]] | None:
        """The stored result of a finished task.

        Parameters
        ----------
        task_hash : str
            Task key (:func:`surfchem.core.hashing.task_hash`; the bare digest of older versions is
            also found).

        Returns
        -------
        tuple of (ase.Atoms, dict) or None
            (structure, record), or None when the task is not stored.
        """
        for form in key_forms(task_hash):
            rows = list(self.db.select(task_hash=form, limit=1))
            if rows:
                return self._row_to(rows[0])
        return None

    def _row_to(self, row) -> tuple[Atoms, dict[str, Any]]:
        atoms = row_atoms(row)
        data = row.data or {}
        record = dict(row.key_value_pairs)
        record.update(json.loads(data.get("record", "{}")))
        if "task_hash" in record:
            record["task_hash"] = hash_key(str(record["task_hash"]))
        return atoms, record

    def put(self, task_hash: str, atoms: Atoms, record: dict[str, Any]) -> None:
        """Store a finished task (replacing nothing: a hash is written once).

        Parameters
        ----------
        task_hash : str
            Task key (:func:`surfchem.core.hashing.task_hash`).
        atoms : ase.Atoms
            The final structure.
        record : dict
            The task record (energies in eV, ...).

        Raises
        ------
        surfchem.errors.InputError
            ``task_hash`` is not a valid database key.
        """
        key = hash_key(task_hash)
        if not _kv_ok(key):
            raise InputError(f"task key {task_hash!r} is not a valid database key: give a content "
                             "hash from surfchem.core.hashing.task_hash")
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
        """Remove the rows of a task (used to retry a failed one).

        Parameters
        ----------
        task_hash : str
            Task key, in any stored form.
        """
        ids = [row.id for form in key_forms(task_hash) for row in self.db.select(task_hash=form)]
        if ids:
            self.db.delete(ids)

    def records(self, **selection: Any) -> list[dict[str, Any]]:
        """All records (plain dicts) matching ``selection``.

        Parameters
        ----------
        **selection
            ASE db key=value filters (e.g. ``campaign="tiny"``).

        Returns
        -------
        list of dict
        """
        return [self._row_to(row)[1] for row in self.db.select(**selection)]

    def __len__(self) -> int:
        return self.db.count()


def row_atoms(row) -> Atoms:
    """The structure of a database row exactly as :meth:`ResultStore.put` stored it.

    Parameters
    ----------
    row : ase.db.row.AtomsRow
        A row of a result store (positions in Å).

    Returns
    -------
    ase.Atoms
        The row's atoms with the per-atom labels ``surface_site`` and ``ligand_index`` (when
        stored) and ``atoms.info`` (site positions, faces, occupied sites) restored from the
        row's ``data``.
    """
    atoms = row.toatoms()
    data = row.data or {}
    for name in ("surface_site", "ligand_index"):
        if name in data:
            atoms.set_array(name, np.asarray(data[name], dtype=int))
    if "info" in data:  # site positions, faces, occupied sites: what the site checks need
        atoms.info.update(json.loads(data["info"]))
    return atoms


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


class Claims:
    """Who is computing which task: one row per task hash in ``surfchem_claims`` (task_hash,
    owner, heartbeat), in the campaign database itself (SQLite file or PostgreSQL).

    * :meth:`claim` takes a hash if it is free, already ours, or held by a dead owner: one whose
      heartbeat is older than ``timeout_s`` (a driver killed on another host) or a process of
      this host that no longer exists (a driver killed here: resuming needs no wait). Atomic:
      of two drivers claiming one hash at once exactly one gets it.
    * :meth:`heartbeat` refreshes every claim of an owner (the driver calls it while it runs).
    * :meth:`release` frees one claim (after the task's row is written, or when it was lost);
      :meth:`release_all` frees an owner's claims when its run ends.

    Owner names are ``host:pid:random`` (:func:`new_owner`). Heartbeats are the drivers' own
    clocks (seconds since the epoch): drivers sharing a database need synchronised clocks (NTP)
    to within a small part of ``timeout_s``.

    Parameters
    ----------
    url : str
        The campaign database: an SQLite file path or a ``postgresql://`` URL.
    """

    _CREATE = ("CREATE TABLE IF NOT EXISTS surfchem_claims (task_hash TEXT PRIMARY KEY, "
               "owner TEXT NOT NULL, heartbeat DOUBLE PRECISION NOT NULL)")
    _UPSERT = ("INSERT INTO surfchem_claims (task_hash, owner, heartbeat) VALUES (?, ?, ?) "
               "ON CONFLICT (task_hash) DO UPDATE SET owner = excluded.owner, heartbeat = excluded.heartbeat "
               "WHERE surfchem_claims.owner = excluded.owner OR surfchem_claims.heartbeat < ? "
               "OR surfchem_claims.owner = ?")

    def __init__(self, url: str):
        self.url = url
        self.pg = url.startswith("postgresql")
        self._ready = False

    @contextlib.contextmanager
    def _cursor(self):
        if self.pg:
            import psycopg2

            con = psycopg2.connect(self.url)
        else:
            import sqlite3

            con = sqlite3.connect(self.url, timeout=60, isolation_level=None)
        try:
            cur = con.cursor()
            if not self.pg:
                cur.execute("BEGIN IMMEDIATE")  # select + upsert as one transaction
            yield cur
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.pg else text

    def _run(self, fn):
        if not self._ready:
            for attempt in range(3):  # concurrent CREATE TABLE IF NOT EXISTS may collide on PostgreSQL
                try:
                    with self._cursor() as cur:
                        cur.execute(self._CREATE)
                    break
                except Exception:
                    if attempt == 2:
                        raise
                    time.sleep(0.2)
            self._ready = True
        with self._cursor() as cur:
            return fn(cur)

    def claim(self, task_hash: str, owner: str, timeout_s: float) -> bool:
        """Take ``task_hash`` for ``owner``; ``True`` if ``owner`` now holds it."""
        key = hash_key(task_hash)
        q = self._sql

        def take(cur) -> bool:
            cur.execute(q("SELECT owner FROM surfchem_claims WHERE task_hash = ?"), (key,))
            row = cur.fetchone()
            dead = row[0] if row is not None and _local_owner_dead(row[0]) else ""
            now = time.time()
            cur.execute(q(self._UPSERT), (key, owner, now, now - timeout_s, dead))
            cur.execute(q("SELECT owner FROM surfchem_claims WHERE task_hash = ?"), (key,))
            return cur.fetchone()[0] == owner

        return self._run(take)

    def heartbeat(self, owner: str) -> None:
        """Refresh the heartbeat (time.time(), s) of every claim held by ``owner``."""
        self._run(lambda cur: cur.execute(
            self._sql("UPDATE surfchem_claims SET heartbeat = ? WHERE owner = ?"), (time.time(), owner)))

    def release(self, task_hash: str, owner: str) -> None:
        """Drop ``owner``'s claim of one task."""
        self._run(lambda cur: cur.execute(
            self._sql("DELETE FROM surfchem_claims WHERE task_hash = ? AND owner = ?"),
            (hash_key(task_hash), owner)))

    def release_all(self, owner: str) -> None:
        """Drop every claim held by ``owner`` (driver shutdown)."""
        self._run(lambda cur: cur.execute(self._sql("DELETE FROM surfchem_claims WHERE owner = ?"), (owner,)))

    def held(self) -> dict[str, str]:
        """task hash -> owner of every current claim."""
        def rows(cur):
            cur.execute("SELECT task_hash, owner FROM surfchem_claims")
            return dict(cur.fetchall())

        return self._run(rows)


def new_owner() -> str:
    """A claim owner name, unique per driver run.

    Returns
    -------
    str
        ``host:pid:random``.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _local_owner_dead(owner: str) -> bool:
    """Is ``owner`` a driver of this host whose process is gone?"""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
