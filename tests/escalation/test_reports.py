"""Report contents: CAC measures Art. 7 (items 1–8, 2a for ransomware) and Art. 8."""

from __future__ import annotations

import pytest

from incidents.errors import ValidationError
from incidents.reports import ART8_ITEMS, ransom_to_be_determined, validate_items

INITIAL = {"entity": "交通管理处", "occurrence": "09:00 发现篡改"}


def test_an_initial_report_needs_items_one_and_two() -> None:
    assert validate_items("initial", INITIAL) == INITIAL
    with pytest.raises(ValidationError) as err:
        validate_items("initial", {"entity": "交通管理处"})
    assert err.value.field == "items.occurrence"


def test_the_other_items_may_come_with_the_initial_report() -> None:
    items = {**INITIAL, "trend": "可控", "preliminary_cause": "弱口令", "scene": "已封存"}
    assert validate_items("initial", items) == items


def test_a_ransomware_report_carries_item_2a_to_be_determined_until_known() -> None:
    # Art. 7: the initial report does not wait; what is unknown follows as a supplement.
    clean = validate_items("initial", {**INITIAL, "ransomware": True})
    assert clean["ransom"] == {"amount": "tbd", "method": "tbd", "date": "tbd"}
    ransom = {"amount": 2.5, "currency": "BTC", "method": "比特币钱包", "date": "2026-11-27"}
    clean = validate_items("initial", {**INITIAL, "ransomware": True, "ransom": ransom})
    assert clean["ransom"] == ransom


def test_a_ransom_with_a_bad_date_names_the_field() -> None:
    ransom = {"amount": 1, "method": "x", "date": "yesterday"}
    with pytest.raises(ValidationError) as err:
        validate_items("initial", {**INITIAL, "ransom": ransom})
    assert err.value.field == "items.ransom.date"


def test_a_final_report_needs_every_article_8_item() -> None:
    full = {key: "……" for key in ART8_ITEMS}
    assert validate_items("final", full) == full
    without = dict(full)
    del without["lessons"]
    with pytest.raises(ValidationError) as err:
        validate_items("final", without)
    assert err.value.field == "items.lessons"


def test_an_unknown_item_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as err:
        validate_items("initial", {**INITIAL, "mood": "bad"})
    assert err.value.field == "items.mood"


def test_a_supplement_needs_at_least_one_item() -> None:
    with pytest.raises(ValidationError):
        validate_items("supplement", {})
    assert validate_items("supplement", {"leads": "IP 1.2.3.4"}) == {"leads": "IP 1.2.3.4"}


def test_a_follow_up_may_report_progress() -> None:
    assert validate_items("follow_up", {"progress": "已溯源"}) == {"progress": "已溯源"}
    with pytest.raises(ValidationError):
        validate_items("supplement", {"progress": "已溯源"})


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        validate_items("draft", INITIAL)
    assert err.value.field == "kind"


def test_empty_text_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        validate_items("initial", {"entity": "  ", "occurrence": "x"})
    assert err.value.field == "items.entity"


def test_a_ransom_part_not_yet_known_is_to_be_determined() -> None:
    # Art. 7: 其他情况及时补报 — the known parts go now, the rest follow.
    clean = validate_items("initial", {**INITIAL, "ransomware": True, "ransom": {"amount": 3}})
    assert clean["ransom"] == {"amount": 3, "currency": "CNY", "method": "tbd", "date": "tbd"}
    assert ransom_to_be_determined(clean) == ["method", "date"]
    supplement = validate_items(
        "supplement", {"ransom": {"amount": 3, "method": "门罗币", "date": "2026-11-28"}}
    )
    assert ransom_to_be_determined(supplement) == []


def test_a_ransom_amount_is_a_number_or_tbd() -> None:
    with pytest.raises(ValidationError) as err:
        validate_items("initial", {**INITIAL, "ransom": {"amount": "lots"}})
    assert err.value.field == "items.ransom.amount"
