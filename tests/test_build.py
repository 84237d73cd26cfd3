"""Builders: composition, site labels, symmetry-distinct arrangements, ligands, decoration."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from surfchem.build import (
    arrangements,
    bulk,
    decorate,
    ion_pair,
    ligand,
    min_clearance,
    resolve_ligand,
    site_indices,
    slab,
    undecorate,
    vacuum_gap,
)
from surfchem.build.arrangements import grow_order, identify, site_permutations
from surfchem.errors import InputError


def test_bulk_compositions_and_lattice():
    b = bulk("CsPbBr3")
    assert b.get_chemical_formula() == "Br3CsPb"
    assert np.allclose(b.cell.lengths(), 5.87)
    i = bulk("CsPbI3", a=6.4)
    assert i.get_chemical_formula() == "CsI3Pb" and np.isclose(i.cell[0, 0], 6.4)
    # Pb-Br distance is a/2 in the cubic perovskite
    assert np.isclose(b.get_distance(1, 2, mic=True), 5.87 / 2)
    assert bulk("CsBr").get_chemical_formula() == "BrCs"
    with pytest.raises(InputError, match="unknown material 'CsSnBr3'"):
        bulk("CsSnBr3")
    with pytest.raises(InputError, match="positive"):
        bulk("CsPbBr3", a=-1)


def test_reference_slab():
    s = slab()
    assert s.get_chemical_formula() == "Br28Cs12Pb8"
    assert len(s) == 48
    sites = site_indices(s)
    assert len(sites) == 8 and (sites >= 0).all()
    assert all(s.symbols[i] == "Cs" for i in sites)
    z = s.positions[:, 2]
    top, bottom = sites[:4], sites[4:]
    assert np.allclose(z[top], z.max()) and np.allclose(z[bottom], z.min())
    assert s.info["surface_faces"] == ["top"] * 4 + ["bottom"] * 4
    assert np.isclose(vacuum_gap(s), 15.0)
    # mirror symmetric: every atom has a partner at (x, y, zmid - (z - zmid))
    zmid = (z.max() + z.min()) / 2
    mirrored = s.positions.copy()
    mirrored[:, 2] = 2 * zmid - mirrored[:, 2]
    d = np.linalg.norm(mirrored[:, None] - s.positions[None], axis=2).min(axis=1)
    assert d.max() < 1e-8


def test_slab_other_sizes_and_errors():
    s = slab("CsPbI3", size=(3, 2), layers=7)
    assert s.get_chemical_formula() == "Cs24I60Pb18"
    assert len(site_indices(s)) == 12
    for bad in [dict(layers=4), dict(layers=1), dict(size=(0, 2)), dict(vacuum=-2)]:
        with pytest.raises(InputError):
            slab(**bad)


@pytest.mark.parametrize("n", range(9))
def test_arrangement_multiplicities_sum_to_binomial(n):
    arrs = list(arrangements(n))
    assert sum(a.multiplicity for a in arrs) == math.comb(8, n)
    assert len({a.sites for a in arrs}) == len(arrs)
    assert all(len(a.sites) == n for a in arrs)


def test_arrangement_counts_and_group():
    counts = [len(list(arrangements(n))) for n in range(9)]
    # complementary occupations are equivalent: counts are palindromic
    assert counts == counts[::-1]
    assert counts[0] == counts[1] == 1 and sum(counts) == 34
    perms = site_permutations(slab())
    # a group: contains the identity, closed under composition
    keys = {tuple(p) for p in perms}
    assert tuple(range(8)) in keys
    assert all(tuple(p[q]) in keys for p in perms for q in perms)
    # the mirror through the slab middle swaps the faces
    assert any(set(p[:4]) == {4, 5, 6, 7} for p in perms)


def test_arrangements_on_larger_slab_sum():
    s = slab(size=(3, 2))
    n_sites = len(s.info["surface_faces"])
    for n in (2, 5):
        assert sum(a.multiplicity for a in arrangements(n, s)) == math.comb(n_sites, n)
    with pytest.raises(InputError, match="0..8"):
        list(arrangements(9))


def test_grow_order_alternates_faces_and_is_a_path_of_arrangements():
    s = slab()
    order = grow_order(s)
    assert sorted(order) == list(range(8))
    faces = [s.info["surface_faces"][i] for i in order]
    assert faces == ["top", "bottom"] * 4
    perms = site_permutations(s)
    # steps 2k-1 and 2k fill mirror images: one symmetry operation maps order[2k] -> order[2k+1]
    # for every k while keeping each earlier pair together (the z-mirror through the middle)
    mirror = [p for p in perms if all(p[order[2 * k]] == order[2 * k + 1] for k in range(4))]
    assert mirror and all(p[order[2 * k + 1]] == order[2 * k] for p in mirror for k in range(4))
    # the grown sets are arrangements with the expected multiplicities
    assert identify(order[:8], perms).multiplicity == 1
    assert identify(order[:1], perms).multiplicity == 8


def test_ligand_library_and_geometry():
    formulas = {"PEA": "C8H12N", "C12A": "C12H28N", "C6A": "C6H16N", "IPA": "C3H10N",
                "NBA": "C4H12N", "OAm": "C18H38N"}
    for name, formula in formulas.items():
        mol = ligand(name, n_conformers=5)
        assert mol.get_chemical_formula() == formula
        n = mol.info["head_index"]
        assert mol.symbols[n] == "N" and np.allclose(mol.positions[n], 0)
        heavy = [i for i, s in enumerate(mol.symbols) if s != "H" and i != n]
        assert mol.positions[heavy, 2].mean() > 0.5  # tail along +z
        hs = [i for i in range(len(mol)) if mol.symbols[i] == "H" and mol.get_distance(i, n) < 1.2]
        assert len(hs) == 3 and (mol.positions[hs, 2] < 0.5).all()  # NH3+ points down
    assert resolve_ligand("c8a").smiles == "CCCCCCCC[NH3+]"


@pytest.mark.parametrize(
    "smiles, match",
    [("not a smiles((", "SMILES RDKit can parse"),
     ("CCN", "did you mean the protonated cation 'CC\\[NH3\\+\\]'"),
     ("CC(=O)[O-]", "no primary ammonium"),
     ("c1cc[nH+]cc1", "no primary ammonium"),
     ("[NH3+]CC[NH3+]", "2 ammonium heads"),
     ("DDA14", "1..12 carbons")],
)
def test_bad_ligands(smiles, match):
    with pytest.raises(InputError, match=match):
        resolve_ligand(smiles)


@pytest.mark.parametrize("lig", ["PEA", "C6A", "IPA"])
def test_decorated_slab_full_coverage(lig):
    s = slab()
    full = decorate(s, lig, range(8))
    mol = ligand(lig)
    n_lig_atoms = len(mol)
    assert full.get_chemical_symbols().count("Cs") == 4
    assert len(full) == 48 - 8 + 8 * n_lig_atoms
    assert full.info["n_ligands"] == 8 and full.info["occupied_sites"] == list(range(8))
    # each ammonium N sits on its Cs site
    site_pos = s.positions[site_indices(s)]
    n_pos = full.positions[[i for i, x in enumerate(full.symbols) if x == "N"]]
    # compare in the decorated cell frame (the slab is re-centred in z): follow the first Pb
    pb_full = [i for i, x in enumerate(full.symbols) if x == "Pb"][0]
    pb_bare = [i for i, x in enumerate(s.symbols) if x == "Pb"][0]
    shift = full.positions[pb_full] - s.positions[pb_bare]
    d = np.linalg.norm((site_pos + shift)[:, None] - n_pos[None], axis=2)
    assert np.allclose(d.min(axis=1), 0, atol=1e-6)
    assert min_clearance(full) >= 1.5
    assert vacuum_gap(full) >= 15.0 - 1e-9  # measured from the ligand tips
    tails = full.positions[full.get_array("ligand_index") >= 0, 2]
    assert tails.max() > full.positions[:, 2][full.get_array("ligand_index") < 0].max()  # tails out


def test_decorate_errors():
    s = slab()
    one = decorate(s, "PEA", [0])
    with pytest.raises(InputError, match="already hold"):
        decorate(one, "PEA", [0])
    with pytest.raises(InputError, match="out of range"):
        decorate(s, "PEA", [8])
    with pytest.raises(InputError, match="distinct"):
        decorate(s, "PEA", [1, 1])


def test_undecorate_inverts_decorate():
    """Shrink starts: removing the ligand of a site puts a Cs back on that site, in the plane of
    the outermost layer of its face, and the result can be decorated again."""
    from surfchem.core.slabgeom import slab_layers

    s = slab()
    order = grow_order(s)
    three = decorate(s, "PEA", order[:3])
    two = undecorate(three, order[2])
    assert two.get_chemical_formula() == decorate(s, "PEA", order[:2]).get_chemical_formula()
    assert two.info["occupied_sites"] == sorted(order[:2]) and two.info["n_ligands"] == 2
    cs = site_indices(two)[order[2]]
    assert cs >= 0 and two.symbols[cs] == "Cs"
    face = two.info["surface_faces"][order[2]]
    layers = slab_layers(two)
    plane = two.positions[(layers[-1] if face == "top" else layers[0]), 2].mean()
    assert abs(two.positions[cs, 2] - plane) < 1e-6
    head = [i for i in range(len(three)) if three.symbols[i] == "N"]
    assert min(np.linalg.norm(three.positions[h, :2] - two.positions[cs, :2]) for h in head) < 1e-6
    assert abs(vacuum_gap(two) - s.info["vacuum_A"]) < 1e-6
    assert decorate(two, "PEA", [order[2]]).get_chemical_formula() == three.get_chemical_formula()
    bare = undecorate(undecorate(two, order[1]), order[0])
    assert bare.get_chemical_formula() == s.get_chemical_formula() and (site_indices(bare) >= 0).all()
    with pytest.raises(InputError, match="holds no ligand"):
        undecorate(two, order[2])


def test_decorate_relaxed_finds_room_next_to_a_leaning_tail():
    """Growing N from a relaxed N-1 slab: a neighbour's tail leaning over the next site makes the
    default placement clash (it did at N = 7 of a PEA search); the fallbacks must still place it."""
    from surfchem.build.decorate import decorate_relaxed

    s = slab()
    one = decorate(s, "PEA", [0])
    lig = np.flatnonzero(one.get_array("ligand_index") >= 0)
    n = [i for i in lig if one.symbols[i] == "N"][0]
    target = s.positions[site_indices(s)[1]]
    # lean the tail over site 1: shear the ligand along the site-0 -> site-1 direction
    d = target[:2] - one.positions[n, :2]
    d /= np.linalg.norm(d)
    height = one.positions[lig, 2] - one.positions[n, 2]
    one.positions[lig, :2] += np.outer(height, d) * 0.7
    with pytest.raises(InputError, match="apart"):
        decorate(one, "PEA", [1])
    two = decorate_relaxed(one, "PEA", [1])
    assert two.info["occupied_sites"] == [0, 1] and min_clearance(two) >= 1.1


def test_ion_pair_reference():
    p = ion_pair("PEA")
    assert p.get_chemical_formula() == "C8H12BrN"
    n = p.info["head_index"]
    br = len(p) - 1
    assert np.isclose(p.get_distance(n, br), 3.2)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "surfchem", *args], capture_output=True, text=True)


def test_cli_build_and_arrangements(tmp_path):
    out = tmp_path / "slab.extxyz"
    r = _cli("build", "--material", "CsPbBr3", "--ligand", "PEA", "--n", "4", "--arrangement", "1",
             "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["formula"] == "C32H48Br28Cs8N4Pb8" and data["n_atoms"] == 128
    assert data["n_ligands"] == 4 and len(data["occupied_sites"]) == 4
    from ase.io import read

    assert len(read(out)) == 128
    r = _cli("arrangements", "--n", "4", "--json")
    arrs = json.loads(r.stdout)
    assert sum(a["multiplicity"] for a in arrs) == 70 and set(arrs[0]) >= {"sites", "multiplicity"}


@pytest.mark.parametrize("args, msg", [
    (["build", "--ligand", "CCN", "--n", "2"], "no primary ammonium"),
    (["build", "--ligand", "PEA", "--n", "9"], "0..8"),
    (["build", "--material", "GaAs"], "unknown material"),
    (["arrangements", "--n", "-1"], "0..8"),
])
def test_cli_errors_are_one_line(args, msg):
    r = _cli(*args)
    assert r.returncode == 2
    assert msg in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_public_api_names_resolve():
    import surfchem

    for name in surfchem.__all__:
        assert getattr(surfchem, name) is not None
    from surfchem import arrangements as arr_fn
    from surfchem import build_slab, screen

    assert callable(screen) and build_slab().get_chemical_formula() == "Br28Cs12Pb8"
    assert sum(a.multiplicity for a in arr_fn(3)) == 56


def test_ion_pair_is_neutral():
    assert ion_pair("PEA").info["charge"] == 0 and ligand("PEA").info["charge"] == 1


@pytest.mark.parametrize("pbc", [(True, True, False), (True, True, True), (False, False, False)])
def test_distance_to_is_the_minimum_image_distance(pbc):
    """The k-d tree behind the rotation scans answers what ASE's get_distances answers."""
    from ase.geometry import get_distances

    from surfchem.build.decorate import distance_to

    s = decorate(slab(layers=3), "PEA", [0, 5])
    f = distance_to(s, pbc)
    rng = np.random.default_rng(7)
    for _ in range(50):
        p = rng.uniform(-15.0, 30.0, (7, 3))
        assert f(p) == pytest.approx(get_distances(p, s.positions, cell=s.cell[:], pbc=pbc)[1].min(), abs=1e-9)
    assert f(np.empty((0, 3))) == float("inf")
