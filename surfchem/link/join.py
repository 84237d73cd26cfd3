"""Join computed descriptors with measured statistics, ligand by ligand.

Matching rule, in order:

1. **Aliases** map a computed ligand to the measured ligand it stands for. Built in
   (:data:`DEFAULT_ALIASES`): a truncated DDA, ``DDA<n>`` (didodecyldimethylammonium with both
   tails cut to n carbons, e.g. ``DDA4`` = dibutyldimethylammonium ``CCCC[N+](C)(C)CCCC``; the
   paper's "truncated DDA"), stands for the measured full ``DDA`` (science brief, section 1). It
   applies to a computed ligand named ``DDA<n>`` or whose SMILES is that cation; a ``DDA<n>`` whose
   recorded SMILES is another molecule (results written before issue 13, when ``DDA6`` meant
   hexylammonium) is refused. The primary n-alkylammoniums ``C<n>A`` (``C6A`` hexylammonium) are
   not a truncated DDA and get no alias. User aliases
   (``{"computed": "measured"}``, CLI ``--alias DDA6=DDA``) are added to/override these. Every
   alias used is reported in the output (``alias_note``), because the computed molecule is then
   *not* the measured one.
2. **Canonical SMILES** (RDKit) of both sides: names are resolved with
   :func:`surfchem.build.ligands.resolve_ligand`; a measured row's ``smiles`` column wins over its
   name. So ``PEA`` matches ``[NH3+]CCc1ccccc1`` and ``NCCc1ccccc1``-style spellings of the
   same cation.
3. A ligand that resolves to no SMILES (a mixture such as ``PEA+NBA``) matches by name
   (case-insensitive) only.

Materials must agree (computed ``references.json`` material vs measured ``material``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from surfchem.build.ligands import dda_smiles, resolve_ligand
from surfchem.errors import InputError

_DDA_TRUNC = re.compile(r"^DDA[-_:]?C?(\d+)$", re.IGNORECASE)

#: built-in aliases: computed name pattern -> measured name (documented in the output)
DEFAULT_ALIASES: dict[str, str] = {"DDA<n>": "DDA"}


@dataclass
class JoinResult:
    """Computed descriptors joined with measurements.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per computed ligand: descriptors, measured columns, ``measured`` (bool) and
        ``measured_ligand``.
    aliases : dict of str to str
        Computed -> measured names that were applied.
    alias_notes : list of str
        One sentence per applied alias (stated in every output).
    unmatched_measured : list of dict
        Measured (ligand, material, reason) with no computed partner.
    """

    table: pd.DataFrame
    aliases: dict[str, str] = field(default_factory=dict)
    alias_notes: list[str] = field(default_factory=list)
    unmatched_measured: list[dict] = field(default_factory=list)

    @property
    def measured(self) -> pd.DataFrame:
        """Rows of computed ligands that have a measurement."""
        return self.table[self.table["measured"]]

    @property
    def untested(self) -> pd.DataFrame:
        """Rows of computed ligands without a measurement (the candidates)."""
        return self.table[~self.table["measured"]]


def canonical_smiles(name_or_smiles: str) -> str | None:
    """Canonical SMILES of a ligand name or SMILES.

    Parameters
    ----------
    name_or_smiles : str
        Ligand name or SMILES.

    Returns
    -------
    str or None
        None when it is empty or not one cation.
    """
    try:
        return _canon(resolve_ligand(str(name_or_smiles)).smiles) if name_or_smiles else None
    except InputError:
        return None


def _canon(smiles: str) -> str | None:
    if not smiles:
        return None
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else None


def parse_aliases(items: list[str] | dict[str, str] | None) -> dict[str, str]:
    """Parse alias items into ``{computed: measured}``.

    Parameters
    ----------
    items : list of str, dict or None
        ``["DDA6=DDA", ...]`` (as ``--alias``) or a dict.

    Returns
    -------
    dict of str to str

    Raises
    ------
    surfchem.errors.InputError
        An item without ``=`` or with an empty side.
    """
    if not items:
        return {}
    if isinstance(items, dict):
        return {str(k): str(v) for k, v in items.items()}
    out = {}
    for it in items:
        if "=" not in it or not all(p.strip() for p in it.split("=", 1)):
            raise InputError(f"alias {it!r}: write COMPUTED=MEASURED, e.g. DDA6=DDA")
        k, v = (p.strip() for p in it.split("=", 1))
        out[k] = v
    return out


def dda_truncation(computed: str, smiles: str = "") -> int | None:
    """Tail length n (1..11) when the computed ligand is a truncated DDA, else None.

    It is one when named ``DDA<n>`` or when its SMILES is the cation of
    :func:`surfchem.build.ligands.dda_smiles` (n).

    Parameters
    ----------
    computed : str
        The computed ligand's name.
    smiles : str, default ""
        Its recorded SMILES, if any.

    Returns
    -------
    int or None

    Raises
    ------
    surfchem.errors.InputError
        A ``DDA<n>`` name with a recorded SMILES of another molecule (e.g. an old ``DDA6`` =
        hexylammonium row).
    """
    got = _canon(smiles) if smiles else None
    m = _DDA_TRUNC.match(str(computed))
    if m:
        n = int(m.group(1))
        if n == 12:
            return None
        want = _canon(dda_smiles(n))
        if got is not None and got != want:
            raise InputError(
                f"computed {computed!r} has SMILES {got!r}, not the truncated DDA {want!r} (both tails "
                f"C{n}); before issue 13 DDA<n> named the primary n-alkylammonium, now C{n}A: recompute "
                f"it, or rename it C{n}A (no alias to DDA then)")
        return n
    if got is None:
        return None
    return next((n for n in range(1, 12) if got == _canon(dda_smiles(n))), None)


def resolve_alias(computed: str, aliases: dict[str, str], builtin: bool = True,
                  smiles: str = "") -> tuple[str, str]:
    """Measured ligand name that a computed ligand stands for (see the module docs).

    Parameters
    ----------
    computed : str
        The computed ligand's name.
    aliases : dict of str to str
        User aliases, computed name -> measured name (checked first).
    builtin : bool, default True
        Apply the built-in truncated-DDA rule.
    smiles : str, default ""
        The computed ligand's recorded SMILES, if any.

    Returns
    -------
    measured : str
        The measured name (``computed`` when no alias applies).
    note : str
        Why, for the report; ``""`` when no alias applies.

    Raises
    ------
    surfchem.errors.InputError
        As :func:`dda_truncation`.
    """
    if computed in aliases:
        target = aliases[computed]
        return target, f"computed {computed} stands for measured {target} (user alias)"
    n = dda_truncation(computed, smiles) if builtin else None
    if n is not None:
        return "DDA", (f"computed {computed} (DDA with both tails truncated to C{n}) stands for measured "
                       "DDA (didodecyldimethylammonium, two C12 tails), as in the paper's truncated-DDA model")
    return computed, ""


def _key(name: str, smiles: str = "") -> tuple[str, str]:
    """(kind, value): ('smiles', canonical) when resolvable, else ('name', lower-case name)."""
    can = _canon(smiles) if smiles else None
    if can is None:
        can = canonical_smiles(name)
    if can is not None:
        return ("smiles", can)
    return ("name", str(name).strip().lower())


def join(descriptors: pd.DataFrame, measured: pd.DataFrame, aliases: dict[str, str] | None = None,
         ligands: list[str] | None = None, strict: bool = False, builtin_aliases: bool = True) -> JoinResult:
    """Join per-ligand descriptors with per-ligand measurements.

    Ligands are matched by name or canonical SMILES, after aliases: the built-in
    :data:`DEFAULT_ALIASES` (a computed ``DDA<n>``, the paper's DDA with both tails truncated to n
    carbons, stands for the measured ``DDA``; ``C6A`` is not an alias of DDA) and ``aliases``.
    Computed ligands without a measurement are kept as untested candidates (``measured`` False).

    Parameters
    ----------
    descriptors : pandas.DataFrame
        Output of :func:`surfchem.link.descriptors.descriptors_from_results`.
    measured : pandas.DataFrame
        Output of :func:`surfchem.link.experiments.aggregate`.
    aliases : dict of str to str, optional
        Computed -> measured names (:func:`parse_aliases`).
    ligands : list of str, optional
        Computed ligands that must have a measurement.
    strict : bool, default False
        Every computed ligand must be measured and every measured ligand of the same material
        computed.
    builtin_aliases : bool, default True
        Apply :data:`DEFAULT_ALIASES`.

    Returns
    -------
    JoinResult

    Raises
    ------
    surfchem.errors.InputError
        A required ligand without measurement (naming it and the fix), or a ``strict`` mismatch.
    """
    aliases = dict(aliases or {})
    if "ligand" not in descriptors.columns or "ligand" not in measured.columns:
        raise InputError("both tables need a 'ligand' column")
    material = descriptors.attrs.get("material") or (
        descriptors["material"].iloc[0] if "material" in descriptors and len(descriptors) else "CsPbBr3")
    comp_names = list(descriptors["ligand"])
    unknown_alias = [k for k in aliases if k not in comp_names]
    if unknown_alias:
        raise InputError(f"alias for {unknown_alias}, which the results do not contain; computed "
                         f"ligands are {comp_names}")
    # measured keys
    meas = measured.copy()
    meas["_key"] = [_key(n, s) for n, s in zip(meas["ligand"], meas.get("smiles", [""] * len(meas)), strict=True)]
    same_mat = meas[meas["material"] == material]
    other_mat = meas[meas["material"] != material]
    by_key: dict[tuple[str, str], int] = {}
    for i, k in zip(same_mat.index, same_mat["_key"], strict=True):
        if k in by_key:
            raise InputError(f"measured table has two rows for ligand {meas.loc[i, 'ligand']!r} "
                             f"({material}) after aggregation; aggregate it first")
        by_key[k] = i
    rows, used, applied, notes = [], set(), {}, []
    mcols = [c for c in measured.columns if c not in ("ligand", "material", "smiles", "_key")]
    for _, d in descriptors.iterrows():
        comp = d["ligand"]
        smi = d.get("smiles", "")
        target, note = resolve_alias(comp, aliases, builtin_aliases, smi if isinstance(smi, str) else "")
        if target == comp:
            k = _key(comp, smi if isinstance(smi, str) else "")
        else:
            k = _key(target)
        # a computed ligand named like a measured one but with another structure: refuse
        if not note:
            for i in same_mat.index:
                if (str(meas.loc[i, "ligand"]).lower() == str(comp).lower() and meas.loc[i, "_key"] != k):
                    raise InputError(
                        f"ligand {comp!r}: computed SMILES {k[1]!r} differs from the measured "
                        f"{meas.loc[i, 'ligand']!r} SMILES {meas.loc[i, '_key'][1]!r}; fix the "
                        "smiles column or rename one of them")
        rec = d.to_dict()
        rec["measured_ligand"] = ""
        rec["alias_note"] = note
        rec["match"] = ""
        if k in by_key:
            i = by_key[k]
            if i in used:
                other = [r["ligand"] for r in rows if r["measured_ligand"] == meas.loc[i, "ligand"]]
                raise InputError(f"computed ligands {other + [comp]} all map to measured "
                                 f"{meas.loc[i, 'ligand']!r}; keep one (drop an alias)")
            used.add(i)
            rec["measured_ligand"] = meas.loc[i, "ligand"]
            rec["match"] = "alias" if note else ("smiles" if k[0] == "smiles" else "name")
            for c in mcols:
                rec[c] = meas.loc[i, c]
            if note:
                applied[comp] = target
                notes.append(note)
        rec["measured"] = bool(rec["measured_ligand"])
        rows.append(rec)
    table = pd.DataFrame(rows)
    for c in mcols:
        if c not in table:
            table[c] = np.nan
    unmatched = [{"ligand": meas.loc[i, "ligand"], "material": material,
                  "reason": "not computed (no ligand in the results resolves to it; add it to the "
                            "screen or map a computed ligand to it with an alias)"}
                 for i in same_mat.index if i not in used]
    unmatched += [{"ligand": r["ligand"], "material": r["material"],
                   "reason": f"material {r['material']} differs from the computed {material}"}
                  for _, r in other_mat.iterrows()]
    if ligands:
        missing_c = [lig for lig in ligands if lig not in comp_names]
        missing_m = [lig for lig in ligands if lig in comp_names
                     and not table.loc[table["ligand"] == lig, "measured"].iloc[0]]
        _raise_missing(missing_c, missing_m, comp_names, list(same_mat["ligand"]), material)
    if strict:
        missing_m = list(table.loc[~table["measured"], "ligand"])
        missing_c = [u["ligand"] for u in unmatched if u["material"] == material and "not computed" in u["reason"]]
        _raise_missing(missing_c, missing_m, comp_names, list(same_mat["ligand"]), material, strict=True)
    if not table["measured"].any():
        raise InputError(
            f"no computed ligand {comp_names} matches a measured ligand {sorted(set(same_mat['ligand']))} "
            f"({material}) by name, SMILES or alias; add measurements for them or map them with "
            "--alias COMPUTED=MEASURED")
    res = JoinResult(table, applied, notes, unmatched)
    return res


def _raise_missing(missing_c, missing_m, comp, meas, material, strict=False) -> None:
    msgs = []
    if missing_m:
        msgs.append(f"{missing_m} computed but not measured ({material}); measured ligands are "
                    f"{sorted(set(meas))}: add rows to the experiments CSV or an alias COMPUTED=MEASURED")
    if missing_c:
        msgs.append(f"{missing_c} measured but not in the results (computed: {comp}): screen them or "
                    "map a computed ligand with an alias")
    if msgs:
        raise InputError(("strict join: " if strict else "ligand(s) ") + "; ".join(msgs))
