"""The screening rules of policy 04.9: indications (IV), selection criterion (V) and
contraindications (VI), as pure Python.

Modelled on Django's ``contrib.auth.password_validation``: each clause is a small rule that
reports what it finds, and ``evaluate`` runs them all and collects every result, so that a
clinician sees at once everything that rules a referral out or is still to be answered, not
only the first thing. Nothing here touches the ORM or a request: views and services turn the
form into ``ScreeningAnswers`` and store the ``Outcome``.

The decision follows from the reasons:
- any BLOCKS reason (no indication, IV; V not met; VI.A; VI.B) → do not refer now;
- otherwise any MISSING reason (a question not yet answered) → screening incomplete;
- otherwise → refer. VI.C never blocks: it restricts which groups may be suggested, and that
  restriction is reported whatever the decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any, ClassVar

from referrals.rules import clauses


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    NOT_ASSESSED = "not-assessed"


class Criterion(StrEnum):
    """V, the selection criterion."""

    MET = "met"
    NOT_MET = "not-met"
    NOT_ASSESSED = "not-assessed"


class Decision(StrEnum):
    """The same values as ``referrals.models.Screening.Decision``."""

    REFER = "refer"
    NOT_NOW = "not-now"
    INCOMPLETE = "incomplete"


class ReasonKind(StrEnum):
    """The same values as ``referrals.models.ScreeningReason.Kind``."""

    SUPPORTS = "supports"
    BLOCKS = "blocks"
    MISSING = "missing"
    RESTRICTS = "restricts"


# Reasons are listed in the policy's order: IV (the section as a whole), IV.A–H, V, VI.A–C.
CLAUSE_ORDER: tuple[str, ...] = ("IV", *clauses.INDICATIONS_BY_CODE, "V", "VI.A", "VI.B", "VI.C")

# VI.C: the one restriction the policy places on which groups a client may be referred to.
MEDICATION_SAFE_GROUPS_ONLY = "medication-safe-groups-only"

# What the form asks the clinician to name for IV.G and IV.H (helpful, never required).
_DETAIL_NAMED = {"IV.G": "the life crisis", "IV.H": "the diagnosis"}


class InvalidAnswers(ValueError):
    """Answers that contradict each other or could not have come from the form (tampering).

    ``problems`` lists every one found as (field name, message); views answer 400 with them.
    """

    def __init__(self, problems: Iterable[tuple[str, str]]):
        self.problems: list[tuple[str, str]] = list(problems)
        super().__init__(" ".join(message for _field, message in self.problems))


@dataclass(frozen=True)
class IndicationFound:
    """One indication (IV.A–H) the clinician found, with the detail the policy names."""

    code: str  # "IV.H"
    detail: str = ""  # "depression": a ``clauses.Detail`` code of that indication


@dataclass(frozen=True)
class ScreeningAnswers:
    indications: tuple[IndicationFound, ...] = ()
    # The clinician went through IV.A–H and found none (as opposed to not having answered).
    no_indication_found: bool = False
    selection_criterion: Criterion = Criterion.NOT_ASSESSED  # V
    violence_without_impulse_control: Answer = Answer.NOT_ASSESSED  # VI.A
    expressed_disinterest: Answer = Answer.NOT_ASSESSED  # VI.B
    # VI.B counts disinterest only "after adequate explanation": the VIII.A counselling.
    explanation_given: bool = False
    on_prescribed_medication: Answer = Answer.NOT_ASSESSED  # VI.C

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable, as stored in ``Screening.answers``; ``from_dict`` reads it back."""
        return {
            "indications": [{"code": i.code, "detail": i.detail} for i in self.indications],
            "no_indication_found": self.no_indication_found,
            "selection_criterion": str(self.selection_criterion),
            "violence_without_impulse_control": str(self.violence_without_impulse_control),
            "expressed_disinterest": str(self.expressed_disinterest),
            "explanation_given": self.explanation_given,
            "on_prescribed_medication": str(self.on_prescribed_medication),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ScreeningAnswers:
        """Read answers back from ``as_dict`` (or a posted JSON body).

        Raises ``InvalidAnswers`` naming every problem: a value of the wrong type, a value that
        is not one of the choices, an unknown field, and anything ``validate`` finds.
        """
        if not isinstance(data, Mapping):
            raise InvalidAnswers([("", "Screening answers must be an object of named answers.")])
        problems: list[tuple[str, str]] = []
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                problems.append((str(key), f"{_shown(key)} is not a screening question."))

        values: dict[str, Any] = {}
        if "indications" in data:
            values["indications"] = _parse_indications(data["indications"], problems)
        for name in ("no_indication_found", "explanation_given"):
            if name in data:
                if isinstance(data[name], bool):
                    values[name] = data[name]
                else:
                    problems.append((name, f"{_LABELS[name]} must be true or false."))
        for name, enum in _ENUM_FIELDS.items():
            if name in data:
                try:
                    values[name] = _member(enum, data[name])
                except ValueError as error:
                    problems.append((name, f"{_LABELS[name]}: {error}"))

        # A field that was wrong keeps its default, so validate() still checks the rest.
        answers = cls(**values)
        problems.extend(validate(answers))
        if problems:
            raise InvalidAnswers(problems)
        return answers


_ENUM_FIELDS: dict[str, type[StrEnum]] = {
    "selection_criterion": Criterion,
    "violence_without_impulse_control": Answer,
    "expressed_disinterest": Answer,
    "on_prescribed_medication": Answer,
}


# How a field is named in a message a clinician may read (a 400 page).
_LABELS = {
    "indications": "The indications (IV)",
    "no_indication_found": "“No indication found” (IV)",
    "selection_criterion": "The selection criterion (V)",
    "violence_without_impulse_control": "Violence with lack of impulse control (VI.A)",
    "expressed_disinterest": "Expressed disinterest (VI.B)",
    "explanation_given": "“Adequate explanation given” (VI.B)",
    "on_prescribed_medication": "On prescribed psychiatric medication (VI.C)",
}


@dataclass(frozen=True)
class Reason:
    clause: str  # "IV.H", "V", "VI.C"
    code: str  # stable within its clause, stored in ScreeningReason.code
    kind: ReasonKind
    message: str


@dataclass(frozen=True)
class Restriction:
    """A limit on which groups may be suggested (VI.C), whatever the decision."""

    clause: str
    code: str
    message: str


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    reasons: tuple[Reason, ...]
    restrictions: tuple[Restriction, ...]
    # The indications the outcome came from, for needs() and group_types().
    indications: tuple[IndicationFound, ...] = ()

    def _of_kind(self, kind: ReasonKind) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.kind == kind)

    @property
    def supporting(self) -> tuple[Reason, ...]:
        return self._of_kind(ReasonKind.SUPPORTS)

    @property
    def blocking(self) -> tuple[Reason, ...]:
        return self._of_kind(ReasonKind.BLOCKS)

    @property
    def missing(self) -> tuple[Reason, ...]:
        return self._of_kind(ReasonKind.MISSING)

    @property
    def restricted_to_medication_safe_groups(self) -> bool:
        """VI.C: matching must exclude groups unsafe for a medicated client."""
        return any(r.code == MEDICATION_SAFE_GROUPS_ONLY for r in self.restrictions)

    def needs(self) -> frozenset[str]:
        """The directory ``Need`` slugs the indications found suggest matching on (IV.A–H)."""
        return frozenset(
            need for i in self.indications for need in clauses.needs_for(i.code, i.detail)
        )

    def group_types(self) -> frozenset[str]:
        """The section II group types (A–E) the indications found suggest."""
        by_code = clauses.INDICATIONS_BY_CODE
        return frozenset(code for i in self.indications for code in by_code[i.code].group_types)


# ---- The rules -----------------------------------------------------------------------------


class Rule:
    """One clause of the policy. ``check`` yields every reason and restriction it finds and
    never raises: ``evaluate`` only calls it with answers ``validate`` accepted."""

    clause: ClassVar[str]
    policy_text: ClassVar[str]

    def check(self, answers: ScreeningAnswers) -> Iterator[Reason | Restriction]:
        raise NotImplementedError

    def reason(self, code: str, kind: ReasonKind, message: str, clause: str = "") -> Reason:
        return Reason(clause or self.clause, code, kind, message)


class IndicationsRule(Rule):
    """IV: indications for referral, any one of which suffices."""

    clause = "IV"
    policy_text = "Indications for referral (any of following)."

    def check(self, answers):
        if answers.no_indication_found:
            yield self.reason(
                "not-indicated", ReasonKind.BLOCKS, "No indication for referral (IV) was found."
            )
        elif not answers.indications:
            yield self.reason(
                "not-answered",
                ReasonKind.MISSING,
                "Indications for referral (IV) are not yet answered: record each indication "
                "found (any one suffices), or that none was found.",
            )
        for found in answers.indications:
            indication = clauses.INDICATIONS_BY_CODE[found.code]
            detail = indication.detail(found.detail) if found.detail else None
            message = indication.title
            if detail is not None:
                message = f"{message}: {_lower_first(detail.label)}"
            elif indication.detail_asked:
                # IV: "any of following", and IV.G/IV.H's kinds are examples ("including"): the
                # indication suffices without its detail, which only sharpens matching.
                what = _DETAIL_NAMED.get(indication.code, "the detail")
                message = f"{message} ({what} not named; naming it helps matching)"
            yield self.reason("indicated", ReasonKind.SUPPORTS, message, clause=indication.code)


class SelectionCriterionRule(Rule):
    """V: able to be with a group of people for at least 20 minutes without being disruptive."""

    clause = "V"
    policy_text = clauses.SELECTION_CRITERION_TEXT

    def check(self, answers):
        criterion = answers.selection_criterion
        if criterion == Criterion.MET:
            yield self.reason(
                "able-to-join-group",
                ReasonKind.SUPPORTS,
                "Able to be with a group of people for at least 20 minutes without being "
                "disruptive.",
            )
        elif criterion == Criterion.NOT_MET:
            yield self.reason(
                "not-able-to-join-group",
                ReasonKind.BLOCKS,
                "Not able to be with a group of people for at least 20 minutes without being "
                "disruptive (selection criterion V): not referred now.",
            )
        else:
            yield self.reason(
                "not-assessed",
                ReasonKind.MISSING,
                "Not yet assessed: can the client be with a group of people for at least "
                "20 minutes without being disruptive?",
            )


class ViolenceRule(Rule):
    """VI.A: violence with lack of impulse control is a contraindication."""

    clause = "VI.A"
    policy_text = clauses.VIOLENCE_TEXT

    def check(self, answers):
        answer = answers.violence_without_impulse_control
        if answer == Answer.YES:
            yield self.reason(
                "violence",
                ReasonKind.BLOCKS,
                "Violence with lack of impulse control: a contraindication to referral (VI.A).",
            )
        elif answer == Answer.NOT_ASSESSED:
            yield self.reason(
                "not-assessed",
                ReasonKind.MISSING,
                "Not yet assessed: violence with lack of impulse control (VI.A).",
            )


class DisinterestRule(Rule):
    """VI.B: expressed disinterest in self-help options *after adequate explanation*.

    Disinterest before the options were explained (VIII.A) is not yet the contraindication:
    the screening asks the clinician to explain first and ask again.
    """

    clause = "VI.B"
    policy_text = clauses.DISINTEREST_TEXT

    def check(self, answers):
        answer = answers.expressed_disinterest
        if answer == Answer.YES and answers.explanation_given:
            yield self.reason(
                "disinterest",
                ReasonKind.BLOCKS,
                "Expressed disinterest in self-help options after adequate explanation: a "
                "contraindication to referral (VI.B).",
            )
        elif answer == Answer.YES:
            yield self.reason(
                "explain-first",
                ReasonKind.MISSING,
                "Disinterest counts only after adequate explanation (VI.B): explain the "
                "benefits of self-help and the options (VIII.A), then ask again.",
            )
        elif answer == Answer.NOT_ASSESSED:
            yield self.reason(
                "not-assessed",
                ReasonKind.MISSING,
                "Not yet assessed: has the client expressed disinterest in self-help options "
                "after adequate explanation (VI.B)?",
            )


class MedicationRule(Rule):
    """VI.C: a client on appropriately prescribed psychiatric medication is referred only to
    groups that neither encourage stopping it nor treat medicated members as lesser members.

    It never rules a referral out; it restricts which groups matching may suggest.
    """

    clause = "VI.C"
    policy_text = clauses.MEDICATION_TEXT

    def check(self, answers):
        answer = answers.on_prescribed_medication
        if answer == Answer.YES:
            yield Restriction(
                self.clause,
                MEDICATION_SAFE_GROUPS_ONLY,
                "On appropriately prescribed psychiatric medication: groups whose members "
                "encourage stopping psychiatric medication against physician advice, or that do "
                "not treat members on prescribed medication as full members, are excluded.",
            )
            yield self.reason(
                MEDICATION_SAFE_GROUPS_ONLY,
                ReasonKind.RESTRICTS,
                "On appropriately prescribed psychiatric medication: refer only to groups that do "
                "not discourage it and treat medicated members as full members (VI.C).",
            )
        elif answer == Answer.NOT_ASSESSED:
            # Matching needs the answer to keep the client away from unsafe groups.
            yield self.reason(
                "not-assessed",
                ReasonKind.MISSING,
                "Not yet assessed: is the client taking appropriately prescribed psychiatric "
                "medication (VI.C)? Matching needs to know to keep the client safe.",
            )


RULES: tuple[Rule, ...] = (
    IndicationsRule(),
    SelectionCriterionRule(),
    ViolenceRule(),
    DisinterestRule(),
    MedicationRule(),
)


# ---- Running them --------------------------------------------------------------------------


def validate(answers: Any) -> list[tuple[str, str]]:
    """Every contradiction or impossible value in the answers, as (field name, message).

    These are answers the screening form could not have produced (an unknown clause code, a
    detail the indication does not name, the same indication twice, a value outside the
    choices) or that contradict each other ("no indication found" beside indications found).
    ``explanation_given`` is valid with any answer to VI.B.
    """
    if not isinstance(answers, ScreeningAnswers):
        return [("", "Screening answers are missing or malformed.")]
    problems: list[tuple[str, str]] = []

    seen: set[str] = set()
    repeated: list[str] = []
    indications = answers.indications
    if not isinstance(indications, tuple | list):
        problems.append(("indications", "The indications (IV) must be a list."))
        indications = ()
    for found in indications:
        if not isinstance(found, IndicationFound):
            problems.append(("indications", "Each indication (IV) must name its clause code."))
            continue
        if not isinstance(found.code, str) or found.code not in clauses.INDICATIONS_BY_CODE:
            problems.append(
                (
                    "indications",
                    f"Unknown clause code {_shown(found.code)}: "
                    f"the indications are {_codes(clauses.INDICATIONS_BY_CODE)}.",
                )
            )
            continue
        if found.code in seen and found.code not in repeated:
            repeated.append(found.code)
        seen.add(found.code)
        indication = clauses.INDICATIONS_BY_CODE[found.code]
        if not isinstance(found.detail, str):
            problems.append(("indications", f"The detail of {found.code} must be text."))
        elif found.detail and indication.detail(found.detail) is None:
            choices = ", ".join(d.code for d in indication.details)
            problems.append(
                (
                    "indications",
                    f"{_shown(found.detail)} is not one of the details of {found.code} "
                    f"({indication.title}): {choices}.",
                )
            )
    for code in repeated:
        message = f"{code} is given more than once: record each indication once, with its detail."
        problems.append(("indications", message))

    for name in ("no_indication_found", "explanation_given"):
        if not isinstance(getattr(answers, name), bool):
            problems.append((name, f"{_LABELS[name]} must be true or false."))
    if answers.no_indication_found is True and indications:
        problems.append(
            (
                "no_indication_found",
                "“No indication found” contradicts the indications recorded: record either the "
                "indications found (IV) or that none was found, not both.",
            )
        )
    for name, enum in _ENUM_FIELDS.items():
        try:
            _member(enum, getattr(answers, name))
        except ValueError as error:
            problems.append((name, f"{_LABELS[name]}: {error}"))
    return problems


def evaluate(answers: ScreeningAnswers, rules: Iterable[Rule] | None = None) -> Outcome:
    """Run every rule (IV, V, VI.A–C) and collect all their reasons and restrictions.

    Raises ``InvalidAnswers`` if ``validate`` finds anything. Never stops at the first reason:
    a client with no indication who also cannot manage a group and is violent gets all three.
    """
    problems = validate(answers)
    if problems:
        raise InvalidAnswers(problems)
    # Plain strings equal to a choice are accepted (a form's cleaned data); rules see members.
    answers = replace(
        answers,
        indications=tuple(answers.indications),
        **{name: _member(enum, getattr(answers, name)) for name, enum in _ENUM_FIELDS.items()},
    )
    reasons: list[Reason] = []
    restrictions: list[Restriction] = []
    for rule in RULES if rules is None else rules:
        for result in rule.check(answers):
            (restrictions if isinstance(result, Restriction) else reasons).append(result)
    reasons.sort(key=lambda r: _clause_rank(r.clause))  # stable: a clause's own order stays
    restrictions.sort(key=lambda r: _clause_rank(r.clause))

    kinds = {r.kind for r in reasons}
    if ReasonKind.BLOCKS in kinds:
        decision = Decision.NOT_NOW
    elif ReasonKind.MISSING in kinds:
        decision = Decision.INCOMPLETE
    else:
        decision = Decision.REFER
    return Outcome(decision, tuple(reasons), tuple(restrictions), answers.indications)


# ---- Helpers -------------------------------------------------------------------------------


def _parse_indications(raw: Any, problems: list[tuple[str, str]]) -> tuple[IndicationFound, ...]:
    if not isinstance(raw, list | tuple):
        problems.append(("indications", "The indications (IV) must be a list."))
        return ()
    found = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("code"), str):
            problems.append(("indications", "Each indication (IV) must name its clause code."))
            continue
        extra = set(item) - {"code", "detail"}
        if extra:
            problems.append(
                ("indications", f"An indication has only a code and a detail, not {_codes(extra)}.")
            )
        detail = item.get("detail", "")
        if not isinstance(detail, str):
            problems.append(("indications", f"The detail of {_shown(item['code'])} must be text."))
            detail = ""
        found.append(IndicationFound(item["code"], detail))
    return tuple(found)


def _member(enum: type[StrEnum], value: Any) -> StrEnum:
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    raise ValueError(f"{_shown(value)} is not one of {', '.join(m.value for m in enum)}.")


def _clause_rank(clause: str) -> int:
    try:
        return CLAUSE_ORDER.index(clause)
    except ValueError:
        return len(CLAUSE_ORDER)


def _lower_first(label: str) -> str:
    """“Mood disorder: depression” → “mood disorder: depression”; “ADHD” stays “ADHD”."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def _shown(value: Any) -> str:
    """A submitted value, quoted and cut short, for a message."""
    text = repr(value) if not isinstance(value, str) else f"“{value}”"
    return text if len(text) <= 40 else text[:39] + "…"


def _codes(codes: Iterable[str]) -> str:
    return ", ".join(sorted(str(c) for c in codes))


__all__ = [
    "CLAUSE_ORDER",
    "MEDICATION_SAFE_GROUPS_ONLY",
    "RULES",
    "Answer",
    "Criterion",
    "Decision",
    "DisinterestRule",
    "IndicationFound",
    "IndicationsRule",
    "InvalidAnswers",
    "MedicationRule",
    "Outcome",
    "Reason",
    "ReasonKind",
    "Restriction",
    "Rule",
    "ScreeningAnswers",
    "SelectionCriterionRule",
    "ViolenceRule",
    "evaluate",
    "validate",
]
