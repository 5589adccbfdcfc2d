"""The screening rules of policy 04.9 (referrals/rules/eligibility.py), without a database.

IV   indications for referral, any one of which suffices (IV.A–H);
V    the selection criterion: able to be with a group for 20 minutes without being disruptive;
VI.A violence with lack of impulse control; VI.B expressed disinterest after adequate
     explanation (both rule a referral out for now);
VI.C a client on prescribed psychiatric medication is referred only to groups that neither
     encourage stopping it nor treat medicated members as lesser members.

The exhaustive test checks every combination of the discrete answers against
``policy_decision`` and the ``EXPECTED_*`` tables below, which were written from the policy's
text and do not call the module's rules.
"""

import itertools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from referrals.rules import clauses
from referrals.rules.eligibility import (
    RULES,
    Answer,
    Criterion,
    Decision,
    IndicationFound,
    InvalidAnswers,
    Outcome,
    ReasonKind,
    ScreeningAnswers,
    evaluate,
    validate,
)

REPO = Path(__file__).resolve().parents[3]

# ---- The independent table, from the policy's text -----------------------------------------

# The indications a screening can record, as five situations.
IV_CASES = {
    "none-found": {"no_indication_found": True},
    "none-answered": {},
    "one": {"indications": (IndicationFound("IV.D", "alcohol"),)},
    # Given out of the policy's order on purpose: reasons come back in clause order.
    "two": {
        "indications": (IndicationFound("IV.H", "depression"), IndicationFound("IV.A", "mentor"))
    },
    "IV.H-no-detail": {"indications": (IndicationFound("IV.H"),)},
}

# (clause, kind) pairs each answer must give. Kinds are written as the policy's outcomes:
# "supports" a referral, "blocks" it for now, "missing" (still to answer), "restricts" groups.
EXPECTED_IV = {
    "none-found": {("IV", "blocks")},  # IV: no indication, not indicated
    "none-answered": {("IV", "missing")},
    "one": {("IV.D", "supports")},
    "two": {("IV.A", "supports"), ("IV.H", "supports")},
    # IV: "any of following"; IV.H's disorders are examples ("including"): the indication
    # suffices without naming the diagnosis.
    "IV.H-no-detail": {("IV.H", "supports")},
}
EXPECTED_V = {
    "met": {("V", "supports")},
    "not-met": {("V", "blocks")},
    "not-assessed": {("V", "missing")},
}
EXPECTED_VI_A = {"yes": {("VI.A", "blocks")}, "no": set(), "not-assessed": {("VI.A", "missing")}}
EXPECTED_VI_B = {  # (answer, adequate explanation given)
    ("yes", True): {("VI.B", "blocks")},
    ("yes", False): {("VI.B", "missing")},  # disinterest counts only after explanation
    ("no", True): set(),
    ("no", False): set(),
    ("not-assessed", True): {("VI.B", "missing")},
    ("not-assessed", False): {("VI.B", "missing")},
}
EXPECTED_VI_C = {
    "yes": {("VI.C", "restricts")},
    "no": set(),
    "not-assessed": {("VI.C", "missing")},
}

# The policy's order of clauses, for the order reasons are listed in.
POLICY_ORDER = ["IV", "IV.A", "IV.B", "IV.C", "IV.D", "IV.E", "IV.F", "IV.G", "IV.H"]
POLICY_ORDER += ["V", "VI.A", "VI.B", "VI.C"]


def policy_decision(iv, v, vi_a, vi_b, explained, vi_c):
    """The decision, read straight from sections IV, V and VI."""
    # IV: no indication; V: cannot manage a group; VI.A; VI.B after adequate explanation.
    if iv == "none-found" or v == "not-met" or vi_a == "yes" or (vi_b == "yes" and explained):
        return "not-now"
    # A question not answered yet (VI.B "yes" before explanation is not yet an answer).
    if (
        iv == "none-answered"
        or "not-assessed" in (v, vi_a, vi_b, vi_c)
        or (vi_b == "yes" and not explained)
    ):
        return "incomplete"
    # VI.C never rules a referral out: it restricts which groups.
    return "refer"


ANSWERS = ["yes", "no", "not-assessed"]
COMBINATIONS = list(
    itertools.product(
        IV_CASES, ["met", "not-met", "not-assessed"], ANSWERS, ANSWERS, [True, False], ANSWERS
    )
)


def combination_id(combination):
    iv, v, vi_a, vi_b, explained, vi_c = combination
    return f"IV={iv}-V={v}-VI.A={vi_a}-VI.B={vi_b}{'+explained' if explained else ''}-VI.C={vi_c}"


def answers_for(iv, v, vi_a, vi_b, explained, vi_c):
    return ScreeningAnswers(
        **IV_CASES[iv],
        selection_criterion=Criterion(v),
        violence_without_impulse_control=Answer(vi_a),
        expressed_disinterest=Answer(vi_b),
        explanation_given=explained,
        on_prescribed_medication=Answer(vi_c),
    )


def pairs(outcome):
    return {(r.clause, str(r.kind)) for r in outcome.reasons}


@pytest.mark.parametrize("combination", COMBINATIONS, ids=combination_id)
def test_every_combination_of_answers(combination):
    """IV, V, VI.A–C: every combination against the table written from the policy."""
    iv, v, vi_a, vi_b, explained, vi_c = combination
    outcome = evaluate(answers_for(*combination))

    assert outcome.decision == policy_decision(*combination)
    assert pairs(outcome) == (
        EXPECTED_IV[iv]
        | EXPECTED_V[v]
        | EXPECTED_VI_A[vi_a]
        | EXPECTED_VI_B[(vi_b, explained)]
        | EXPECTED_VI_C[vi_c]
    )
    # VI.C: the restriction, whatever the decision.
    expected_restrictions = [("VI.C", "medication-safe-groups-only")] if vi_c == "yes" else []
    assert [(r.clause, r.code) for r in outcome.restrictions] == expected_restrictions
    assert outcome.restricted_to_medication_safe_groups is (vi_c == "yes")
    # Listed in the policy's order.
    ranks = [POLICY_ORDER.index(r.clause) for r in outcome.reasons]
    assert ranks == sorted(ranks)


def test_decisions_over_all_combinations_counted_by_hand():
    """810 combinations. Refer needs an indication, with or without its detail ("one", "two",
    "IV.H-no-detail"), V met, VI.A no, VI.B no (explained or not) and VI.C answered:
    3 × 2 × 2 = 12. Not now is anything with a blocker: 810 minus the 4 × 2 × 2 × 5 × 3 = 240
    without one."""
    decisions = Counter(str(evaluate(answers_for(*c)).decision) for c in COMBINATIONS)
    assert decisions == {"refer": 12, "incomplete": 228, "not-now": 570}


# ---- One test per rule and outcome ---------------------------------------------------------

# Everything answered and in favour: refer.
CLEAR = ScreeningAnswers(
    indications=(IndicationFound("IV.A", "friends"),),
    selection_criterion=Criterion.MET,
    violence_without_impulse_control=Answer.NO,
    expressed_disinterest=Answer.NO,
    explanation_given=True,
    on_prescribed_medication=Answer.NO,
)


def family(clause):
    return "IV" if clause.startswith("IV") else clause


def with_(**changes):
    return ScreeningAnswers(**{**CLEAR.__dict__, **changes})


def one(code, detail=""):
    return {"indications": (IndicationFound(code, detail),)}


RULE_CASES = [
    # IV: any one indication suffices, each with its detail.
    ("IV.A", one("IV.A", "mentor"), [("indicated", "supports")], "refer"),
    ("IV.B", one("IV.B", "diagnosis"), [("indicated", "supports")], "refer"),
    ("IV.C", one("IV.C", "advice"), [("indicated", "supports")], "refer"),
    ("IV.D", one("IV.D", "alcohol"), [("indicated", "supports")], "refer"),
    ("IV.E", one("IV.E", "interaction"), [("indicated", "supports")], "refer"),
    ("IV.F", one("IV.F", "linguistic"), [("indicated", "supports")], "refer"),
    ("IV.G", one("IV.G", "bereavement"), [("indicated", "supports")], "refer"),
    ("IV.H", one("IV.H", "ptsd"), [("indicated", "supports")], "refer"),
    # A detail is optional where the policy names no kinds (IV.A–F)...
    ("IV.D", one("IV.D"), [("indicated", "supports")], "refer"),
    ("IV.F", one("IV.F"), [("indicated", "supports")], "refer"),
    # ...and for IV.G and IV.H, whose kinds are examples ("including"): asked, never required.
    ("IV.G", one("IV.G"), [("indicated", "supports")], "refer"),
    ("IV.H", one("IV.H"), [("indicated", "supports")], "refer"),
    (
        "IV",
        {"indications": (), "no_indication_found": True},
        [("not-indicated", "blocks")],
        "not-now",
    ),
    ("IV", {"indications": ()}, [("not-answered", "missing")], "incomplete"),
    # V: 20 minutes in a group without being disruptive.
    ("V", {"selection_criterion": Criterion.MET}, [("able-to-join-group", "supports")], "refer"),
    (
        "V",
        {"selection_criterion": Criterion.NOT_MET},
        [("not-able-to-join-group", "blocks")],
        "not-now",
    ),
    (
        "V",
        {"selection_criterion": Criterion.NOT_ASSESSED},
        [("not-assessed", "missing")],
        "incomplete",
    ),
    # VI.A: violence with lack of impulse control.
    ("VI.A", {"violence_without_impulse_control": Answer.YES}, [("violence", "blocks")], "not-now"),
    ("VI.A", {"violence_without_impulse_control": Answer.NO}, [], "refer"),
    (
        "VI.A",
        {"violence_without_impulse_control": Answer.NOT_ASSESSED},
        [("not-assessed", "missing")],
        "incomplete",
    ),
    # VI.B: expressed disinterest, counted only after adequate explanation (VIII.A).
    (
        "VI.B",
        {"expressed_disinterest": Answer.YES, "explanation_given": True},
        [("disinterest", "blocks")],
        "not-now",
    ),
    (
        "VI.B",
        {"expressed_disinterest": Answer.YES, "explanation_given": False},
        [("explain-first", "missing")],
        "incomplete",
    ),
    ("VI.B", {"expressed_disinterest": Answer.NO, "explanation_given": True}, [], "refer"),
    ("VI.B", {"expressed_disinterest": Answer.NO, "explanation_given": False}, [], "refer"),
    (
        "VI.B",
        {"expressed_disinterest": Answer.NOT_ASSESSED, "explanation_given": True},
        [("not-assessed", "missing")],
        "incomplete",
    ),
    (
        "VI.B",
        {"expressed_disinterest": Answer.NOT_ASSESSED, "explanation_given": False},
        [("not-assessed", "missing")],
        "incomplete",
    ),
    # VI.C: restricts which groups, never blocks.
    (
        "VI.C",
        {"on_prescribed_medication": Answer.YES},
        [("medication-safe-groups-only", "restricts")],
        "refer",
    ),
    ("VI.C", {"on_prescribed_medication": Answer.NO}, [], "refer"),
    (
        "VI.C",
        {"on_prescribed_medication": Answer.NOT_ASSESSED},
        [("not-assessed", "missing")],
        "incomplete",
    ),
]


@pytest.mark.parametrize(
    ("clause", "changes", "expected", "decision"),
    RULE_CASES,
    ids=[f"{c[0]}-{'-'.join(code for code, _ in c[2]) or 'nothing'}" for c in RULE_CASES],
)
def test_each_rule_and_outcome(clause, changes, expected, decision):
    """Each rule on its own, the other answers all clear: its reason codes and the decision."""
    baseline = evaluate(CLEAR)
    assert baseline.decision == "refer"

    outcome = evaluate(with_(**changes))

    assert [(r.code, str(r.kind)) for r in outcome.reasons if r.clause == clause] == expected
    assert outcome.decision == decision
    # The other clauses' reasons are untouched by this answer.
    assert [r for r in outcome.reasons if family(r.clause) != family(clause)] == [
        r for r in baseline.reasons if family(r.clause) != family(clause)
    ]


def test_all_failures_reported_together():
    """No indication (IV), V not met and VI.A yes: three blockers, none hidden by another, and
    what is still unanswered (VI.B, VI.C) is reported as well."""
    outcome = evaluate(
        ScreeningAnswers(
            no_indication_found=True,
            selection_criterion=Criterion.NOT_MET,
            violence_without_impulse_control=Answer.YES,
        )
    )
    assert outcome.decision == "not-now"
    assert [(r.clause, r.code) for r in outcome.blocking] == [
        ("IV", "not-indicated"),
        ("V", "not-able-to-join-group"),
        ("VI.A", "violence"),
    ]
    assert [(r.clause, r.code) for r in outcome.missing] == [
        ("VI.B", "not-assessed"),
        ("VI.C", "not-assessed"),
    ]
    assert outcome.supporting == ()


def test_every_blocker_at_once_and_the_restriction_still_reported():
    outcome = evaluate(
        ScreeningAnswers(
            no_indication_found=True,
            selection_criterion=Criterion.NOT_MET,
            violence_without_impulse_control=Answer.YES,
            expressed_disinterest=Answer.YES,
            explanation_given=True,
            on_prescribed_medication=Answer.YES,
        )
    )
    assert outcome.decision == "not-now"
    assert [r.clause for r in outcome.blocking] == ["IV", "V", "VI.A", "VI.B"]
    assert outcome.missing == ()
    assert outcome.restricted_to_medication_safe_groups  # VI.C, whatever the decision


@pytest.mark.parametrize(
    ("changes", "decision"),
    [
        ({}, "refer"),
        ({"selection_criterion": Criterion.NOT_MET}, "not-now"),
        ({"violence_without_impulse_control": Answer.NOT_ASSESSED}, "incomplete"),
    ],
)
def test_vi_c_restriction_whatever_the_decision(changes, decision):
    outcome = evaluate(with_(on_prescribed_medication=Answer.YES, **changes))
    assert outcome.decision == decision
    (restriction,) = outcome.restrictions
    assert (restriction.clause, restriction.code) == ("VI.C", "medication-safe-groups-only")
    assert [(r.clause, r.code, str(r.kind)) for r in outcome.reasons if r.clause == "VI.C"] == [
        ("VI.C", "medication-safe-groups-only", "restricts")
    ]


@pytest.mark.parametrize("answer", [Answer.NO, Answer.NOT_ASSESSED])
def test_vi_c_no_restriction_unless_on_medication(answer):
    outcome = evaluate(with_(on_prescribed_medication=answer))
    assert outcome.restrictions == ()
    assert not outcome.restricted_to_medication_safe_groups


def test_outcome_groups_reasons_by_kind():
    outcome = evaluate(
        with_(
            indications=(IndicationFound("IV.H"), IndicationFound("IV.B", "self")),
            violence_without_impulse_control=Answer.YES,
            on_prescribed_medication=Answer.YES,
        )
    )
    assert [(r.clause, r.code) for r in outcome.supporting] == [
        ("IV.B", "indicated"),
        ("IV.H", "indicated"),
        ("V", "able-to-join-group"),
    ]
    assert [(r.clause, r.code) for r in outcome.blocking] == [("VI.A", "violence")]
    assert outcome.missing == ()  # IV.H without the diagnosis named is not missing anything
    assert [(r.clause, r.code) for r in outcome.reasons if r.kind == "restricts"] == [
        ("VI.C", "medication-safe-groups-only")
    ]
    assert len(outcome.reasons) == 5  # the four above and VI.C's


# IV "any of following": each indication alone, with no detail, and everything else answered in
# favour, is a referral. The detail the form asks for IV.G and IV.H sharpens matching only.
@pytest.mark.parametrize("code", [i.code for i in clauses.INDICATIONS])
def test_iv_any_single_indication_without_detail_refers(code):
    outcome = evaluate(with_(indications=(IndicationFound(code),)))
    assert outcome.decision == Decision.REFER
    assert outcome.missing == ()
    assert [(r.clause, r.code) for r in outcome.supporting][0] == (code, "indicated")


@pytest.mark.parametrize(
    ("code", "words"), [("IV.G", "the life crisis not named"), ("IV.H", "the diagnosis not named")]
)
def test_iv_g_and_h_without_detail_say_naming_it_helps_matching(code, words):
    """The clinician still sees that the detail would help, without being held up by it."""
    outcome = evaluate(with_(indications=(IndicationFound(code),)))
    (reason,) = [r for r in outcome.reasons if r.clause == code]
    assert words in reason.message and "helps matching" in reason.message
    assert reason.kind == ReasonKind.SUPPORTS


def test_plain_strings_from_a_form_count_as_the_choices():
    as_strings = with_(
        selection_criterion="not-met",
        violence_without_impulse_control="no",
        expressed_disinterest="no",
        on_prescribed_medication="yes",
    )
    as_members = with_(
        selection_criterion=Criterion.NOT_MET,
        violence_without_impulse_control=Answer.NO,
        expressed_disinterest=Answer.NO,
        on_prescribed_medication=Answer.YES,
    )
    assert evaluate(as_strings).reasons == evaluate(as_members).reasons
    assert evaluate(as_strings).decision == "not-now"


# ---- Messages ------------------------------------------------------------------------------


def reason(outcome, clause, kind):
    (found,) = [r for r in outcome.reasons if r.clause == clause and r.kind == kind]
    return found


def test_iv_h_message_names_the_diagnosis():
    outcome = evaluate(with_(**one("IV.H", "depression")))
    message = reason(outcome, "IV.H", "supports").message
    assert message == "Support for specific diagnoses: mood disorder: depression"


@pytest.mark.parametrize(
    ("indication", "detail"),
    [(i.code, d) for i in clauses.INDICATIONS for d in i.details],
    ids=lambda value: getattr(value, "code", value),
)
def test_each_indication_message_names_its_detail(indication, detail):
    """IV.A–H: the reason says which indication and which of its details."""
    outcome = evaluate(with_(**one(indication, detail.code)))
    message = reason(outcome, indication, "supports").message
    assert message.startswith(clauses.INDICATIONS_BY_CODE[indication].title)
    assert detail.label.lower() in message.lower()


def test_not_indicated_message():
    outcome = evaluate(with_(indications=(), no_indication_found=True))
    assert reason(outcome, "IV", "blocks").message == "No indication for referral (IV) was found."


def test_vi_b_explain_first_points_to_the_counselling():
    outcome = evaluate(with_(expressed_disinterest=Answer.YES, explanation_given=False))
    message = reason(outcome, "VI.B", "missing").message
    assert "explain" in message and "VIII.A" in message


def test_vi_c_restriction_message_in_the_policys_terms():
    (restriction,) = evaluate(with_(on_prescribed_medication=Answer.YES)).restrictions
    assert "stopping" in restriction.message and "medication" in restriction.message
    assert "full members" in restriction.message and "excluded" in restriction.message


def every_outcome():
    for combination in COMBINATIONS:
        yield evaluate(answers_for(*combination))
    for indication in clauses.INDICATIONS:
        for detail in ("", *(d.code for d in indication.details)):
            yield evaluate(with_(**one(indication.code, detail)))


def test_reasons_fit_the_screening_reason_columns():
    """Every reason is stored as a ScreeningReason row; nothing may be cut short."""
    from referrals.models import ScreeningReason  # the model's columns only, no database

    limits = {
        name: ScreeningReason._meta.get_field(name).max_length
        for name in ("clause", "code", "message")
    }
    for outcome in every_outcome():
        for r in outcome.reasons:
            assert r.message.strip() and r.code
            for name, limit in limits.items():
                assert len(getattr(r, name)) <= limit, (name, r)


def test_enums_match_the_models():
    from referrals.models import Screening, ScreeningReason

    assert sorted(d.value for d in Decision) == sorted(Screening.Decision.values)
    assert sorted(k.value for k in ReasonKind) == sorted(ScreeningReason.Kind.values)


# ---- Order ---------------------------------------------------------------------------------


def test_reasons_in_the_policys_order():
    outcome = evaluate(
        ScreeningAnswers(
            indications=(
                IndicationFound("IV.H"),
                IndicationFound("IV.D", "nicotine"),
                IndicationFound("IV.A"),
            )
        )
    )
    assert [(r.clause, str(r.kind)) for r in outcome.reasons] == [
        ("IV.A", "supports"),
        ("IV.D", "supports"),
        ("IV.H", "supports"),
        ("V", "missing"),
        ("VI.A", "missing"),
        ("VI.B", "missing"),
        ("VI.C", "missing"),
    ]


def test_section_iv_comes_before_its_indications_and_v():
    outcome = evaluate(ScreeningAnswers(no_indication_found=True))
    assert [r.clause for r in outcome.reasons] == ["IV", "V", "VI.A", "VI.B", "VI.C"]


def test_rules_cover_the_clauses_in_order():
    assert [rule.clause for rule in RULES] == ["IV", "V", "VI.A", "VI.B", "VI.C"]
    assert all(rule.policy_text for rule in RULES)


# ---- Stored answers ------------------------------------------------------------------------

ROUND_TRIPS = [
    ScreeningAnswers(),
    ScreeningAnswers(no_indication_found=True, selection_criterion=Criterion.NOT_MET),
    CLEAR,
    ScreeningAnswers(
        indications=(IndicationFound("IV.H", "depression"), IndicationFound("IV.G")),
        selection_criterion=Criterion.MET,
        violence_without_impulse_control=Answer.NO,
        expressed_disinterest=Answer.YES,
        explanation_given=False,
        on_prescribed_medication=Answer.YES,
    ),
]


@pytest.mark.parametrize("answers", ROUND_TRIPS)
def test_as_dict_round_trips_through_json(answers):
    stored = json.loads(json.dumps(answers.as_dict()))
    restored = ScreeningAnswers.from_dict(stored)
    assert restored == answers
    assert evaluate(restored) == evaluate(answers)
    assert isinstance(restored.selection_criterion, Criterion)
    assert isinstance(restored.on_prescribed_medication, Answer)


def test_as_dict_shape():
    """What Screening.answers stores: changing it strands every screening already saved."""
    assert ROUND_TRIPS[3].as_dict() == {
        "indications": [{"code": "IV.H", "detail": "depression"}, {"code": "IV.G", "detail": ""}],
        "no_indication_found": False,
        "selection_criterion": "met",
        "violence_without_impulse_control": "no",
        "expressed_disinterest": "yes",
        "explanation_given": False,
        "on_prescribed_medication": "yes",
    }


def test_from_dict_fills_unanswered_questions_with_not_assessed():
    assert ScreeningAnswers.from_dict({}) == ScreeningAnswers()
    assert ScreeningAnswers.from_dict({"indications": [{"code": "IV.A"}]}) == ScreeningAnswers(
        indications=(IndicationFound("IV.A"),)
    )


# ---- Bad answers ---------------------------------------------------------------------------

INVALID = [
    ("unknown-code", {"indications": (IndicationFound("IV.Z"),)}, ["indications"], "IV.Z"),
    (
        "section-not-indication",
        {"indications": (IndicationFound("VI.A"),)},
        ["indications"],
        "VI.A",
    ),
    ("code-not-text", {"indications": (IndicationFound(8),)}, ["indications"], "8"),
    ("not-an-indication", {"indications": (("IV.A", ""),)}, ["indications"], "clause code"),
    ("indications-not-a-list", {"indications": "IV.A"}, ["indications"], "list"),
    (
        "unknown-detail",
        {"indications": (IndicationFound("IV.H", "grief"),)},
        ["indications"],
        "grief",
    ),
    # A detail of another indication is not IV.H's.
    (
        "detail-of-another",
        {"indications": (IndicationFound("IV.H", "alcohol"),)},
        ["indications"],
        "alcohol",
    ),
    (
        "detail-not-text",
        {"indications": (IndicationFound("IV.H", None),)},
        ["indications"],
        "IV.H",
    ),
    (
        "same-indication-twice",
        {"indications": (IndicationFound("IV.H", "depression"), IndicationFound("IV.H", "adhd"))},
        ["indications"],
        "more than once",
    ),
    (
        "same-indication-twice-identical",
        {"indications": (IndicationFound("IV.A"), IndicationFound("IV.A"))},
        ["indications"],
        "IV.A",
    ),
    (
        "none-found-and-found",
        {"no_indication_found": True, "indications": (IndicationFound("IV.D", "alcohol"),)},
        ["no_indication_found"],
        "contradicts",
    ),
    ("v-an-answer-not-a-criterion", {"selection_criterion": "yes"}, ["selection_criterion"], "met"),
    (
        "vi-a-not-a-choice",
        {"violence_without_impulse_control": "sometimes"},
        ["violence_without_impulse_control"],
        "sometimes",
    ),
    (
        "vi-b-a-criterion",
        {"expressed_disinterest": Criterion.MET},
        ["expressed_disinterest"],
        "VI.B",
    ),
    ("vi-c-a-bool", {"on_prescribed_medication": True}, ["on_prescribed_medication"], "VI.C"),
    ("none-found-not-bool", {"no_indication_found": "yes"}, ["no_indication_found"], "true"),
    ("explanation-not-bool", {"explanation_given": 1}, ["explanation_given"], "true"),
]


@pytest.mark.parametrize(
    ("changes", "fields", "in_message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_answers(changes, fields, in_message):
    answers = ScreeningAnswers(**changes)
    problems = validate(answers)
    assert [field for field, _ in problems] == fields
    assert in_message in problems[0][1]

    with pytest.raises(InvalidAnswers) as raised:
        evaluate(answers)
    assert raised.value.problems == problems
    assert isinstance(raised.value, ValueError)
    assert in_message in str(raised.value)


def test_every_problem_reported_together():
    answers = ScreeningAnswers(
        indications=(IndicationFound("IV.Z"), IndicationFound("IV.H", "grief")),
        no_indication_found=True,
        selection_criterion="maybe",
        on_prescribed_medication="perhaps",
    )
    assert [field for field, _ in validate(answers)] == [
        "indications",
        "indications",
        "no_indication_found",
        "selection_criterion",
        "on_prescribed_medication",
    ]


def test_validate_refuses_what_is_not_answers():
    assert validate(None) == [("", "Screening answers are missing or malformed.")]
    assert validate({"indications": []})


@pytest.mark.parametrize("explained", [True, False])
@pytest.mark.parametrize("disinterest", list(Answer))
def test_explanation_given_valid_with_any_vi_b_answer(disinterest, explained):
    answers = with_(expressed_disinterest=disinterest, explanation_given=explained)
    assert validate(answers) == []


BAD_DICTS = [
    ("not-an-object", ["IV.A"], [""]),
    ("none", None, [""]),
    ("unknown-field", {"is_violent": "yes"}, ["is_violent"]),
    ("indications-not-a-list", {"indications": "IV.A"}, ["indications"]),
    ("entry-not-an-object", {"indications": ["IV.A"]}, ["indications"]),
    ("entry-without-code", {"indications": [{"detail": "alcohol"}]}, ["indications"]),
    ("code-not-text", {"indications": [{"code": 4}]}, ["indications"]),
    ("entry-extra-key", {"indications": [{"code": "IV.A", "rank": 1}]}, ["indications"]),
    ("detail-not-text", {"indications": [{"code": "IV.H", "detail": None}]}, ["indications"]),
    ("unknown-code", {"indications": [{"code": "IV.I"}]}, ["indications"]),
    ("unknown-detail", {"indications": [{"code": "IV.D", "detail": "coffee"}]}, ["indications"]),
    (
        "twice",
        {"indications": [{"code": "IV.D", "detail": "alcohol"}, {"code": "IV.D"}]},
        ["indications"],
    ),
    (
        "contradiction",
        {"indications": [{"code": "IV.A"}], "no_indication_found": True},
        ["no_indication_found"],
    ),
    ("criterion-wrong-case", {"selection_criterion": "MET"}, ["selection_criterion"]),
    (
        "answer-null",
        {"violence_without_impulse_control": None},
        ["violence_without_impulse_control"],
    ),
    ("answer-bool", {"on_prescribed_medication": True}, ["on_prescribed_medication"]),
    ("answer-list", {"expressed_disinterest": ["yes"]}, ["expressed_disinterest"]),
    ("bool-as-text", {"no_indication_found": "false"}, ["no_indication_found"]),
    ("bool-as-number", {"explanation_given": 0}, ["explanation_given"]),
    (
        "several",
        {
            "indications": [{"code": "IV.Z"}],
            "selection_criterion": "maybe",
            "explanation_given": "yes",
            "extra": 1,
        },
        ["extra", "explanation_given", "selection_criterion", "indications"],
    ),
]


@pytest.mark.parametrize(
    ("data", "fields"), [c[1:] for c in BAD_DICTS], ids=[c[0] for c in BAD_DICTS]
)
def test_from_dict_refuses_bad_data_with_clear_messages(data, fields):
    with pytest.raises(InvalidAnswers) as raised:
        ScreeningAnswers.from_dict(data)
    assert [field for field, _ in raised.value.problems] == fields
    for _field, message in raised.value.problems:
        assert message.endswith((".", "?")) and "Traceback" not in message


def test_problem_messages_cut_long_values_short():
    with pytest.raises(InvalidAnswers) as raised:
        ScreeningAnswers.from_dict({"selection_criterion": "x" * 5000})
    assert len(str(raised.value)) < 200


# ---- What matching is told -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("indications", "needs"),
    [
        ((IndicationFound("IV.H", "depression"),), {"depression"}),
        ((IndicationFound("IV.H", "bipolar"),), {"bipolar", "depression"}),
        ((IndicationFound("IV.D", "alcohol"),), {"alcohol"}),
        ((IndicationFound("IV.D"),), {"co-occurring-substance-use", "addiction"}),
        ((IndicationFound("IV.G", "bereavement"),), {"bereavement", "suicide-loss"}),
        ((IndicationFound("IV.B", "self"),), {"emotional-health"}),
        ((IndicationFound("IV.A", "friends"),), set()),  # social needs: any group, no one need
        ((IndicationFound("IV.H"),), set()),  # no diagnosis named: matching has no need to go on
        (
            (IndicationFound("IV.H", "depression"), IndicationFound("IV.D", "alcohol")),
            {"depression", "alcohol"},
        ),
        ((), set()),
    ],
)
def test_needs_suggested_by_the_indications(indications, needs):
    outcome = evaluate(ScreeningAnswers(indications=indications))
    assert outcome.needs() == needs
    assert isinstance(outcome.needs(), frozenset)


def test_needs_reported_even_when_not_referred_now():
    outcome = evaluate(with_(**one("IV.H", "depression"), selection_criterion=Criterion.NOT_MET))
    assert outcome.decision == "not-now"
    assert outcome.needs() == {"depression"}


@pytest.mark.parametrize(
    ("codes", "group_types"),
    [
        (["IV.A"], {"A", "D"}),
        (["IV.A", "IV.C"], {"A", "B", "D"}),
        (["IV.B"], {"A", "B"}),
        (["IV.H"], set()),
    ],
)
def test_group_types_suggested_by_the_indications(codes, group_types):
    outcome = evaluate(ScreeningAnswers(indications=tuple(IndicationFound(c) for c in codes)))
    assert outcome.group_types() == group_types


def test_an_outcome_built_by_hand_suggests_nothing():
    assert Outcome(Decision.REFER, (), ()).needs() == frozenset()


@pytest.fixture(scope="module")
def taxonomy():
    return yaml.safe_load((REPO / "directory" / "data" / "taxonomy.yaml").read_text("utf-8"))


def test_every_need_named_in_clauses_is_in_the_taxonomy(taxonomy):
    """IV.A–H: a need the screening suggests must exist in the directory to match on."""
    known = {need["slug"] for need in taxonomy["needs"]}
    named = {
        need
        for indication in clauses.INDICATIONS
        for need in (*indication.needs, *(n for d in indication.details for n in d.needs))
    }
    assert named  # the check below would pass on nothing
    assert sorted(named - known) == []


def test_every_group_type_named_in_clauses_is_a_to_e(taxonomy):
    known = {group_type["code"] for group_type in taxonomy["group_types"]}
    assert known == {"A", "B", "C", "D", "E"}
    named = {code for indication in clauses.INDICATIONS for code in indication.group_types}
    assert named and named <= known


# ---- Pure -----------------------------------------------------------------------------------


def test_the_rules_need_no_django():
    """The rules run without Django: no ORM, no request, nothing configured."""
    script = (
        "import sys, referrals.rules.eligibility; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django'); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
