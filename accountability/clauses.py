"""The text of Articles 4–6 of the implementation rules, in Chinese and English.

The Chinese is quoted from the original 《网络安全责任制实施细则》 with only the list
markers and the closing ``;``/``。`` removed, so that a determination shows the very words
it rests on; where the two languages disagree, the Chinese is the source. The English is
the project's rendition with the same clause ids. Keep both verbatim: a reader holds
every determination against this text.

The original's quirks are kept on purpose: 5.2(b) reads 管理制度技术规范 (without 及),
and 5.2(c) says 医院 where the other clauses say 单位; the rendition reads both as the
organisation.
"""

from __future__ import annotations

from typing import Final

#: Article 5 clause id -> (tier, zh, en), in the order of the text.
CLAUSE_TEXT: Final[dict[str, tuple[int, str, str]]] = {
    "5.1(a)": (
        1,
        "发生一般或较大安全事件,未按要求上报的",
        "a general or relatively major incident occurred and was not reported as required",
    ),
    "5.1(b)": (
        1,
        "未按规定落实相关网络安全管理制度及技术规范,且未导致安全事件发生的",
        "the rules were not implemented, and no incident resulted",
    ),
    "5.1(c)": (
        1,
        "发生重大安全事件后,对调查工作配合不力的",
        "after a major incident, the subject cooperated poorly with the investigation",
    ),
    "5.2(a)": (
        2,
        "发生重大安全事件,未按要求上报的",
        "a major incident occurred and was not reported as required",
    ),
    "5.2(b)": (
        2,
        "未按规定落实相关网络安全管理制度技术规范,导致一般或较大安全事件发生的",
        "the rules were not implemented, and that led to a general or relatively major incident",
    ),
    "5.2(c)": (
        2,
        "发生重大或特别重大安全事件,且发生安全事件后处理及时,未对医院财产或声誉造成影响的",
        "a major or especially major incident occurred, was handled promptly, and caused "
        "no impact on the organisation's property or reputation",
    ),
    "5.2(d)": (
        2,
        "经过批评教育或责令作出书面检查后,仍不按规定落实相关网络安全管理制度及技术规范的",
        "after criticism and education or a written self-criticism, the subject still "
        "did not implement the rules (repeat non-compliance)",
    ),
    "5.2(e)": (
        2,
        "发生特别重大安全事件后,对调查工作配合不力的",
        "after an especially major incident, the subject cooperated poorly with the investigation",
    ),
    "5.3(a)": (
        3,
        "发生特别重大安全事件,未按要求上报的",
        "an especially major incident occurred and was not reported as required",
    ),
    "5.3(b)": (
        3,
        "发生重大或特别重大安全事件,且发生安全事件后处理不及时,给单位财产或声誉带来一定影响的",
        "a major or especially major incident was not handled promptly and had some "
        "impact on the organisation's property or reputation",
    ),
    "5.3(c)": (
        3,
        "发生特别重大安全事件后,对调查工作不配合的",
        "after an especially major incident, the subject did not cooperate with the investigation",
    ),
    "5.4(a)": (
        4,
        "发生重大或特别重大安全事件造成后果严重并刻意隐瞒或谎报,造成恶劣影响的",
        "a major or especially major incident had serious consequences and was deliberately "
        "concealed or falsely reported, causing a bad impact",
    ),
    "5.4(b)": (
        4,
        "未按规定落实相关网络安全管理制度及技术规范导致发生重大或特别重大安全事件,"
        "且发生安全事件后处理不及时,给单位财产或声誉带来恶劣影响的",
        "the rules were not implemented, which led to a major or especially major incident "
        "that was not handled promptly and had a bad impact on property or reputation",
    ),
    "5.4(c)": (
        4,
        "发生安全事件后销毁证据、弄虚作假的",
        "evidence was destroyed or records falsified after an incident",
    ),
    # The closing sentence of 5.4: the one who pursues accountability is accountable.
    # Its sanction is 通报批评 alone (CLAUSE_SANCTIONS), decided under 6(1); it sits at
    # tier 2, the lowest tier that allows circulated criticism.
    "5.4(closing)": (
        2,
        "对应追究责任主体责任而敷衍结案、弄虚作假的,应当对责任追究主体通报批评",
        "whoever should pursue accountability but closes the case perfunctorily or "
        "falsifies it receives circulated criticism",
    ),
}

#: Clauses that name their sanction outright, narrower than their tier's.
CLAUSE_SANCTIONS: Final[dict[str, tuple[str, ...]]] = {
    "5.4(closing)": ("circulated_criticism",),
}

#: 5.5 exemption id -> (zh, en).
EXEMPTION_TEXT: Final[dict[str, tuple[str, str]]] = {
    "5.5(a)": (
        "因不可抗力导致发生的网络安全事故",
        "the incident was caused by force majeure",
    ),
    "5.5(b)": (
        "有充分证据证明完全落实了相关安全要求,由未知原因导致网络安全事故发生的",
        "there is sufficient evidence that every security requirement was fully "
        "implemented, and the incident arose from an unknown cause",
    ),
}

#: The 5.4 closing sentence: the accountability process is itself accountable.
PERFUNCTORY_CLOSURE_TEXT: Final[tuple[str, str]] = (
    "对应追究责任主体责任而敷衍结案、弄虚作假的,应当对责任追究主体通报批评",
    "whoever should pursue accountability but closes the case perfunctorily or "
    "falsifies it receives circulated criticism",
)

#: Article 4 sanction code -> (zh, en), mildest first.
SANCTIONS: Final[dict[str, tuple[str, str]]] = {
    "criticism_education": ("批评教育", "criticism and education"),
    "written_self_criticism": ("书面检查", "written self-criticism"),
    "circulated_criticism": ("通报批评", "circulated (public) criticism"),
    "general_handling": ("一般处理", "general disciplinary handling"),
    "serious_handling": ("严肃处理", "serious disciplinary handling"),
    "police_referral": ("报警处理", "referral to the police"),
}

#: Tier 4 allows a police referral only 情况十分严重者 (where very serious).
POLICE_REFERRAL_CONDITION: Final[tuple[str, str]] = ("情况十分严重者", "where very serious")

#: Article 6 clause id -> (zh, en): who decides.
DECIDER_TEXT: Final[dict[str, tuple[str, str]]] = {
    "6(1)": (
        "由局网络安全工作领导小组直接决定",
        "decided directly by the bureau's Network Security Work Leading Group",
    ),
    "6(2)": (
        "由责任主体所在科室或上级部门网络安全工作领导小组安全办公室、人事、主管部门共同作出决定,"
        "并报网络安全工作领导小组审批通过后执行",
        "decided jointly by the security office of the subject's department or its "
        "superior, HR and the competent department, then approved by the Leading Group "
        "before it is carried out",
    ),
}

#: Shown when an incident matches no clause and no exemption: the text is silent.
UNCOVERED_NOTE: Final[tuple[str, str]] = (
    "实施细则第五条未列明此情形,不自动认定责任,由网络安全工作领导小组研究决定",
    "Article 5 does not cover this situation: no clause is inferred, and the case is "
    "for the Leading Group's judgement",
)
