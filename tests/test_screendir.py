"""The screen output directory (:mod:`surfchem.core.screendir`): one writer and reader of
``results.csv``, ``summary.csv``, ``references.json``, ``structures/`` and ``results.db``, checked
on the main job's committed screen (``analysis/fig1_main_job``: CHGNet+D3, C6A and PEA, N = 0..8)."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surfchem.core.hashing import hash_key
from surfchem.core.screendir import (
    REFERENCES_JSON,
    RESULTS_COLUMNS,
    RESULTS_CSV,
    STERIC_COLUMNS,
    SUMMARY_CSV,
    ScreenDir,
    results_columns,
)
from surfchem.core.store import ResultStore
from surfchem.errors import FileFormatError, InputError

MAIN_JOB = Path(__file__).resolve().parents[1] / "analysis" / "fig1_main_job"


@pytest.fixture(scope="module")
def main_job() -> ScreenDir:
    return ScreenDir(MAIN_JOB).require(RESULTS_CSV, SUMMARY_CSV, REFERENCES_JSON)


def _same_atoms(a, b) -> None:
    assert a.get_chemical_symbols() == b.get_chemical_symbols()
    assert np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.cell[:], b.cell[:]) and list(a.pbc) == list(b.pbc)
    for name in ("surface_site", "ligand_index"):
        assert np.array_equal(a.get_array(name), b.get_array(name))


def test_the_main_job_reads(main_job):
    table = main_job.read_results()
    from surfchem.thermo.anchors import ANCHORED_COLUMNS

    # every column but the anchored ones (this run had no --anchor)
    assert list(table.columns) == [c for c in RESULTS_COLUMNS if c not in ANCHORED_COLUMNS] and len(table) == 125
    assert table["task_hash"].str.match(r"^h[0-9a-f]{20}$").all()  # strings, never numbers
    assert set(table["ligand"]) == {"C6A", "PEA"}
    summary = main_job.read_summary()
    assert len(summary) == 18
    assert set(zip(summary["ligand"], summary["n"], strict=True)) == {(lig, n) for lig in ("C6A", "PEA")
                                                                      for n in range(9)}
    refs = main_job.read_references()
    assert refs["material"] == "CsPbBr3" and refs["calculator"] == "chgnet-d3"
    assert set(refs["mu_LX_eV"]) == {"C6A", "PEA"} and refs["g_bulk_eV"] == pytest.approx(-18.7035408)
    tables = main_job.read_tables()  # no thermo.csv here: "auto" is results.csv
    assert tables.source == RESULTS_CSV and tables.table.equals(table) and tables.summary.equals(summary)
    assert tables.references == refs
    # structures/ by (ligand, N): the lowest row's slab, the ion pair, the bare slab
    assert main_job.has_structures and not main_job.database.exists()
    best = table[table["is_min"] & (table["ligand"] == "PEA") & (table["n"] == 8)].iloc[0]
    slab = main_job.read_structure("PEA", 8)
    assert len(slab) == best["n_atoms"] == 208 and slab.get_chemical_formula() == "C64H96Br28Cs4N8Pb8"
    assert main_job.read_ion_pair("PEA").get_chemical_formula() == "C8H12BrN"
    assert main_job.read_structure("PEA", 9) is None
    _same_atoms(main_job.structure_of_row(best, table), slab)
    # a higher row (0.32 eV) of the same (ligand, N) is not in structures/ and there is no results.db
    same = table[(table["ligand"] == "PEA") & (table["n"] == 8)]
    higher = same[same["energy_eV"] > best["energy_eV"] + 0.1]
    assert len(higher) == 1 and main_job.structure_of_row(higher.iloc[0], table) is None
    assert main_job.relaxed(best["task_hash"]) is None


def test_round_trip_is_identical(main_job, tmp_path):
    table, summary, refs = main_job.read_results(), main_job.read_summary(), main_job.read_references()
    out = ScreenDir(tmp_path / "out")  # created on the first write
    assert out.write_results(table) == tmp_path / "out" / RESULTS_CSV
    out.write_summary(summary)
    out.write_references(refs)
    for name in (RESULTS_CSV, SUMMARY_CSV, REFERENCES_JSON):
        assert filecmp.cmp(main_job.path / name, out.path / name, shallow=False), name
    assert out.read_results().equals(table) and out.read_summary().equals(summary)
    assert out.read_references() == refs
    slab = main_job.read_structure("C6A", 3)
    assert out.write_structure(slab, "C6A", 3) == out.path / "structures" / "C6A_n3.extxyz"
    _same_atoms(out.read_structure("C6A", 3), slab)
    assert np.array_equal(out.read_structure("C6A", 3).info["occupied_sites"], slab.info["occupied_sites"])
    out.write_ion_pair(main_job.read_ion_pair("C6A"), "C6A")
    out.write_bare(main_job.read_structure("C6A", 0))
    assert sorted(p.name for p in out.structures_dir.iterdir()) == [
        "C6A_ion_pair.extxyz", "C6A_n3.extxyz", "bare_n0.extxyz"]


def test_results_csv_keeps_the_column_order(tmp_path):
    """Columns are written in RESULTS_COLUMNS order whatever the table's order; others are dropped."""
    table = pd.DataFrame({"task_hash": ["h" + "0" * 20], "scratch": [1], "energy_eV": [-1.5],
                          STERIC_COLUMNS[0]: [0.0], "ligand": ["MA"], "n": [1]})
    assert results_columns(table.columns) == ["ligand", "n", "energy_eV", STERIC_COLUMNS[0], "task_hash"]
    path = ScreenDir(tmp_path).write_results(table)
    assert path.read_text().splitlines()[0] == "ligand,n,energy_eV,chains_top_nm2,task_hash"


def test_structures_from_the_database(main_job, tmp_path):
    """results.db: a row's structure by task hash (either key form), labels and info restored,
    and the ion pair by ligand; the database wins over structures/ for any row."""
    slab = main_job.read_structure("PEA", 2)
    pair = main_job.read_ion_pair("PEA")
    digest = "0123456789abcdef0123"
    store = ResultStore(tmp_path / "results.db")
    store.put(hash_key(digest), slab, {"kind": "slab", "ligand": "PEA", "n": 2, "energy_eV": -1.0})
    store.put(hash_key("fedcba9876543210fedc"), pair, {"kind": "ion_pair", "ligand": "PEA", "energy_eV": -2.0})
    sd = ScreenDir(tmp_path)
    assert sd.has_structures
    for key in (hash_key(digest), digest):
        got = sd.relaxed(key)
        assert np.allclose(got.positions, slab.positions)
        assert np.array_equal(got.get_array("ligand_index"), slab.get_array("ligand_index"))
        assert got.info["occupied_sites"] == list(slab.info["occupied_sites"])
    assert sd.relaxed(hash_key("1" * 20)) is None
    assert sd.db_ion_pair("PEA").get_chemical_formula() == pair.get_chemical_formula()
    assert sd.db_ion_pair("C6A") is None
    records = pd.DataFrame({"ligand": ["PEA", "PEA"], "n": [2, 2], "energy_eV": [-1.0, -3.0],
                            "task_hash": [hash_key(digest), hash_key("2" * 20)]})
    assert np.allclose(sd.structure_of_row(records.iloc[0], records).positions, slab.positions)
    assert sd.structure_of_row(records.iloc[1], records) is None  # neither in the db nor in structures/


def test_a_directory_that_is_not_a_screen_output(tmp_path, main_job):
    with pytest.raises(InputError, match="does not exist.*results.csv"):
        ScreenDir(tmp_path / "nope").read_results()
    (tmp_path / "file.csv").write_text("a\n1\n")
    with pytest.raises(InputError, match="is a file, not a directory"):
        ScreenDir(tmp_path / "file.csv").read_tables()
    other = tmp_path / "other"
    (other / "trajectories").mkdir(parents=True)
    with pytest.raises(InputError, match=r"has no results.csv or references.json; it holds \['trajectories'\]"
                                         r".*surfchem screen"):
        ScreenDir(other).require(RESULTS_CSV, REFERENCES_JSON)
    (other / "results.db").write_bytes(b"")
    with pytest.raises(InputError, match="results.db is there: the screen may still be running"):
        ScreenDir(other).read_tables()
    with pytest.raises(InputError, match="has no thermo.csv.*surfchem thermo RESULTS --out DIR"):
        main_job.read_tables("thermo")
    with pytest.raises(InputError, match="table must be 'auto', 'results' or 'thermo', got 'summary'"):
        main_job.read_tables("summary")
    (other / "references.json").write_text("[1, 2]")
    with pytest.raises(FileFormatError, match="not a screen references file"):
        ScreenDir(other).read_references()
    (other / "references.json").write_text("{not json")
    with pytest.raises(FileFormatError, match="references.json: not a screen references file"):
        ScreenDir(other).read_references()
    assert ScreenDir(tmp_path / "nope").read_references(required=False) == {}


def test_every_reader_uses_the_one_format(main_job):
    """The thermo layer's load_screen, link's descriptors and the campaign's column list are this
    module's: the same rows, the same structures, the same columns."""
    from surfchem.build.sterics import STERIC_COLUMNS as build_steric
    from surfchem.campaign.output import TABLE_COLUMNS
    from surfchem.link.descriptors import coverage_summary
    from surfchem.thermo.results import load_screen

    assert TABLE_COLUMNS == list(RESULTS_COLUMNS) and build_steric is STERIC_COLUMNS
    data = load_screen(MAIN_JOB)
    table = main_job.read_results()
    assert data.records.drop(columns=["n_A", "n_B"]).equals(table)  # every energy is finite here
    assert data.refs.calculator == "chgnet-d3" and data.refs.mu_LX_eV == main_job.read_references()["mu_LX_eV"]
    best = data.records[data.records["is_min"] & (data.records["n"] == 5) & (data.records["ligand"] == "C6A")]
    _same_atoms(data.structure(best.iloc[0]), main_job.read_structure("C6A", 5))
    assert data.free_reference("C6A") is None  # ion pairs come from results.db only
    assert coverage_summary(MAIN_JOB).equals(main_job.read_summary())
    with pytest.raises(InputError, match="results.csv"):
        load_screen(MAIN_JOB / "structures")


def test_campaign_writer_uses_the_format(tmp_path, main_job):
    """write_outputs (the campaign's writer) on the main job's own tables reproduces its files."""
    from types import SimpleNamespace

    from surfchem.campaign.output import write_outputs

    table, summary = main_job.read_results(), main_job.read_summary()
    refs = main_job.read_references()
    slab, pair = main_job.read_structure("PEA", 4), main_job.read_ion_pair("PEA")
    bare = main_job.read_structure("C6A", 0)

    class _Refs:
        def as_dict(self):
            return {k: refs[k] for k in ("material", "g_bulk_eV", "mu_AX_eV", "mu_LX_eV", "mu_LX_kind",
                                         "a0_A", "calculator", "bulk_tilt_gain_eV")}

    stage = SimpleNamespace(stage=0, table=table, summary=summary, references=_Refs(),
                            n_min=refs["n_min"], missing={})
    result = SimpleNamespace(out=tmp_path, stages=[stage], references=_Refs(), n_min=refs["n_min"],
                             complete=True, missing={}, wall_s=refs["wall_s"], counts=refs["counts"],
                             failures=[], files={}, anchors={})
    write_outputs(result, {"stage0/slab/PEA/4": slab, "stage0/ion_pair/PEA": pair, "stage0/slab//0": bare,
                           "stage0/hash/h0": slab})
    for name in (RESULTS_CSV, SUMMARY_CSV, REFERENCES_JSON):
        assert filecmp.cmp(main_job.path / name, tmp_path / name, shallow=False), name
    assert json.loads((tmp_path / REFERENCES_JSON).read_text()) == refs
    assert result.files == {"results": str(tmp_path / RESULTS_CSV), "summary": str(tmp_path / SUMMARY_CSV),
                            "references": str(tmp_path / REFERENCES_JSON)}
    assert sorted(p.name for p in (tmp_path / "structures").iterdir()) == [
        "PEA_ion_pair.extxyz", "PEA_n4.extxyz", "bare_n0.extxyz"]
    _same_atoms(ScreenDir(tmp_path).read_structure("PEA", 4), slab)
