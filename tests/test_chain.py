"""The grow chain and consistency sweeps as a generator (surfchem.trust.chain): the moves, their
order and the skip rules, driven with chosen energies (no calculator; seconds)."""

from __future__ import annotations

import collections

from surfchem.build.arrangements import grow_order
from surfchem.build.slab import slab
from surfchem.trust.chain import ChainSettings, PlanError, Start, grow_and_sweep


def _run(energies, settings, n_max=2):
    """Drive the planner; ``energies(start, seen) -> eV`` gives each start's (fake) result."""
    bare = slab("CsPbBr3", layers=3)
    order = grow_order(bare)
    counts = collections.Counter()
    gen = grow_and_sweep("MA", "C[NH3+]", order, n_max, bare, 0.0, settings, counts)
    seen, outcome = [], None
    while True:
        try:
            item = gen.send(outcome)
        except StopIteration:
            return seen, order, counts
        assert not isinstance(item, PlanError), item.error
        seen.append(item)
        rec = {"energy_eV": energies(item, seen), "status": "ok", "converged": True}
        outcome = (item.atoms, rec)


def test_grow_then_shrink_mirror_splice_in_order():
    def energies(item: Start, seen):
        if item.label == "grow":
            return -10.0 * item.n
        if item.label == "shrink1" and item.n == 1:
            return -10.5  # the shrink finds a lower N = 1 (by more than tol_eV)
        return 0.0
    seen, order, _ = _run(energies, ChainSettings(tol_eV=0.05, sweeps=1, direct_start=True, search=True))
    labels = [(s.label, s.n) for s in seen]
    assert labels[:4] == [("grow", 1), ("grow", 2), ("shrink1", 1), ("shrink1", 0)]
    grow = [s for s in seen if s.label == "grow"]
    assert all(not s.single and s.extra and s.extra[0][0] == "direct" for s in grow)
    sweeps = seen[2:]
    assert all(s.single and s.extra is None for s in sweeps)
    assert all(s.sites == list(order[: s.n]) for s in seen)
    assert {lab for lab, _ in labels[4:]} <= {"mirror_top1", "mirror_bottom1", "splice1"}
    assert ("splice1", 1) in labels  # N = 1 from the top of N = 2 and the bottom of N = 0


def test_a_start_from_unchanged_parents_is_not_made_again():
    def energies(item: Start, seen):
        if item.label == "grow":
            return -10.0 * item.n
        if item.label == "splice1" and item.n == 1:
            return -10.5  # the last move of round 1 improves N = 1
        return 0.0
    seen, _, _ = _run(energies, ChainSettings(tol_eV=0.05, sweeps=2, search=True))
    round2 = [(s.label, s.n) for s in seen if s.label.endswith("2")]
    # round 2 runs (round 1 improved N = 1): N = 2 did not change, so no shrink to N = 1 again;
    # N = 1 did, so the shrink to N = 0 is made again from the new N = 1 (and nothing else)
    assert round2 == [("shrink2", 0)]
    assert not any(lab.endswith("3") for lab, _ in [(s.label, s.n) for s in seen])


def test_no_improvement_ends_after_one_round_and_no_search_means_no_direct_start():
    seen, _, _ = _run(lambda item, seen: -10.0 * item.n if item.label == "grow" else 0.0,
                      ChainSettings(tol_eV=0.05, sweeps=3, direct_start=True, search=False))
    assert all(s.extra is None for s in seen)
    assert not any(s.label.endswith("2") for s in seen)
    assert any(s.label.endswith("1") for s in seen)
