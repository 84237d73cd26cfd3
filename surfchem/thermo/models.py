"""Free-energy corrections per slab row: G(N, T) = E(N) + F_vib(N, T) - T S_conf(N, T).

Reference of every correction: the free ligand, i.e. the same isolated L+ X- ion pair whose
energy is ``mu_LX`` (science brief section 2). Per slab row holding ``n`` ligands::

    F_vib_eV   = F_vib(ligand atoms in the slab, T) - n F_vib(free ion pair, T)
    TS_conf_eV = T [n S_conf(free ligand) - S_conf(ligands in the slab)]       (>= 0: a penalty)
    TS_cfg_eV  = -k T ln g   (configurational entropy of arrangements, optional, <= 0)
    G_transrot_eV = -n G_trans+rot(free ion pair, T, p)   (only with free_state='gas', >= 0)
    G_corr_eV  = F_vib_eV + TS_conf_eV + TS_cfg_eV + G_transrot_eV

and :func:`surfchem.thermo.coverage_table` uses ``G = energy_eV + G_corr_eV`` with ``mu_LX``
unchanged. This is the same as adding F_vib - T S_conf to both the slab and the ion pair, so
gamma and dG move consistently: dG(N) changes by the correction of the N-th ligand and gamma(N)
by the sum over the N ligands / 2A. The bare slab (n = 0) gets no correction; vibrations of the
inorganic lattice and of bulk CsBr are not computed (they nearly cancel in the exchange
Cs+ -> L+, and are the same for every ligand).

Models (``model=``; a vibrational and a conformational part can be combined with ``+``):

``none``
    energies only (G_corr = 0).
``rotor``
    S_conf(free) = n_rot R ln 3 from :func:`surfchem.thermo.entropy.count_rotors` (sp3-sp3
    torsions; ``include_other_rotors`` adds sp2-sp3 ones at R ln 2).
``conformers``
    S_conf(free) = -R sum p ln p of the RDKit/MMFF conformer ensemble
    (:func:`surfchem.thermo.entropy.conformer_ensemble_entropy`).
``harmonic`` / ``qrrho``
    F_vib from phonopy finite displacements of the ligand atoms of each slab (partial Hessian)
    and of the whole ion pair (3N-6 internal modes), harmonic or Grimme quasi-RRHO entropy.
    Imaginary modes are counted in ``n_imag`` / ``n_imag_free`` and left out of F_vib.
``qrrho+rotor``, ``harmonic+conformers``, ...
    both: the vibrational part covers the well each ligand sits in, the conformational part the
    number of wells the free ligand can visit and the bound one cannot.

Bound-ligand conformational entropy (``freezing=``):

``full`` (default)
    every bound ligand is frozen in one conformer: S_conf(bound) = 0 (the paper's picture of
    tails frozen in the solid state).
``neighbours``
    ligand i keeps a fraction 1 - f_i of the free entropy, f_i = f0 + (1 - f0) min(k_i, z)/z with
    k_i its nearest-neighbour ligands (heads within ``neighbour_cutoff_A``, default 1.2 a0,
    periodic images counted) and z = ``coordination`` (4 on the square A-site lattice);
    f0 = ``freeze_isolated`` (default 0: a lone ligand keeps its freedom). Needs structures.

Free-ligand state (``free_state=``): ``frozen`` (default) counts only the internal (3N-6)
modes of the ion pair, i.e. a reservoir in which the ligand salt does not translate or rotate
freely (a solid or a solvated salt, closest to the experiment); ``gas`` adds the ideal-gas
translational and rotational free energy of the ion pair at ``pressure_Pa`` (default 1e5 Pa,
:func:`surfchem.thermo.entropy.trans_rot_free_energy_eV`, equal to ASE's IdealGasThermo), which
the bound ligand loses: a large penalty (about 0.6-0.9 eV per ligand at 298 K) that depends on
the pressure chosen.

Configurational entropy of arrangements (``configurational=``): ``none`` (default);
``multiplicity``: -k T ln g of each row's arrangement class (``multiplicity`` column);
``boltzmann``: for each (ligand, n) the lowest row carries G = -k T ln sum_i g_i exp(-G_i/kT)
over the computed arrangements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms

from surfchem.build import ion_pair
from surfchem.build.ligands import recorded_smiles
from surfchem.calculators import get_calculator, preset_parameters
from surfchem.core.hashing import task_hash
from surfchem.errors import InputError
from surfchem.thermo import References, coverage_table
from surfchem.thermo.entropy import (
    KB_EV_K,
    conformer_ensemble_entropy,
    count_rotors,
    rotor_entropy_eV_K,
    trans_rot_free_energy_eV,
    vib_thermo,
)
from surfchem.thermo.vibrations import ligand_indices, vibrational_modes

CONF_MODELS = ("rotor", "conformers")
VIB_MODELS = ("harmonic", "qrrho")
ENTROPY_MODELS = ("none", *CONF_MODELS, *VIB_MODELS, "qrrho+rotor", "qrrho+conformers",
                  "harmonic+rotor", "harmonic+conformers")
FREEZING = ("full", "neighbours")
CONFIGURATIONAL = ("none", "multiplicity", "boltzmann")


def parse_model(model: str) -> tuple[str | None, str | None]:
    """Split an entropy model name into its conformational and vibrational parts.

    Parameters
    ----------
    model : str
        One of :data:`ENTROPY_MODELS` (case-insensitive), e.g. ``"qrrho+rotor"``.

    Returns
    -------
    conf, vib : str or None
        ``"qrrho+rotor"`` -> (``"rotor"``, ``"qrrho"``); ``"none"`` -> (None, None).

    Raises
    ------
    surfchem.errors.InputError
        Empty or unknown model, or two parts of one kind.
    """
    if not isinstance(model, str) or not model.strip():
        raise InputError(f"entropy model must be one of {', '.join(ENTROPY_MODELS)}, got {model!r}")
    parts = [p.strip().lower() for p in model.split("+")]
    if parts == ["none"]:
        return None, None
    conf = [p for p in parts if p in CONF_MODELS]
    vib = [p for p in parts if p in VIB_MODELS]
    if len(conf) > 1 or len(vib) > 1 or len(conf) + len(vib) != len(parts):
        raise InputError(
            f"entropy model {model!r}: use one of {', '.join(ENTROPY_MODELS)} "
            "(at most one of rotor|conformers and one of harmonic|qrrho, joined by '+')"
        )
    return (conf[0] if conf else None), (vib[0] if vib else None)


@dataclass
class ThermoSettings:
    """Every choice of the free-energy layer (stored in the output rows and JSON; module docs).

    Attributes
    ----------
    model : str, default "rotor"
        Entropy model, one of :data:`ENTROPY_MODELS`.
    T_K : float, default 298.15
        Temperature, K.
    freezing : {"full", "neighbours"}, default "full"
        How much conformational entropy a bound ligand loses.
    freeze_isolated : float, default 0.0
        f0 of ``freezing="neighbours"``: the frozen fraction of a ligand without neighbours (0-1).
    coordination : int, default 4
        z of ``freezing="neighbours"``: neighbours that freeze a ligand fully.
    neighbour_cutoff_A : float, optional
        Head-head distance of a neighbour, Å (default 1.2 a0).
    include_other_rotors : bool, default False
        The rotor model also counts sp2-sp3 torsions (R ln 2 each).
    n_conformers : int, default 300
        Conformers embedded by the conformer model.
    conformer_energies : {"mmff", "gfn1", "gfn2"}, default "mmff"
        Energies of the conformer model.
    configurational : {"none", "multiplicity", "boltzmann"}, default "none"
        Configurational entropy of arrangements.
    calculator : str, optional
        Preset of the harmonic models (default: the screen's).
    distance_A : float, default 0.01
        Finite-displacement step of the harmonic models, Å.
    prerelax_fmax_eV_A : float or None, default 0.01
        Re-relax the displaced atoms to this force before the displacements, eV/Å (None: no).
    cache_dir : str, optional
        Force cache of the harmonic models
        (default :func:`surfchem.thermo.vibrations.default_cache_dir`).
    rows : {"min", "all"}, default "min"
        Harmonic models: the lowest row per (ligand, n) only, or every row.
    free_state : {"frozen", "gas"}, default "frozen"
        ``gas`` adds the ideal-gas translations and rotations of the free ion pair.
    pressure_Pa : float, default 1e5
        Pressure of ``free_state="gas"``, Pa.
    """

    model: str = "rotor"
    T_K: float = 298.15
    freezing: str = "full"
    freeze_isolated: float = 0.0
    coordination: int = 4
    neighbour_cutoff_A: float | None = None
    include_other_rotors: bool = False
    n_conformers: int = 300
    conformer_energies: str = "mmff"
    configurational: str = "none"
    calculator: str | None = None  # harmonic models; default: the screen's preset
    distance_A: float = 0.01
    prerelax_fmax_eV_A: float | None = 0.01
    cache_dir: str | None = None
    rows: str = "min"  # harmonic models: 'min' (lowest energy per (ligand, n)) or 'all'
    free_state: str = "frozen"  # 'frozen' | 'gas' (adds ideal-gas translations + rotations)
    pressure_Pa: float = 1.0e5

    def validate(self) -> None:
        """Check the settings.

        Raises
        ------
        surfchem.errors.InputError
            Naming the bad setting and the accepted range.
        """
        parse_model(self.model)
        if not self.T_K > 0:
            raise InputError(f"temperature must be > 0 K, got {self.T_K}")
        if self.freezing not in FREEZING:
            raise InputError(f"freezing must be one of {FREEZING}, got {self.freezing!r}")
        if self.configurational not in CONFIGURATIONAL:
            raise InputError(f"configurational must be one of {CONFIGURATIONAL}, got {self.configurational!r}")
        if self.rows not in ("min", "all"):
            raise InputError(f"rows must be 'min' or 'all', got {self.rows!r}")
        if self.free_state not in ("frozen", "gas"):
            raise InputError(f"free_state must be 'frozen' or 'gas', got {self.free_state!r}")
        if not self.pressure_Pa > 0:
            raise InputError(f"pressure must be > 0 Pa, got {self.pressure_Pa}")
        if not 0.0 <= self.freeze_isolated <= 1.0:
            raise InputError(f"freeze_isolated must be in [0, 1], got {self.freeze_isolated}")


@dataclass
class Memo:
    """Per-session caches shared by sweeps.

    Attributes
    ----------
    s_free : dict
        Free-ligand conformational entropies (eV/K) by (SMILES, model, settings).
    modes : dict
        Vibrational modes by structure key.
    calc : ase.calculators.calculator.Calculator or None
        The calculator of the harmonic models, loaded once.
    """

    s_free: dict = field(default_factory=dict)
    modes: dict = field(default_factory=dict)
    calc: Any = None


def neighbour_counts(atoms: Atoms, cutoff_A: float) -> dict[int, int]:
    """Nearest-neighbour ligand count of each ligand (heads = ammonium N; images counted).

    Parameters
    ----------
    atoms : ase.Atoms
        A decorated slab (``ligand_index`` labels).
    cutoff_A : float
        Largest head-head (N-N) distance of two neighbours, Å.

    Returns
    -------
    dict of int to int
        Ligand index -> number of neighbouring heads.

    Raises
    ------
    surfchem.errors.InputError
        The structure has no ``ligand_index`` array.
    """
    from ase.neighborlist import neighbor_list

    lig = atoms.get_array("ligand_index") if "ligand_index" in atoms.arrays else None
    if lig is None:
        raise InputError("structure has no 'ligand_index' array; cannot count ligand neighbours")
    heads = [int(i) for i in np.flatnonzero((lig >= 0) & (atoms.numbers == 7))]
    if not heads:
        return {}
    sub = atoms[heads]
    i, _ = neighbor_list("ij", sub, float(cutoff_A))
    counts = np.bincount(i, minlength=len(heads))
    return {int(lig[h]): int(c) for h, c in zip(heads, counts, strict=True)}


def _free_entropy(smiles: str, conf: str, s: ThermoSettings, memo: Memo) -> float:
    key = (smiles, conf, s.T_K if conf == "conformers" else None, s.include_other_rotors,
           s.n_conformers, s.conformer_energies)
    if key not in memo.s_free:
        if conf == "rotor":
            memo.s_free[key] = rotor_entropy_eV_K(smiles, include_other=s.include_other_rotors)
        else:
            memo.s_free[key] = conformer_ensemble_entropy(
                smiles, T_K=s.T_K, n_conformers=s.n_conformers, energies=s.conformer_energies
            ).S_conf_eV_K
    return memo.s_free[key]


def _modes(key: str, atoms: Atoms, indices: list[int] | None, s: ThermoSettings, memo: Memo):
    if key not in memo.modes:
        if memo.calc is None:
            memo.calc = get_calculator(s.calculator)
        memo.modes[key] = vibrational_modes(
            atoms, memo.calc, indices=indices, distance=s.distance_A,
            prerelax_fmax=s.prerelax_fmax_eV_A, cache_dir=s.cache_dir,
            calc_params=preset_parameters(s.calculator),
        )
    return memo.modes[key]


def corrections(
    records: pd.DataFrame,
    refs: References,
    settings: ThermoSettings | None = None,
    structure: Callable[[pd.Series], Atoms | None] | None = None,
    free_reference: Callable[[str], Atoms] | None = None,
    memo: Memo | None = None,
    **kw: Any,
) -> pd.DataFrame:
    """Free-energy corrections of each slab row (module docs).

    Parameters
    ----------
    records : pandas.DataFrame
        One row per relaxed slab (columns of :data:`surfchem.thermo.REQUIRED`, plus ``smiles`` or
        ligand names :func:`~surfchem.build.ligands.resolve_ligand` knows, and ``multiplicity`` for
        the configurational options).
    refs : surfchem.thermo.References
        Reference energies (eV) and the screen's calculator.
    settings : ThermoSettings, optional
        The choices; or give them as keywords ``**kw``, not both.
    structure : callable, optional
        ``structure(row)`` returns the relaxed slab (ase.Atoms) of a row (needed by
        ``freezing='neighbours'`` and the harmonic models; rows it cannot supply get NaN and then
        drop out of the minimum).
    free_reference : callable, optional
        ``free_reference(ligand)`` returns the relaxed ion pair (ase.Atoms; harmonic models).
    memo : Memo, optional
        Caches shared between calls (e.g. a temperature sweep).
    **kw
        Fields of :class:`ThermoSettings`.

    Returns
    -------
    pandas.DataFrame
        Copy of ``records`` with ``F_vib_eV``, ``TS_conf_eV``, ``TS_cfg_eV``, ``G_transrot_eV``
        and ``G_corr_eV`` (eV), and the settings used.

    Raises
    ------
    surfchem.errors.InputError
        Both ``settings`` and keywords given, invalid settings, or a model that needs structures
        or a calculator without them.
    """
    s = settings or ThermoSettings(**kw)
    if settings is not None and kw:
        raise InputError("give settings= or keywords, not both")
    if s.calculator is None:
        s.calculator = refs.calculator or None
    s.validate()
    memo = memo or Memo()
    conf, vib = parse_model(s.model)
    df = records.copy().reset_index(drop=True)
    for c in ("G_eV", "gamma_eV_A2", "gamma_J_m2", "gamma_meV_A2", "dG_eV", "is_min", "G_corr_eV"):
        if c in df:
            df = df.drop(columns=c)
    T = float(s.T_K)
    df["entropy_model"] = s.model.lower()
    df["T_K"] = T
    df["freezing"] = s.freezing if conf else ""
    df["F_vib_eV"] = 0.0
    df["TS_conf_eV"] = 0.0
    df["TS_cfg_eV"] = 0.0
    n = df["n"].astype(int).to_numpy()
    needs_structure = (conf and s.freezing == "neighbours") or vib
    if needs_structure and structure is None:
        raise InputError(f"model {s.model!r} with freezing {s.freezing!r} needs the relaxed structures "
                         "(a screen directory with results.db or structures/)")
    if vib and not s.calculator:
        raise InputError("harmonic models need a calculator preset (references.json 'calculator' or --calculator)")
    smiles_of = _smiles_map(df)
    lowest = df.loc[df["n"] > 0].groupby(["ligand", "n"])["energy_eV"].transform("min")
    is_low = pd.Series(False, index=df.index)
    is_low.loc[lowest.index] = np.isclose(df.loc[lowest.index, "energy_eV"], lowest)

    if conf:
        s_free = {lig: _free_entropy(smi, conf, s, memo) for lig, smi in smiles_of.items()}
        df["S_conf_free_eV_K"] = df["ligand"].map(s_free).astype(float).fillna(0.0)
        frozen = n.astype(float)
        if s.freezing == "neighbours":
            cutoff = s.neighbour_cutoff_A or 1.2 * float(refs.a0_A or 5.9)
            for i, row in df.iterrows():
                if row["n"] == 0:
                    continue
                at = structure(row)
                if at is None:
                    frozen[i] = np.nan
                    continue
                k = np.minimum(np.array(list(neighbour_counts(at, cutoff).values())), s.coordination)
                frozen[i] = float(np.sum(s.freeze_isolated + (1 - s.freeze_isolated) * k / s.coordination))
        df["n_frozen"] = frozen
        df["TS_conf_eV"] = T * df["S_conf_free_eV_K"] * frozen

    if vib:
        f_free = {}
        n_imag_free = {}
        for lig, smi in smiles_of.items():
            pair = free_reference(lig) if free_reference else None
            if pair is None:
                pair = ion_pair(smi)
            m = _modes(f"free:{lig}:{_fingerprint(pair)}", pair, None, s, memo)
            th = vib_thermo(m.frequencies_cm1, T, vib)
            f_free[lig], n_imag_free[lig] = th.F_vib_eV, m.n_imaginary
        fb, nim, ims = [], [], []
        for i, row in df.iterrows():
            if row["n"] == 0:
                fb.append(0.0), nim.append(0), ims.append("")
                continue
            at = structure(row) if (s.rows == "all" or is_low[i]) else None
            if at is None:
                fb.append(np.nan), nim.append(-1), ims.append("")
                continue
            m = _modes(f"slab:{_fingerprint(at)}", at, ligand_indices(at), s, memo)
            fb.append(vib_thermo(m.frequencies_cm1, T, vib).F_vib_eV)
            nim.append(m.n_imaginary)
            ims.append(",".join(f"{v:.0f}" for v in m.imaginary_cm1))
        df["F_vib_bound_eV"] = fb
        df["F_vib_free_eV"] = df["ligand"].map(f_free).astype(float).fillna(0.0)
        df["F_vib_eV"] = df["F_vib_bound_eV"] - n * df["F_vib_free_eV"]
        df["n_imag"] = nim
        df["imag_cm1"] = ims
        df["n_imag_free"] = df["ligand"].map(n_imag_free).fillna(0).astype(int)

    if s.configurational != "none":
        g = df["multiplicity"].astype(float) if "multiplicity" in df else pd.Series(1.0, index=df.index)
        g = g.fillna(1.0).clip(lower=1.0)
        df["TS_cfg_eV"] = -KB_EV_K * T * np.log(g)
        if s.configurational == "boltzmann":
            G0 = df["energy_eV"] + df["F_vib_eV"] + df["TS_conf_eV"]
            for _, grp in df[df["n"] > 0].groupby(["ligand", "n"]):
                Gi = G0[grp.index]
                ok = Gi.notna()
                if not ok.any():
                    continue
                gi, Gi = g[grp.index][ok], Gi[ok]
                gmin = Gi.min()
                geff = gmin - KB_EV_K * T * np.log(np.sum(gi * np.exp(-(Gi - gmin) / (KB_EV_K * T))))
                j = Gi.idxmin()
                df.loc[j, "TS_cfg_eV"] = geff - Gi[j]
    df["G_transrot_eV"] = 0.0
    if s.free_state == "gas":
        g_tr = {}
        for lig, smi in smiles_of.items():
            pair = free_reference(lig) if free_reference else None
            if pair is None:
                pair = ion_pair(smi)
            g_tr[lig] = trans_rot_free_energy_eV(pair, T, s.pressure_Pa)["G_eV"]
        df["G_transrot_eV"] = -n * df["ligand"].map(g_tr).astype(float).fillna(0.0)
    df["free_state"] = s.free_state
    df["G_corr_eV"] = df["F_vib_eV"] + df["TS_conf_eV"] + df["TS_cfg_eV"] + df["G_transrot_eV"]
    return df


def _fingerprint(atoms: Atoms) -> str:
    return task_hash(atoms, {}, {})


def _smiles_map(df: pd.DataFrame) -> dict[str, str]:
    """Ligand name -> recorded SMILES (else resolved from the name; an old ``DDA<n>`` row without
    a recorded SMILES raises, :func:`surfchem.build.ligands.recorded_smiles`)."""
    return {str(lig): recorded_smiles(str(lig), grp["smiles"].tolist() if "smiles" in grp else [])
            for lig, grp in df[df["n"] > 0].groupby("ligand")}


def thermo_table(records: pd.DataFrame, refs: References, settings: ThermoSettings | None = None,
                 structure=None, free_reference=None, memo: Memo | None = None, **kw: Any) -> pd.DataFrame:
    """:func:`corrections` then :func:`surfchem.thermo.coverage_table`: G, gamma, dG per row.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per relaxed slab (as in :func:`corrections`).
    refs : surfchem.thermo.References
        Reference energies (eV).
    settings : ThermoSettings, optional
        The choices; or keywords ``**kw``.
    structure : callable, optional
        ``structure(row)`` -> relaxed slab (as in :func:`corrections`).
    free_reference : callable, optional
        ``free_reference(ligand)`` -> relaxed ion pair (as in :func:`corrections`).
    memo : Memo, optional
        Caches shared between calls.
    **kw
        Fields of :class:`ThermoSettings`.

    Returns
    -------
    pandas.DataFrame
        The coverage table with the corrections: ``G_eV`` (eV), ``gamma_J_m2`` (J/m²), ``dG_eV``
        (eV), ``is_min``, ``entropy_model``, ``T_K`` (K); bare-slab rows carry no correction.

    Raises
    ------
    surfchem.errors.InputError
        As :func:`corrections`.
    """
    corr = corrections(records, refs, settings, structure=structure, free_reference=free_reference,
                       memo=memo, **kw)
    out = coverage_table(corr, refs)
    # bare-slab rows were copied per ligand by coverage_table: they carry no correction
    for c in ("F_vib_eV", "TS_conf_eV", "TS_cfg_eV", "G_transrot_eV"):
        out.loc[out["n"] == 0, c] = 0.0
    out["entropy_model"] = corr["entropy_model"].iloc[0] if len(corr) else ""
    out["T_K"] = corr["T_K"].iloc[0] if len(corr) else np.nan
    return out


SUMMARY_COLUMNS = ["ligand", "n", "arrangement", "energy_eV", "F_vib_eV", "TS_conf_eV", "TS_cfg_eV",
                   "G_transrot_eV", "G_corr_eV", "G_eV", "gamma_J_m2", "gamma_meV_A2", "dG_eV", "entropy_model", "T_K"]


def thermo_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Lowest-G row per (ligand, n).

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`thermo_table`.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`SUMMARY_COLUMNS` (eV, J/m², K) and, when present, ``n_imag`` and
        ``n_imag_free``, sorted by ligand and n.
    """
    best = table[table["is_min"]].drop_duplicates(["ligand", "n"])
    cols = [c for c in SUMMARY_COLUMNS if c in best] + [c for c in ("n_imag", "n_imag_free") if c in best]
    return best[cols].sort_values(["ligand", "n"]).reset_index(drop=True)


def entropy_penalties(ligands, T_K: float = 298.15, models=("rotor", "conformers"),
                      n_conformers: int = 300, conformer_energies: str = "mmff",
                      include_other_rotors: bool = False) -> pd.DataFrame:
    """T S_conf of the free ligand = the penalty per fully frozen bound ligand (eV), per model.

    Parameters
    ----------
    ligands : iterable of str
        Ligand names or ammonium SMILES.
    T_K : float, default 298.15
        Temperature, K.
    models : sequence of str, default ("rotor", "conformers")
        Conformational models (:data:`CONF_MODELS`).
    n_conformers : int, default 300
        Conformers embedded by the conformer model.
    conformer_energies : {"mmff", "gfn1", "gfn2"}, default "mmff"
        Energies of the conformer model.
    include_other_rotors : bool, default False
        The rotor model also counts sp2-sp3 torsions.

    Returns
    -------
    pandas.DataFrame
        Columns ligand, model, T_K, n_rotors (sp3-sp3), n_distinct (conformers found; rotor: 3^n),
        S_conf_free_eV_K (eV/K), TS_conf_per_ligand_eV (eV).

    Raises
    ------
    surfchem.errors.InputError
        A model not in :data:`CONF_MODELS`.
    """
    s = ThermoSettings(T_K=T_K, n_conformers=n_conformers, conformer_energies=conformer_energies,
                       include_other_rotors=include_other_rotors)
    memo = Memo()
    rows = []
    for lig in ligands:
        rc = count_rotors(lig)
        for m in models:
            if m not in CONF_MODELS:
                raise InputError(f"penalty models must be among {CONF_MODELS}, got {m!r}")
            if m == "conformers":
                ens = conformer_ensemble_entropy(rc.smiles, T_K=T_K, n_conformers=n_conformers,
                                                 energies=conformer_energies)
                S, nd = ens.S_conf_eV_K, ens.n_distinct
            else:
                S, nd = _free_entropy(rc.smiles, m, s, memo), 3 ** rc.sp3_sp3
            rows.append((str(lig), m, float(T_K), rc.sp3_sp3, nd, S, T_K * S))
    return pd.DataFrame(rows, columns=["ligand", "model", "T_K", "n_rotors", "n_distinct",
                                       "S_conf_free_eV_K", "TS_conf_per_ligand_eV"])
