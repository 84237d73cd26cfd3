"""Cross-check of our (100) slab builder against pymatgen's SlabGenerator (Tran et al., Sci. Data
3, 160080 (2016)): the CsBr-terminated symmetric slab of both materials is the same structure as
pymatgen's symmetrised Cs3Pb2X7 termination, and not the PbX2-terminated one."""

import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core.surface import SlabGenerator
from pymatgen.io.ase import AseAtomsAdaptor

from surfchem.build.bulk import bulk
from surfchem.build.slab import slab


@pytest.mark.parametrize("material,x", [("CsPbBr3", "Br"), ("CsPbI3", "I")])
def test_slab_matches_pymatgen_slabgenerator(material, x):
    b = bulk(material)
    a0 = b.cell[0, 0]
    gen = SlabGenerator(AseAtomsAdaptor.get_structure(b), (1, 0, 0), min_slab_size=3, min_vacuum_size=3,
                        center_slab=True, in_unit_planes=True, lll_reduce=False, primitive=False)
    slabs = {s.composition.reduced_formula: s for s in gen.get_slabs(symmetrize=True)}
    assert {f"Cs3Pb2{x}7", f"Cs2Pb3{x}8"} <= set(slabs)  # the two symmetric terminations
    ref = slabs[f"Cs3Pb2{x}7"].copy()
    ref.make_supercell([2, 2, 1])
    other = slabs[f"Cs2Pb3{x}8"].copy()
    other.make_supercell([2, 2, 1])
    ours = slab(material, size=(2, 2), layers=5, vacuum=ref.lattice.c - 2 * a0)  # same cell height
    mine = AseAtomsAdaptor.get_structure(ours)
    assert mine.composition == ref.composition  # Cs12 Pb8 X28
    assert mine.lattice.abc == pytest.approx(ref.lattice.abc, abs=1e-6)
    sm = StructureMatcher(ltol=0.2, stol=0.3, angle_tol=5, primitive_cell=False, scale=False,
                          attempt_supercell=False)
    assert sm.fit(ref, mine)
    assert not sm.fit(other, mine)
    assert slabs[f"Cs3Pb2{x}7"].is_symmetric()
