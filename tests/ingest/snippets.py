"""Hand-written minimal census returns for the data-quality tests (no file is copied)."""

from __future__ import annotations

from pathlib import Path


def child(
    laid: str = "C1",
    *,
    birth: str | None = "2015-06-14",
    expected: str | None = None,
    sex: str = "<GenderCurrent>1</GenderCurrent>",
    ethnicity: str = "WBRI",
    details: str = "",
    extra_ids: str = "",
) -> str:
    """One ``Child`` element."""
    dob = f"<PersonBirthDate>{birth}</PersonBirthDate>" if birth is not None else ""
    edob = f"<ExpectedPersonBirthDate>{expected}</ExpectedPersonBirthDate>" if expected else ""
    return (
        f"<Child><ChildIdentifiers><LAchildID>{laid}</LAchildID>{extra_ids}{dob}{edob}{sex}"
        f"</ChildIdentifiers><ChildCharacteristics><Ethnicity>{ethnicity}</Ethnicity>"
        f"</ChildCharacteristics>{details}</Child>"
    )


def referral(
    date: str = "2021-06-01",
    *,
    source: str = "6",
    need: str = "N1",
    nfa: str = "false",
    inner: str = "",
    after_nfa: str = "",
) -> str:
    """One ``CINdetails`` element; ``inner`` goes before ReferralNFA, ``after_nfa`` after."""
    return (
        f"<CINdetails><CINreferralDate>{date}</CINreferralDate>"
        f"<ReferralSource>{source}</ReferralSource><PrimaryNeedCode>{need}</PrimaryNeedCode>"
        f"{inner}<ReferralNFA>{nfa}</ReferralNFA>{after_nfa}</CINdetails>"
    )


def assessment(start: str, auth: str | None, factors: tuple[str, ...] = ()) -> str:
    a = f"<AssessmentAuthorisationDate>{auth}</AssessmentAuthorisationDate>" if auth else ""
    f = "".join(f"<AssessmentFactors>{x}</AssessmentFactors>" for x in factors)
    fs = f"<FactorsIdentifiedAtAssessment>{f}</FactorsIdentifiedAtAssessment>" if factors else ""
    return f"<Assessments><AssessmentActualStartDate>{start}</AssessmentActualStartDate>{a}{fs}</Assessments>"


def s47(start: str, icpc: str | None = None, not_required: str | None = None) -> str:
    c = f"<DateOfInitialCPC>{icpc}</DateOfInitialCPC>" if icpc else ""
    nr = not_required if not_required is not None else ("false" if icpc else "true")
    return (
        f"<Section47><S47ActualStartDate>{start}</S47ActualStartDate>{c}"
        f"<ICPCnotRequired>{nr}</ICPCnotRequired></Section47>"
    )


def plan(start: str, end: str | None = None, initial: str = "NEG", latest: str = "NEG") -> str:
    e = f"<CPPendDate>{end}</CPPendDate>" if end else ""
    return (
        f"<ChildProtectionPlans><CPPstartDate>{start}</CPPstartDate>{e}"
        f"<InitialCategoryOfAbuse>{initial}</InitialCategoryOfAbuse>"
        f"<LatestCategoryOfAbuse>{latest}</LatestCategoryOfAbuse>"
        f"<NumberOfPreviousCPP>0</NumberOfPreviousCPP></ChildProtectionPlans>"
    )


def write_return(
    folder: Path, name: str, children: str, *, year: int = 2022, lea: str = "201"
) -> Path:
    """A whole return; one element per line so line numbers in messages are meaningful."""
    body = children.replace("><", ">\n<")
    text = (
        "<?xml version='1.0' encoding='UTF-8'?>\n<Message>\n<Header>\n<CollectionDetails>\n"
        f"<Collection>CIN</Collection>\n<Year>{year}</Year>\n"
        f"<ReferenceDate>{year}-03-31</ReferenceDate>\n</CollectionDetails>\n<Source>\n"
        f"<SourceLevel>L</SourceLevel>\n<LEA>{lea}</LEA>\n</Source>\n</Header>\n<Children>\n"
        f"{body}\n</Children>\n</Message>\n"
    )
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
