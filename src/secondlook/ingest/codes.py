"""The code lists of the CIN census and how each code maps to the project's vocabulary.

One place holds every mapping between the DfE census codes and the canonical tables of
:mod:`secondlook.schema`, in both directions: the importer reads ``*_TO_*`` tables, the
exporter the reverse ones. Where the census is coarser than the project (the referral's
primary need against the project's concern), the round trip keeps what the census can hold:
``import(export(x)) == coarsen(x)``, and :func:`coarsen_concern` says exactly what that is.

Sources: DfE CIN census specification (2017-18 to 2025-26), as rendered in
``../shared/reference/CSC_FORMATS.md``.
"""

from __future__ import annotations

from secondlook.schema import CONCERNS, ETHNICITY_NOT_RECORDED, SOURCES

#: ReferralSource code -> the project's referral source
REFERRAL_SOURCE: dict[str, str] = {
    "1A": "self_family",  # family member, relative or carer
    "1B": "other",  # acquaintance
    "1C": "self_family",  # self
    "1D": "other",  # other individual
    "2A": "school",
    "2B": "school",  # education services
    "3A": "gp",
    "3B": "health_visitor",
    "3C": "health_visitor",  # school nurse: community nursing, like the health visitor
    "3D": "gp",  # other primary health services
    "3E": "hospital",  # A&E
    "3F": "hospital",  # other health services
    "4": "housing",
    "5A": "adult_services",  # LA social care (e.g. adult)
    "5B": "other",
    "5C": "other",
    "5D": "other",
    "6": "police",
    "7": "probation",  # courts, probation, prison, CAFCASS, immigration
    "8": "other",
    "9": "anonymous",
    "10": "other",  # unknown
}
#: the project's source -> the ReferralSource the exporter writes (imports back unchanged)
SOURCE_CODE: dict[str, str] = {
    "police": "6",
    "health_visitor": "3B",
    "gp": "3A",
    "hospital": "3E",
    "school": "2A",
    "probation": "7",
    "adult_services": "5A",
    "housing": "4",
    "self_family": "1A",
    "anonymous": "9",
    "other": "8",
}

#: PrimaryNeedCode -> the concern recorded on the referral
PRIMARY_NEED: dict[str, str] = {
    "N1": "neglect",  # abuse or neglect
    "N2": "other",  # child's disability
    "N3": "parental_mental_health",  # parental illness or disability
    "N4": "other",  # family in acute stress
    "N5": "domestic_abuse",  # family dysfunction
    "N6": "other",  # socially unacceptable behaviour
    "N7": "other",  # low income
    "N8": "other",  # absent parenting
    "N9": "other",  # cases other than children in need
    "N0": "other",  # not stated
}
#: concern -> PrimaryNeedCode the exporter writes
NEED_CODE: dict[str, str] = {
    "physical_injury": "N1",
    "neglect": "N1",
    "emotional": "N1",
    "sexual": "N1",
    "domestic_abuse": "N5",
    "parental_drug_misuse": "N5",
    "parental_alcohol_misuse": "N5",
    "parental_mental_health": "N3",
    "other": "N4",
}

#: AssessmentFactors code -> concern (the subject letter A/B/C is kept beside it)
FACTOR_CONCERN: dict[str, str] = {
    "1A": "other",  # the child's own alcohol misuse
    "1B": "parental_alcohol_misuse",
    "1C": "parental_alcohol_misuse",
    "2A": "other",  # the child's own drug misuse
    "2B": "parental_drug_misuse",
    "2C": "parental_drug_misuse",
    "3A": "domestic_abuse",
    "3B": "domestic_abuse",
    "3C": "domestic_abuse",
    "4A": "other",  # the child's own mental health
    "4B": "parental_mental_health",
    "4C": "parental_mental_health",
    "5A": "other",
    "5B": "other",
    "5C": "other",
    "6A": "other",
    "6B": "other",
    "6C": "other",
    "7A": "other",
    "8B": "other",
    "8C": "other",
    "8D": "other",
    "8E": "other",
    "8F": "other",
    "9A": "other",
    "10A": "other",
    "11A": "sexual",  # child sexual exploitation
    "12A": "other",
    "13A": "other",
    "14A": "other",
    "15A": "other",
    "16A": "neglect",
    "17A": "emotional",
    "18A": "physical_injury",  # retired in 2021, still sent
    "18B": "physical_injury",
    "18C": "physical_injury",
    "19A": "sexual",  # retired in 2021, still sent
    "19B": "sexual",
    "19C": "sexual",
    "20": "other",
    "22A": "physical_injury",  # FGM
    "23A": "other",
    "24A": "other",
}
#: factor codes DfE retired that returns still send (accepted, counted as a warning)
RETIRED_FACTORS = frozenset({"18A", "19A"})
#: "no factors identified": valid only alone
NO_FACTORS = "21"
#: concern found at assessment -> the factor code the exporter writes (subject B: a parent)
CONCERN_FACTOR: dict[str, str] = {
    "parental_alcohol_misuse": "1B",
    "parental_drug_misuse": "2B",
    "domestic_abuse": "3B",
    "parental_mental_health": "4B",
    "neglect": "16A",
    "emotional": "17A",
    "physical_injury": "18C",
    "sexual": "19C",
    "other": "20",
}

#: CategoryOfAbuse -> plan event detail
ABUSE_CATEGORY: dict[str, str] = {
    "NEG": "neglect",
    "PHY": "physical",
    "SAB": "sexual",
    "EMO": "emotional",
    "MUL": "multiple",
}
CATEGORY_CODE: dict[str, str] = {v: k for k, v in ABUSE_CATEGORY.items()}

#: Ethnicity code -> the project's group (Chinese under Asian, as in the 2011 and 2021 census)
ETHNICITY: dict[str, str] = {
    **dict.fromkeys(("WBRI", "WIRI", "WIRT", "WOTH", "WROM"), "White"),
    **dict.fromkeys(("MWBC", "MWBA", "MWAS", "MOTH"), "Mixed"),
    **dict.fromkeys(("AIND", "APKN", "ABAN", "AOTH", "CHNE"), "Asian"),
    **dict.fromkeys(("BCRB", "BAFR", "BOTH"), "Black"),
    "OOTH": "Other",
    "REFU": ETHNICITY_NOT_RECORDED,
    "NOBT": ETHNICITY_NOT_RECORDED,
}
#: group -> the code the exporter writes (the "any other" code of the group)
ETHNICITY_CODE: dict[str, str] = {
    "White": "WOTH",
    "Mixed": "MOTH",
    "Asian": "AOTH",
    "Black": "BOTH",
    "Other": "OOTH",
    ETHNICITY_NOT_RECORDED: "NOBT",
}

DISABILITIES = frozenset(
    {"NONE", "MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON", "AUT", "DDA"}
)
#: GenderCurrent (to 2023-24) and Sex (from 2024-25) -> the project's sex
SEX: dict[str, str] = {"1": "M", "2": "F", "0": "U", "9": "U", "M": "M", "F": "F", "U": "U"}
#: the project's sex -> GenderCurrent
GENDER_CODE: dict[str, str] = {"M": "1", "F": "2", "U": "0"}
#: first collection year (``Header/CollectionDetails/Year``) that sends ``Sex`` M/F/U
SEX_FROM_YEAR = 2025
REASONS_FOR_CLOSURE = frozenset(f"RC{i}" for i in range(1, 10))
#: boolean spellings seen in returns (upper-cased, stripped) -> value
BOOLEANS: dict[str, bool] = {
    "TRUE": True,
    "1": True,
    "Y": True,
    "YES": True,
    "A) YES": True,
    "FALSE": False,
    "0": False,
    "N": False,
    "NO": False,
    "B) NO": False,
}
#: census years this importer knows (``Year`` 2017 is the 2016-17 collection)
YEARS = range(2017, 2027)

assert set(REFERRAL_SOURCE.values()) <= set(SOURCES)
assert set(SOURCE_CODE) == set(SOURCES)
assert set(NEED_CODE) == set(CONCERNS) and set(PRIMARY_NEED.values()) <= set(CONCERNS)
assert set(CONCERN_FACTOR) == set(CONCERNS) and set(FACTOR_CONCERN.values()) <= set(CONCERNS)


def coarsen_concern(concern: str) -> str:
    """The concern a referral's concern becomes after export and import (its primary need).

    Parameters
    ----------
    concern
        One of :data:`secondlook.schema.CONCERNS`.

    Returns
    -------
    str
        ``PRIMARY_NEED[NEED_CODE[concern]]``: the census records a primary need, coarser than
        the project's concern.
    """
    return PRIMARY_NEED[NEED_CODE[concern]]
