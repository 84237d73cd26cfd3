"""Builders for every ammonium head: primary, secondary, tertiary, quaternary (issue 13).

The paper's DDA is didodecyldimethylammonium (quaternary, two C12 tails); ``DDA<n>`` truncates
both tails, ``C<n>A`` names the one-tailed primary n-alkylammoniums. Small 3-layer slabs keep the
runtime down.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pytest
from ase.geometry import get_distances
from ase.io import read

from surfchem.build import decorate, ligand, min_clearance, resolve_ligand, site_indices, slab
from surfchem.build.decorate import HEAD_CLEARANCE_A, HEAD_DEPTH_SCAN_A, MIN_CLEARANCE_A
from surfchem.build.ligands import acidic_hydrogens, head_class, head_index, tail_contact, tails
from surfchem.cli.main import main
from surfchem.errors import InputError

#: the N of a head without N-H sits at most this far (Å) from the removed Cs (the deepest
#: outward depth of the scan)
MAX_HEAD_OFFSET_A = -min(HEAD_DEPTH_SCAN_A)


@pytest.fixture(scope="module")
def bare():
    return slab(layers=3)


def _composition(atoms) -> Counter:
    return Counter(atoms.get_chemical_symbols())


def _site_in_frame(bare, built, site: int) -> np.ndarray:
    """Position (Å) of the removed Cs of ``site`` in the frame of ``built`` (decorate re-centres
    the slab in z): follow the first Pb."""
    pb_bare = bare.get_chemical_symbols().index("Pb")
    pb_built = built.get_chemical_symbols().index("Pb")
    return bare.positions[site_indices(bare)[site]] + built.positions[pb_built] - bare.positions[pb_bare]


def _ligand_checks(bare, built, site: int, formula: str, n_tails: int):
    """The one ligand on ``site`` of ``built``: composition, head on the site, tails clear of the
    slab and of each other, tails above the N (``site`` on the top face). Returns (N offset above
    the site in Å, tail-slab and tail-tail closest approaches in Å)."""
    lig = built.get_array("ligand_index") >= 0
    mol = built[lig]
    assert mol.get_chemical_formula() == formula
    expected = _composition(bare) - Counter({"Cs": 1}) + _composition(mol)
    assert _composition(built) == expected  # one L+ in place of one Cs+
    n = mol.get_chemical_symbols().index("N")
    site_pos = _site_in_frame(bare, built, site)
    offset = mol.positions[n] - site_pos
    assert np.linalg.norm(offset[:2]) < 1e-6  # N straight above/below the removed Cs
    assert -0.5 - 1e-9 <= offset[2] <= MAX_HEAD_OFFSET_A + 1e-9
    ts = tails(mol, n)
    assert len(ts) == n_tails
    slab_pos = built.positions[~lig]
    tail_slab = min(get_distances(mol.positions[t], slab_pos, cell=built.cell, pbc=built.pbc)[1].min() for t in ts)
    assert tail_slab > MIN_CLEARANCE_A
    assert min_clearance(built) >= MIN_CLEARANCE_A
    tail_tail = tail_contact(mol, n)
    assert tail_tail > MIN_CLEARANCE_A
    for t in ts:  # outward: every tail carbon above the N (top face)
        carbons = t[mol.numbers[t] == 6]
        assert (mol.positions[carbons, 2] > mol.positions[n, 2]).all()
    return float(offset[2]), float(tail_slab), float(tail_tail)


def test_cli_build_dda_puts_one_didodecyldimethylammonium_on_the_slab(tmp_path, capsys):
    """The paper's DDA: its splayed C12 tails reach their own periodic image in the 2x2 cell
    (11.9 Å; refused with the reason), so it is built on the 3x3 slab."""
    rc = main(["build", "--ligand", "DDA", "--n", "1", "--layers", "3"])
    assert rc == 2
    assert "its own periodic image" in capsys.readouterr().err
    out = tmp_path / "dda.extxyz"
    rc = main(["build", "--ligand", "DDA", "--n", "1", "--layers", "3", "--size", "3x3", "-o", str(out), "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ligand"] == "DDA" and data["n_ligands"] == 1 and data["occupied_sites"] == [0]
    assert data["smiles"] == "CCCCCCCCCCCC[N+](C)(C)CCCCCCCCCCCC"
    built = read(out)
    assert data["formula"] == built.get_chemical_formula()
    assert data["formula"] == "C26H56Br36Cs17NPb9"  # bare Cs18Pb9Br36: one Cs out, C26H56N+ in
    bare3 = slab(size=(3, 3), layers=3)
    height, tail_slab, tail_tail = _ligand_checks(bare3, built, 0, "C26H56N", n_tails=2)
    # no N-H: the depth scan raised the head above the Cs site to the first clear depth
    assert height == pytest.approx(-data["depth_A"]) and data["depth_A"] in HEAD_DEPTH_SCAN_A
    mol = built[built.get_array("ligand_index") >= 0]
    assert not acidic_hydrogens(mol).any()
    # both C12 tails, splayed: their centroids are far apart
    ts = [t[mol.numbers[t] == 6] for t in tails(mol)]
    assert sorted(len(t) for t in ts) == [12, 12]
    assert np.linalg.norm(mol.positions[ts[0]].mean(0) - mol.positions[ts[1]].mean(0)) > 8.0


@pytest.mark.parametrize("lig, formula, head, n_tails, n_nh", [
    ("DDA4", "C10H24N", "quaternary", 2, 0),
    ("CCCC[NH2+]CCCC", "C8H20N", "secondary", 2, 2),
    ("CCCC[NH+](C)C", "C6H16N", "tertiary", 1, 1),
])
def test_other_heads_build(bare, lig, formula, head, n_tails, n_nh):
    assert head_class(lig) == head
    mol = ligand(lig)  # the N found without an embedding is the embedded molecule's N
    assert head_index(mol.info["smiles"]) == mol.info["head_index"] and mol[mol.info["head_index"]].symbol == "N"
    built = decorate(bare, lig, [0])
    height, _, _ = _ligand_checks(bare, built, 0, formula, n_tails)
    assert int(acidic_hydrogens(built).sum()) == n_nh  # only N-H count, never C-H
    if n_nh:
        assert height == pytest.approx(0.0, abs=1e-9)  # N-H heads stay on the Cs site
        assert "depth_scan_clearance_A" not in built.info
    else:
        scan = built.info["depth_scan_clearance_A"]
        k = HEAD_DEPTH_SCAN_A.index(built.info["depth_A"])
        assert scan[k] >= HEAD_CLEARANCE_A and all(c < HEAD_CLEARANCE_A for c in scan[:k])


def test_explicit_depth_overrides_the_scan(bare):
    built = decorate(bare, ligand("DDA4", n_conformers=10), [0], depth=-0.5)
    n = built.get_chemical_symbols().index("N")
    assert built.positions[n, 2] - _site_in_frame(bare, built, 0)[2] == pytest.approx(0.5)
    assert "depth_scan_clearance_A" not in built.info


def test_names_and_canonical_smiles():
    assert resolve_ligand("DDA").smiles == resolve_ligand("C[N+](C)(CCCCCCCCCCCC)CCCCCCCCCCCC").smiles
    assert resolve_ligand("dda12").name == "DDA"
    assert resolve_ligand("DDA4").smiles == "CCCC[N+](C)(C)CCCC"
    spec = resolve_ligand("C[N+](C)(CCCC)CCCC")  # any SMILES is recorded canonically
    assert spec.smiles == "CCCC[N+](C)(C)CCCC" and spec.name == "C[N+](C)(CCCC)CCCC"
    assert resolve_ligand("C12A").smiles == "CCCCCCCCCCCC[NH3+]"  # the old meaning of DDA
    assert resolve_ligand("c6a") == resolve_ligand("CCCCCC[NH3+]").__class__("C6A", "CCCCCC[NH3+]")
    mol = ligand("DDA2", n_conformers=4)
    assert mol.info["smiles"] == "CC[N+](C)(C)CC" and mol.info["head"] == "quaternary"
    assert mol.get_chemical_formula() == "C6H16N" and mol.info["n_tails"] == 2
    mol.positions += 1.0  # the cached embedding hands out copies
    assert np.allclose(ligand("DDA2", n_conformers=4).positions[mol.info["head_index"]], 0.0)


@pytest.mark.parametrize("bad, message", [
    ("C1CC(", "SMILES RDKit can parse"),
    ("CC(=O)[O-]", "no ammonium N+ on carbon"),
    ("C[N+](C)(C)CC[NH3+]", "has 2 ammonium heads; a ligand needs exactly one ammonium N"),
    ("CCCCN", "neutral amine .* did you mean the protonated cation 'CCCC[NH3+]'"),
    ("CCCCN(C)C", "did you mean the protonated cation 'CCCC[NH+](C)C' or the quaternised cation "
                  "'CCCC[N+](C)(C)C'"),
    ("C[N+](C)(C)CC(=O)[O-]", "has net charge +0; a ligand cation needs +1"),
    ("CCCC[NH3+].[Br-]", "has net charge +0; a ligand cation needs +1"),
    ("DDA13", "truncated DDA needs 1..12 carbons"),
])
def test_bad_ligand_messages_name_the_input(bad, message):
    parts = [repr(bad), *message.split(" .* ")]  # all present, in any order
    pattern = "".join(f"(?=.*{re.escape(p)})" for p in parts)
    with pytest.raises(InputError, match=pattern):
        resolve_ligand(bad)


def test_cli_bad_ligand_is_one_line(capsys):
    rc = main(["build", "--ligand", "CCCCN(C)C", "--n", "1", "--layers", "3"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "'CCCCN(C)C'" in err and "'CCCC[N+](C)(C)C'" in err


def test_acidic_hydrogens_only_n_bound():
    """The proton-transfer rule must see N-H only: PEA's NH3+ has 3, a quaternary head none,
    though both have C-H next to the N."""
    both = decorate(decorate(slab(layers=3), "PEA", [0]), ligand("DDA2", n_conformers=4), [1])
    mask = acidic_hydrogens(both)
    sym = np.array(both.get_chemical_symbols())
    assert mask.sum() == 3 and (sym[mask] == "H").all()
    assert (both.get_array("ligand_index")[mask] == 0).all()  # all on PEA, the first ligand


def test_ion_pair_of_a_quaternary_head_keeps_the_halide_clear():
    """No N-H to hydrogen-bond: X- moves out along the axis until clear of the methyl H."""
    from surfchem.build import ion_pair

    pair = ion_pair("DDA2")
    x = len(pair) - 1
    assert pair.info["charge"] == 0 and pair.symbols[x] == "Br"
    assert pair.get_distances(x, range(x)).min() >= HEAD_CLEARANCE_A
    assert pair.info["n_x_distance_A"] > 3.2
    assert ion_pair("PEA").info["n_x_distance_A"] == 3.2  # N-H heads: unchanged


def test_undecorate_a_quaternary_head(bare):
    """Shrink starts work for a head that sits above the site: the Cs goes back into the plane."""
    from surfchem.build import undecorate

    one = decorate(bare, "DDA2", [0])
    back = undecorate(one, 0)
    assert back.get_chemical_formula() == bare.get_chemical_formula()
    assert back.info["occupied_sites"] == [] and (site_indices(back) >= 0).all()


def test_a_face_full_of_two_tailed_ligands_is_relieved_not_given_up(bare):
    """The DDA6 search stopped at N = 4: no rigid conformer of a fifth DDA6 had room (best 0.86 Å
    on the relaxed N = 4 slab). A full face of DDA6 on the 3-layer slab is such a case: every
    rigid placement fails, the relieved one (MMFF94 among fixed neighbours, N on its site) passes
    the contact rule, keeps every molecule whole, leaves the inorganic slab alone and keeps the
    tails on the outward side."""
    from surfchem.build.decorate import close_contacts, decorate_relaxed
    from surfchem.build.ligands import bond_graph

    sites = [0, 1, 2, 3]  # the whole top face
    with pytest.raises(InputError, match="apart"):
        decorate(bare, "DDA6", sites, clearance_A=1.1)
    rigid = decorate(bare, "DDA6", sites, clearance_A=0.0)  # the starting point of the relief
    assert close_contacts(rigid) or min_clearance(rigid) < 1.1
    built = decorate_relaxed(bare, "DDA6", sites)
    assert built.info["relieved_ligands"] == [0, 1, 2, 3]
    assert not close_contacts(built) and min_clearance(built) >= 1.1
    lig = built.get_array("ligand_index")
    free = ligand("DDA6")
    z_top = built.positions[lig < 0, 2].max()
    for k in range(4):
        mol = built[lig == k]
        assert bond_graph(mol) == bond_graph(free)  # no bond broken or made by the relief
        n = mol.get_chemical_symbols().index("N")
        site_pos = _site_in_frame(bare, built, sites[k])
        assert np.linalg.norm(mol.positions[n, :2] - site_pos[:2]) < 1e-6  # N still on its site
        tail_c = np.concatenate([t[mol.numbers[t] == 6] for t in tails(mol, n)])
        assert (mol.positions[tail_c, 2] > z_top).all()  # tails outward, above the slab
    # the inorganic slab is not moved: at most one rigid shift along z (the vacuum reset)
    moved = built.positions[lig < 0] - rigid.positions[rigid.get_array("ligand_index") < 0]
    assert np.ptp(moved, axis=0).max() < 1e-9 and np.abs(moved[:, :2]).max() < 1e-9


def test_relieving_the_eighth_dda4_keeps_every_bond():
    """The 8th DDA4 on the relaxed N = 7 minimum of a DDA4 one-start search
    (``tests/data/dda4_n7_minimum.extxyz``, CHGNet+D3): no rigid conformer has room, and the
    MMFF94 relief among the crowded neighbours stretched a C-C bond to 1.92 Å (bonding range
    1.83 Å). The search judged both N = 8 starts against that broken bond graph and rejected
    both (`bonds`). A relieved start must keep every bond of every ligand."""
    from pathlib import Path

    from surfchem.build.decorate import close_contacts, decorate_relaxed
    from surfchem.build.ligands import bond_graph

    n7 = read(Path(__file__).parent / "data" / "dda4_n7_minimum.extxyz")
    assert n7.info["n_ligands"] == 7 and 6 not in n7.info["occupied_sites"]
    built = decorate_relaxed(n7, "DDA4", [6])
    assert built.info["relieved_ligands"] == [7]
    assert not close_contacts(built) and min_clearance(built) >= 1.1
    lig = built.get_array("ligand_index")
    free = bond_graph(ligand("DDA4"))
    assert [k for k in range(8) if bond_graph(built[lig == k]) != free] == []
