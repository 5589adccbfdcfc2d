"""The screening questions of policy 04.9, sections IV, V and VI, in the policy's words.

Pure data, no ORM: the eligibility rules (``referrals/rules/eligibility.py``), the screening
form and its page, and matching (``referrals/rules/matching.py``) all read from here, so that a
clause's code, its wording and the detail it asks for are written once.

Each indication (IV.A–H) may carry a detail the policy names: which diagnosis for IV.H, which
life crisis for IV.G, and so on. A detail suggests the needs (``directory.Need`` slugs) that
groups are matched on; an indication without a detail suggests its own needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Detail:
    code: str
    label: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Indication:
    code: str  # "IV.A"
    title: str
    policy_text: str
    details: tuple[Detail, ...] = ()
    # Whether the form asks which detail applies (IV.G and IV.H name their kinds). The answer
    # helps matching; it is never required: IV's lists are examples ("including") and any one
    # indication suffices.
    detail_asked: bool = False
    needs: tuple[str, ...] = ()
    group_types: tuple[str, ...] = field(default=())  # directory.GroupType codes

    def detail(self, code: str) -> Detail | None:
        return next((d for d in self.details if d.code == code), None)


INDICATIONS: tuple[Indication, ...] = (
    Indication(
        "IV.A",
        "Social needs",
        "Social needs: New friends, role models, a mentor, or peer support to decrease feelings "
        "of being overwhelmed, helpless or hopeless.",
        details=(
            Detail("friends", "New friends"),
            Detail("role-models", "Role models"),
            Detail("mentor", "A mentor"),
            Detail("peer-support", "Peer support"),
        ),
        # Support and social/recreational groups (section II types A and D) meet these needs.
        group_types=("A", "D"),
    ),
    Indication(
        "IV.B",
        "Low self-esteem",
        "Low self-esteem: Experience of shame or stigma about self, diagnosis or other life "
        "circumstances.",
        details=(
            Detail("self", "Shame or stigma about self"),
            Detail("diagnosis", "Shame or stigma about diagnosis"),
            Detail("circumstances", "Shame or stigma about other life circumstances"),
        ),
        needs=("emotional-health",),
        group_types=("A", "B"),
    ),
    Indication(
        "IV.C",
        "Problems with illness management",
        "Problems with illness management: Difficulty with adapting to necessary lifestyle "
        "changes, undue reluctance to follow sound clinical advice, unwarranted demands for "
        "clinician time, denial of need for treatment as presently constituted or functional "
        "limitations, using mental illness or other life circumstances as an excuse for not "
        "taking action to better one's situation.",
        details=(
            Detail("lifestyle", "Difficulty adapting to necessary lifestyle changes"),
            Detail("advice", "Undue reluctance to follow sound clinical advice"),
            Detail("demands", "Unwarranted demands for clinician time"),
            Detail("denial", "Denial of need for treatment or of functional limitations"),
            Detail("excuse", "Using illness or circumstances as an excuse for not acting"),
        ),
        needs=("emotional-health",),
        group_types=("B",),
    ),
    Indication(
        "IV.D",
        "Co-occurring substance use or abuse",
        "Co-occurring substance use or abuse.",
        details=(
            Detail("alcohol", "Alcohol", ("alcohol",)),
            Detail("narcotics", "Narcotics or other drugs", ("narcotics",)),
            Detail("marijuana", "Marijuana", ("marijuana",)),
            Detail("nicotine", "Nicotine or tobacco", ("nicotine",)),
            Detail("other", "Other substance", ("addiction",)),
        ),
        needs=("co-occurring-substance-use", "addiction"),
    ),
    Indication(
        "IV.E",
        "Alternative intervention",
        "Alternative intervention: Individuals with emotional problems who do not meet DMH "
        "criteria for provision of services; individuals who fail to respond or have "
        "suboptimal response to treatment, individuals with problems interacting with "
        "clinician and/or mental health systems.",
        details=(
            Detail("not-dmh-criteria", "Does not meet DMH criteria for services"),
            Detail("suboptimal-response", "Fails to respond or responds suboptimally"),
            Detail("interaction", "Problems interacting with clinician or mental health system"),
        ),
        needs=("emotional-health",),
    ),
    Indication(
        "IV.F",
        "Support of unique status",
        "Support of unique status: Individuals with emotional problems and unique ethnic, "
        "linguistic, or cultural status.",
        details=(
            Detail("ethnic", "Unique ethnic status"),
            Detail("linguistic", "Unique linguistic status"),
            Detail("cultural", "Unique cultural status"),
        ),
        needs=("emotional-health",),
    ),
    Indication(
        "IV.G",
        "Unresolved life crises",
        "Unresolved Life Crises: Individuals with a range of life crises, including "
        "bereavement, family problems, domestic violence, sexual assault, job loss, "
        "homelessness, and child abuse.",
        details=(
            Detail("bereavement", "Bereavement", ("bereavement", "suicide-loss")),
            Detail("family", "Family problems", ("co-dependency", "parenting", "divorce")),
            Detail("domestic-violence", "Domestic violence", ("trauma-abuse-survivors",)),
            Detail("sexual-assault", "Sexual assault", ("rape", "trauma-abuse-survivors")),
            Detail("job-loss", "Job loss", ("debt", "emotional-health")),
            Detail("homelessness", "Homelessness", ("emotional-health",)),
            Detail("child-abuse", "Child abuse", ("trauma-abuse-survivors", "incest")),
            Detail("other", "Another life crisis", ("emotional-health",)),
        ),
        detail_asked=True,
    ),
    Indication(
        "IV.H",
        "Support for specific diagnoses",
        "Support for individuals and families with specific diagnoses: Individuals with "
        "specific disorders, including anxiety disorders, mood disorders, ADHD, and PTSD.",
        details=(
            Detail("anxiety", "Anxiety disorder", ("anxiety", "ocd")),
            Detail("depression", "Mood disorder: depression", ("depression",)),
            Detail("bipolar", "Mood disorder: bipolar", ("bipolar", "depression")),
            Detail("adhd", "ADHD", ("emotional-health",)),
            Detail("ptsd", "PTSD", ("trauma-abuse-survivors", "anxiety")),
            Detail(
                "schizophrenia", "Schizophrenia or schizo-affective disorder", ("schizophrenia",)
            ),
            Detail("eating", "Eating disorder", ("eating",)),
            Detail("other", "Another diagnosis", ("emotional-health",)),
            Detail("family", "A family member's diagnosis", ("families-mental-illness",)),
        ),
        detail_asked=True,
    ),
)

INDICATIONS_BY_CODE: dict[str, Indication] = {i.code: i for i in INDICATIONS}

SELECTION_CRITERION_TEXT = (
    "Individual must be able to be with a group of people for at least 20 minutes without "
    "being disruptive."
)
VIOLENCE_TEXT = "Violence with lack of impulse control."
DISINTEREST_TEXT = "Expressed disinterest in self-help options after adequate explanation."
MEDICATION_TEXT = (
    "For clients who are taking appropriately prescribed psychiatric medication, referrals "
    "should not be made to self-help groups where members encourage clients to stop taking "
    "their psychiatric medications against physician advice, or where mental health consumers "
    "are not treated as full members of the group because of their prescribed medication use."
)

# Every clause code a screening may name; anything else in a submitted form is tampering.
SCREENING_CLAUSES = frozenset(
    {*INDICATIONS_BY_CODE, "IV", "V", "VI.A", "VI.B", "VI.C", "VIII.A", "VIII.B"}
)


def needs_for(indication_code: str, detail_code: str = "") -> tuple[str, ...]:
    """The directory needs an indication (with its detail, if any) suggests matching on."""
    indication = INDICATIONS_BY_CODE[indication_code]
    detail = indication.detail(detail_code) if detail_code else None
    if detail is not None and detail.needs:
        return detail.needs
    return indication.needs
