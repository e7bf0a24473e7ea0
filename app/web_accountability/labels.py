"""The words the accountability pages show: the names of facts, of their values and
sources, and of the steps, in the page's language; the values the findings form offers;
and the context every page template gets to name things with.
"""

from __future__ import annotations

from typing import Any

from accountability.access import PARTY_NAMES
from accountability.clauses import DECIDER_TEXT, SANCTIONS
from accountability.rules import COOPERATION, FACT_KEYS, GRADES, IMPACTS
from accountability.workflow import STATUS_NAMES
from app.web.translate import _


def fact_labels() -> dict[str, str]:
    return {
        "grade": _("Grade"),
        "reported_as_required": _("Reported as required"),
        "rules_implemented": _("Rules and technical specifications implemented"),
        "noncompliance_led_to_incident": _("The non-compliance led to the incident"),
        "handled_promptly": _("Handled promptly"),
        "impact": _("Impact on property or reputation"),
        "cooperation": _("Cooperation with the investigation"),
        "concealed_or_false_report": _("Deliberately concealed or falsely reported"),
        "evidence_destroyed_or_falsified": _("Evidence destroyed or records falsified"),
        "prior_sanctions": _("Earlier sanctions for not implementing the rules"),
        "force_majeure": _("Caused by force majeure"),
        "full_compliance_proven": _("Full compliance proven, cause unknown"),
        "perfunctory_closure": _("Closed another case perfunctorily or falsified it (5.4)"),
    }


def value_labels() -> dict[str, str]:
    return {
        "true": _("yes"),
        "false": _("no"),
        "none": _("none"),
        "some": _("some impact"),
        "bad": _("bad impact"),
        "serious": _("serious consequences"),
        "full": _("full"),
        "poor": _("poor"),
        "refused": _("refused"),
    }


def source_labels() -> dict[str, str]:
    return {
        "record": _("from the record"),
        "override": _("overridden"),
        "finding": _("investigation finding"),
        "default": _("default"),
    }


def action_labels() -> dict[str, str]:
    return {
        "findings": _("Enter a finding"),
        "determine": _("Determine under Article 5"),
        "propose": _("Propose a sanction"),
        "decide": _("Decide (6(1))"),
        "agree": _("Record agreement (6(2))"),
        "approve": _("Approve (6(2))"),
        "execute": _("Record execution"),
        "police": _("Record the police referral"),
        "close": _("Close the case"),
        "waive": _("Waive the case"),
    }


def fact_choices() -> dict[str, list[tuple[str, str]]]:
    """The values a fact may take in the findings form, as (value, label)."""
    labels = value_labels()
    yes_no = [("true", labels["true"]), ("false", labels["false"])]
    choices: dict[str, list[tuple[str, str]]] = {}
    for key in FACT_KEYS:
        if key == "grade":
            choices[key] = [("", _("no incident"))] + [(g, g) for g in GRADES]
        elif key == "impact":
            choices[key] = [(v, labels[v]) for v in IMPACTS]
        elif key == "cooperation":
            choices[key] = [(v, labels[v]) for v in COOPERATION]
        elif key == "prior_sanctions":
            choices[key] = []
        else:
            choices[key] = yes_no
    return choices


def _pick(pair: dict[str, Any] | tuple[str, str] | None) -> str:
    from app.web.templating import pick

    if pair is None:
        return ""
    if isinstance(pair, dict):
        return pick((str(pair.get("zh", "")), str(pair.get("en", ""))))
    return pick(pair)


def _page_context() -> dict[str, Any]:
    return {
        "fact_labels": fact_labels(),
        "value_labels": value_labels(),
        "source_labels": source_labels(),
        "action_labels": action_labels(),
        "status_names": STATUS_NAMES,
        "sanction_names": SANCTIONS,
        "decider_text": DECIDER_TEXT,
        "party_names": PARTY_NAMES,
        "bi": _pick,
    }
