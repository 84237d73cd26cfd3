"""Spec primitives shared by every declarative file (campaign and validation specs).

A schema is a :class:`Strict` pydantic model (``extra="forbid"``, so a misspelt key is an error;
frozen); :func:`validate_model` turns pydantic's errors into one :class:`~surfchem.errors.InputError`
line per problem naming the key, the value and what would be right; :func:`read_toml` reads a
file. :func:`parse_n_range` is the one parser of coverage ranges (``"0-8"``, ``"0,2,4"``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from surfchem.errors import InputError


class Strict(BaseModel):
    """Base of every spec schema: unknown keys are errors, validated specs are immutable.

    Parameters
    ----------
    **data
        The fields of the subclass's schema (validated by pydantic).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


def format_errors(err: ValidationError, source: str, schema: str) -> str:
    """pydantic's errors as one line per problem: ``SOURCE: key.path: message (got VALUE)``.

    Parameters
    ----------
    err : pydantic.ValidationError
        The validation error.
    source : str
        Where the data came from (file name), prefixed to every line.
    schema : str
        The module documenting the schema, named for unknown keys.

    Returns
    -------
    str
    """
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown key (check the spelling; see {schema} for the schema)"
        given = e.get("input")
        shown = f" (got {given!r})" if e["type"] != "extra_forbidden" and not isinstance(given, dict) else ""
        lines.append(f"{source}: {loc}: {msg}{shown}")
    return "\n".join(lines)


def validate_model(model: type[BaseModel], data: dict[str, Any], source: str) -> Any:
    """``model.model_validate(data)`` with pydantic's errors as one InputError line per problem.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        The schema.
    data : dict
        The data to validate.
    source : str
        Where the data came from (file name), for the messages.

    Returns
    -------
    pydantic.BaseModel
        The validated ``model`` instance.

    Raises
    ------
    surfchem.errors.InputError
        One line per problem.
    """
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(format_errors(err, source, model.__module__)) from None


def read_toml(path: str | Path, what: str = "spec") -> dict[str, Any]:
    """A TOML file as a dict.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str, default "spec"
        What the file is, for the messages.

    Returns
    -------
    dict

    Raises
    ------
    surfchem.errors.InputError
        A missing file or bad TOML, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {str(path)!r} not found")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None


def parse_n_range(spec: str | Iterable[int], n_sites: int = 8) -> list[int]:
    """Coverages (ligands per slab) from ``"0-8"``, ``"0,2,4"``, ``"3"`` or an iterable of ints.

    Parameters
    ----------
    spec : str or iterable of int
        The range.
    n_sites : int, default 8
        Surface sites of the slab (largest allowed value).

    Returns
    -------
    list of int
        The sorted distinct values, each within ``0..n_sites``.

    Raises
    ------
    surfchem.errors.InputError
        Anything else, naming the bad range.
    """
    if isinstance(spec, str):
        values: set[int] = set()
        try:
            for part in spec.split(","):
                part = part.strip()
                if "-" in part:
                    lo, hi = (int(x) for x in part.split("-", 1))
                    values.update(range(lo, hi + 1))
                elif part:
                    values.add(int(part))
        except ValueError:
            raise InputError(f"n range {spec!r}: use forms like '0-8', '0,2,4' or '3'") from None
    else:
        values = {int(v) for v in spec}
    bad = sorted(v for v in values if not 0 <= v <= n_sites)
    if bad or not values:
        raise InputError(f"n values must lie in 0..{n_sites} (surface sites), got {sorted(values)}")
    return sorted(values)
