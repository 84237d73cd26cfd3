"""The computation-experiment link: paper table, joins, correlations, ranking, report, CLI."""

from __future__ import annotations

import base64
import html.parser
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from surfchem.core.units import KB_EV_K
from surfchem.errors import InputError
from surfchem.link import (
    aggregate,
    correlations,
    descriptors_from_results,
    exact_spearman_p,
    join,
    link,
    load_experiments,
    paper_table,
    parse_aliases,
    rank_candidates,
)
from surfchem.link.descriptors import ligand_size
from surfchem.link.join import canonical_smiles
from surfchem.plot.link import link_figures

ROOT = Path(__file__).resolve().parents[1]
SEED = Path("/work/shared/seeds/000_3c5a8938328da44e.txt")


# ---------------------------------------------------------------- paper data


def test_shipped_csv_is_the_paper_table():
    shipped = pd.read_csv(ROOT / "analysis" / "on_fractions.csv")
    paper = paper_table()
    rows = shipped[shipped["source"] == "paper"].reset_index(drop=True)
    assert len(rows) == len(paper)
    for c in ("on_fraction", "mandel_q", "k_on", "k_off", "g2_0", "duration_s"):
        np.testing.assert_array_equal(rows[c].to_numpy(float), paper[c].to_numpy(float))
    assert list(rows["ligand"]) == list(paper["ligand"])
    assert list(rows["figure"]) == list(paper["figure"])


@pytest.mark.skipif(not SEED.is_file(), reason="paper text not available")
def test_paper_numbers_are_quoted_from_the_text():
    lines = SEED.read_text().splitlines()
    for r in paper_table().to_dict("records"):
        cited = [int(r["source_line"])] + [int(x) for x in re.findall(r"line (\d+)", r["note"])]
        text = " ".join(lines[i - 1] for i in cited)
        assert r["quote"] in lines[int(r["source_line"]) - 1], r["quote"]
        for col, scale in (("on_fraction", 100), ("mandel_q", 1), ("k_on", 1), ("k_off", 1), ("g2_0", 1)):
            v = r[col]
            if isinstance(v, float) and math.isfinite(v):
                assert f"{v * scale:g}" in text, (r["condition"], col, v)


def test_paper_aggregate_primary_rows():
    m = aggregate(load_experiments("paper")).set_index(["ligand", "material"])
    assert m.loc[("DDA", "CsPbBr3"), "on_fraction"] == pytest.approx(0.165)
    assert m.loc[("PEA", "CsPbBr3"), "on_fraction"] == pytest.approx(0.942)
    assert m.loc[("IPA", "CsPbBr3"), "on_fraction"] == pytest.approx(0.83)
    assert m.loc[("PEA", "CsPbI3"), "on_fraction"] == pytest.approx(0.949)
    # Q of stacked PEA comes from stacked rows only (0.3), never from the unstacked 8.9
    assert m.loc[("PEA", "CsPbBr3"), "mandel_q"] == pytest.approx(0.3)
    assert m.loc[("PEA", "CsPbBr3"), "k_on"] == pytest.approx(2.0)
    assert math.isnan(m.loc[("PEA+NBA", "CsPbBr3"), "on_fraction"])
    # longest: DDA 300 s, PEA 12 h run
    lo = aggregate(load_experiments("paper"), select="longest").set_index(["ligand", "material"])
    assert lo.loc[("PEA", "CsPbBr3"), "on_fraction"] == pytest.approx(0.98)
    with pytest.raises(InputError, match="select"):
        aggregate(load_experiments("paper"), select="best")


def test_experiments_file_errors_and_batch_csv(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_experiments(tmp_path / "nope.csv")
    batch = tmp_path / "batch.csv"
    pd.DataFrame({"file": ["a.ptu", "b.ptu"], "on_fraction": [0.9, 0.7], "mandel_q": [0.5, 2.0]}).to_csv(batch, index=False)
    with pytest.raises(InputError, match="no 'ligand' column"):
        load_experiments(batch)
    e = load_experiments(batch, ligand="IPA")
    m = aggregate(e)
    assert m["on_fraction"].iloc[0] == pytest.approx(0.8) and m["select"].iloc[0] == "mean"
    pct = tmp_path / "pct.csv"
    pd.DataFrame({"ligand": ["PEA", "IPA"], "on_fraction": [94.2, 83.0]}).to_csv(pct, index=False)
    assert load_experiments(pct)["on_fraction"].tolist() == pytest.approx([0.942, 0.83])
    mixed = tmp_path / "mixed.csv"
    pd.DataFrame({"ligand": ["PEA", "IPA"], "on_fraction": [0.9, 83.0]}).to_csv(mixed, index=False)
    with pytest.raises(InputError, match="fraction"):
        load_experiments(mixed)


# ---------------------------------------------------------------- joins


def _size_descriptors(names: list[str]) -> pd.DataFrame:
    """Real (RDKit) size descriptors of the given ligands, as a descriptor table."""
    d = pd.DataFrame([{"ligand": n, **ligand_size(n)} for n in names])
    d.attrs["material"] = "CsPbBr3"
    return d


def test_ligand_size_descriptors():
    dda, c12, pea = ligand_size("DDA"), ligand_size("C12A"), ligand_size("PEA")
    assert c12["tail_heavy_atoms"] == 12 and c12["rotors"] == 10  # C12 chain: 10 sp3-sp3 torsions
    # the paper's DDA, C26H56N+: two C12 tails + two methyls besides the N; 2 x 11 rotors (the
    # N-CH2 bond of each tail counts, the quaternary N has three other heavy neighbours)
    assert dda["heavy_atoms"] == 27 and dda["tail_heavy_atoms"] == 26 and dda["rotors"] == 22
    assert pea["tail_heavy_atoms"] == 8 and pea["rotors"] == 1
    # rotor counting: R ln 3 per frozen sp3-sp3 rotor (science brief, section 2)
    assert c12["TS_conf_rotor_eV"] == pytest.approx(10 * KB_EV_K * 298.15 * math.log(3))
    assert dda["TS_conf_rotor_eV"] == pytest.approx(22 * KB_EV_K * 298.15 * math.log(3))


def test_join_by_alias_smiles_and_name():
    meas = aggregate(load_experiments("paper"))
    desc = _size_descriptors(["DDA6", "NCCc1ccccc1".replace("N", "[NH3+]", 1), "CC[NH3+]"])
    jr = join(desc, meas)
    t = jr.table.set_index("ligand")
    assert t.loc["DDA6", "measured_ligand"] == "DDA" and t.loc["DDA6", "match"] == "alias"
    assert "DDA6" in jr.alias_notes[0] and "both tails truncated to C6" in jr.alias_notes[0]
    assert t.loc["[NH3+]CCc1ccccc1", "measured_ligand"] == "PEA"
    assert t.loc["[NH3+]CCc1ccccc1", "match"] == "smiles"
    assert not t.loc["CC[NH3+]", "measured"]
    assert t.loc["DDA6", "on_fraction"] == pytest.approx(0.165)
    unmatched = {(u["ligand"], u["material"]) for u in jr.unmatched_measured}
    assert ("IPA", "CsPbBr3") in unmatched and ("PEA", "CsPbI3") in unmatched
    # a measured row written with another SMILES spelling of the same cation still matches
    spelled = pd.DataFrame({"ligand": ["phenethylammonium"], "smiles": ["c1ccccc1CC[NH3+]"],
                            "material": ["CsPbBr3"], "on_fraction": [0.9]})
    js = join(_size_descriptors(["PEA"]), aggregate(load_experiments(spelled)))
    assert js.table["measured_ligand"].iloc[0] == "phenethylammonium" and js.table["match"].iloc[0] == "smiles"
    # a user alias overrides the built-in one
    jr2 = join(desc, meas, aliases={"CC[NH3+]": "IPA"})
    assert jr2.table.set_index("ligand").loc["CC[NH3+]", "measured_ligand"] == "IPA"


def test_truncated_dda_alias_follows_the_molecule():
    meas = aggregate(load_experiments("paper"))
    # a truncated DDA given as SMILES aliases too; the primary hexylammonium C6A does not
    desc = _size_descriptors(["CCCC[N+](C)(C)CCCC", "C6A", "PEA"])
    desc["smiles"] = [canonical_smiles(n) for n in desc["ligand"]]
    t = join(desc, meas).table.set_index("ligand")
    assert t.loc["CCCC[N+](C)(C)CCCC", "measured_ligand"] == "DDA"
    assert "C4" in t.loc["CCCC[N+](C)(C)CCCC", "alias_note"]
    assert not t.loc["C6A", "measured"] and t.loc["C6A", "alias_note"] == ""
    # an old result: DDA6 recorded with the hexylammonium SMILES is refused, not joined
    old = _size_descriptors(["PEA"])
    old = pd.concat([old, pd.DataFrame([{"ligand": "DDA6", "smiles": "CCCCCC[NH3+]"}])], ignore_index=True)
    old.attrs["material"] = "CsPbBr3"
    with pytest.raises(InputError, match=r"DDA6.*CCCCCC\[NH3\+\].*C6A"):
        join(old, meas)
    # ... and a results table that records only the name DDA6 (no smiles column) too
    from surfchem.link.descriptors import descriptors_from_tables

    rows = pd.DataFrame({"ligand": ["", "DDA6"], "n": [0, 1], "gamma_J_m2": [0.1, 0.09], "dG_eV": [np.nan, -1.0]})
    with pytest.raises(InputError, match="no recorded SMILES.*before issue 13.*C6A"):
        descriptors_from_tables(rows)
    rows["smiles"] = ["", canonical_smiles("DDA6")]
    assert descriptors_from_tables(rows)["rotors"].iloc[0] == 10


def test_join_errors_name_the_ligand_and_the_fix():
    meas = aggregate(load_experiments("paper"))
    desc = _size_descriptors(["PEA", "CC[NH3+]"])
    with pytest.raises(InputError, match=r"CC\[NH3\+\].*computed but not measured.*alias"):
        join(desc, meas, ligands=["CC[NH3+]"])
    with pytest.raises(InputError, match=r"\['XYZ'\].*measured but not in the results"):
        join(desc, meas, ligands=["XYZ"])
    with pytest.raises(InputError, match=r"strict.*DDA.*IPA"):
        join(desc, meas, strict=True)
    with pytest.raises(InputError, match="no computed ligand"):
        join(_size_descriptors(["CC[NH3+]"]), meas)
    with pytest.raises(InputError, match="alias for"):
        join(desc, meas, aliases={"NBA": "IPA"})
    with pytest.raises(InputError, match="COMPUTED=MEASURED"):
        parse_aliases(["DDA6"])
    # same name, different molecule: refused rather than silently joined
    other = pd.DataFrame({"ligand": ["PEA"], "smiles": ["CCC[NH3+]"], "material": ["CsPbBr3"],
                          "on_fraction": [0.5]})
    with pytest.raises(InputError, match="differs"):
        join(_size_descriptors(["PEA"]), aggregate(load_experiments(other)))
    # two computed ligands on one measured ligand
    with pytest.raises(InputError, match="all map to measured"):
        join(_size_descriptors(["DDA6", "DDA4"]), meas)


# ---------------------------------------------------------------- statistics


def test_correlations_equal_scipy_on_paper_data():
    meas = aggregate(load_experiments("paper"))
    desc = _size_descriptors(["DDA", "IPA", "PEA", "[NH3+]Cc1ccccc1", "CC[NH3+]"])
    jr = join(desc, meas)
    corr = correlations(jr.table).set_index("descriptor")
    m = jr.table[jr.table["measured"]]
    assert sorted(m["ligand"]) == ["DDA", "IPA", "PEA"]
    for d in ("tail_heavy_atoms", "rotors", "TS_conf_rotor_eV"):
        ref = stats.spearmanr(m[d], m["on_fraction"])
        assert corr.loc[d, "rho"] == pytest.approx(ref.statistic)
        assert corr.loc[d, "p_scipy"] == pytest.approx(ref.pvalue)
        assert corr.loc[d, "n"] == 3
        perm = stats.permutation_test((m[d].to_numpy(float),), lambda x: stats.spearmanr(x, m["on_fraction"]).statistic,
                                      permutation_type="pairings", alternative="two-sided")
        assert corr.loc[d, "p_exact"] == pytest.approx(perm.pvalue)
        assert "n = 3" in corr.loc[d, "caveat"] and "chance" in corr.loc[d, "caveat"]
    from surfchem.link.stats import claim_statement

    assert "Not testable here" in claim_statement(corr.reset_index())


def test_exact_p_small_samples():
    # perfect agreement of 4 points: 2 of 24 orderings reach |rho| = 1
    assert exact_spearman_p([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(2 / 24)
    assert exact_spearman_p([1, 2], [1, 2]) is not None
    assert exact_spearman_p([1, 1, 1], [1, 2, 3]) is None


def test_rank_candidates_follow_the_measured_direction():
    meas = aggregate(load_experiments("paper"))
    cands = ["[NH3+]Cc1ccccc1", "CC[NH3+]", "CCCCCCCC[NH3+]"]
    desc = _size_descriptors(["DDA", "IPA", "PEA", *cands])
    jr = join(desc, meas)
    corr = correlations(jr.table, descriptors=["tail_heavy_atoms"])
    table, text = rank_candidates(jr.table, corr)
    rho = corr["rho"].iloc[0]
    vals = table.set_index("ligand")["tail_heavy_atoms"].reindex(table["ligand"]).to_numpy()
    # ranked from predicted best to worst: ascending descriptor when rho < 0, descending when > 0
    assert np.all(np.diff(vals) * np.sign(rho) <= 0)
    assert sorted(table["ligand"]) == sorted(cands)
    assert "only n = 3" in text
    # a target where lower is better (Mandel Q): the order follows sign(rho) * (-1)
    e = load_experiments(pd.concat([paper_table(), pd.DataFrame(
        {"ligand": ["IPA"], "material": ["CsPbBr3"], "mandel_q": [3.0], "stacking": ["no"],
         "condition": ["user row"]})]))
    jq = join(desc, aggregate(e))
    cq = correlations(jq.table, target="mandel_q", descriptors=["tail_heavy_atoms"])
    tq, textq = rank_candidates(jq.table, cq, target="mandel_q")
    vq = tq["tail_heavy_atoms"].to_numpy()
    assert cq["n"].iloc[0] == 3 and np.all(np.diff(vq) * np.sign(cq["rho"].iloc[0]) >= 0)
    assert "lower mandel_q is better" in textq
    # fewer than 3 measured ligands: no ranking, said plainly
    jr2 = join(_size_descriptors(["PEA", "IPA", "CC[NH3+]"]), meas)
    corr2 = correlations(jr2.table)
    t2, text2 = rank_candidates(jr2.table, corr2)
    assert "no ranking" in text2 and corr2["rho"].isna().all()


# ---------------------------------------------------------------- real screen output


def test_descriptors_from_real_screen(mini_screen):
    d = descriptors_from_results(mini_screen.out).set_index("ligand")
    s = mini_screen.summary.set_index("n")
    assert d.loc["MA", "gamma_min_J_m2"] == pytest.approx(s["gamma_J_m2"].min())
    assert d.loc["MA", "n_gamma_min"] == s["gamma_J_m2"].idxmin()
    assert d.loc["MA", "gamma_nmax_J_m2"] == pytest.approx(s.loc[2, "gamma_J_m2"])
    assert math.isnan(d.loc["MA", "gamma_N8_J_m2"])  # N = 8 not computed
    lat = (s.loc[1, "dG_eV"] + s.loc[2, "dG_eV"]) / 2 - s.loc[1, "dG_eV"]
    assert d.loc["MA", "lateral_eV"] == pytest.approx(lat)
    assert d.loc["MA", "rotors"] == 0 and d.loc["MA", "TS_conf_rotor_eV"] == 0.0
    assert d.loc["MA", "material"] == "CsPbBr3"
    # results.csv records the ligand's SMILES in every row (the bare slab's too) and the sterics
    res = pd.read_csv(mini_screen.out / "results.csv")
    assert (res["smiles"] == "C[NH3+]").all()
    assert (res["chains_top_nm2"] == 0).all() and not res["flag_overpacked"].astype(bool).any()  # MA: no chain
    assert math.isnan(d.loc["MA", "chains_N8_nm2"])  # N = 8 not computed
    with pytest.raises(InputError, match="results.csv"):
        descriptors_from_results(mini_screen.out / "trajectories")
    with pytest.raises(InputError, match=r"\['MA'\] in both"):
        descriptors_from_results([mini_screen.out, mini_screen.out])


class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.h2 = [], []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data)
            self._in_h2 = False


def test_link_report_and_cli(mini_screen, tmp_path):
    # the user appends a (their own) MA measurement to the paper table
    exp = tmp_path / "on.csv"
    user = pd.DataFrame({"ligand": ["MA"], "material": ["CsPbBr3"], "on_fraction": [0.6],
                         "condition": ["user test row"], "primary": [1]})
    pd.concat([paper_table(), user]).to_csv(exp, index=False)
    out = tmp_path / "link"
    res = link(mini_screen.out, exp, out=out, figures=link_figures)
    for f in ("joined.csv", "correlations.csv", "candidates.csv", "report.html", "link.json",
              "comparison.png", "on_vs_descriptors.png", "rank_agreement.png"):
        assert (out / f).is_file(), f
    page = (out / "report.html").read_text()
    p = _Parser()
    p.feed(page)
    assert len(p.imgs) == 3
    for src in p.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"Rank agreement", "Settings", "Versions", "Joined table"} <= set(p.h2)
    assert "numpy" in page and "chgnet-d3" in page and "src=\"http" not in page
    j = pd.read_csv(out / "joined.csv")
    assert j.loc[j["ligand"] == "MA", "on_fraction"].iloc[0] == pytest.approx(0.6)
    assert res.best is None  # one measured ligand: no correlation, said so
    assert "no rank correlation" in page
    # CLI: same run, JSON on stdout; a bad alias is one line on stderr, exit 2
    cmd = [sys.executable, "-m", "surfchem", "link", "--results", str(mini_screen.out),
           "--experiments", str(exp), "--out", str(tmp_path / "cli"), "--no-plots"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["measured_ligands"] == ["MA"] and "caveat" in d
    r = subprocess.run(cmd + ["--alias", "NBA=IPA"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "alias for ['NBA']" in r.stderr


def test_descriptors_from_thermo_output(mini_screen, tmp_path):
    """A `surfchem thermo --out` directory (entropy-corrected gamma) is a valid link input."""
    th = tmp_path / "thermo"
    r = subprocess.run([sys.executable, "-m", "surfchem", "thermo", str(mini_screen.out), "--entropy", "rotor",
                        "--out", str(th)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    d = descriptors_from_results(th)
    assert d.attrs["source_table"] == "thermo.csv (entropy model rotor)"
    s = pd.read_csv(th / "thermo_summary.csv")
    assert d["gamma_min_J_m2"].iloc[0] == pytest.approx(s["gamma_J_m2"].min())
    assert "TS_conf_eV" in d.columns  # per ligand, from the thermo rows (MA: no rotor, 0 eV)
    assert d["TS_conf_eV"].iloc[0] == pytest.approx(0.0)
    with pytest.raises(InputError, match="results.csv"):
        descriptors_from_results(th, table="results")
