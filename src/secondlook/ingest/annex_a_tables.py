"""The tables the Annex A importer reads by: header aliases per list, and label mappings.

Both are extended by a user's YAML file (see :mod:`secondlook.ingest.annex_a`): ``columns``
adds header aliases, every other key adds ``label: value`` pairs to the table of that name.
Labels are written here normalised (:func:`secondlook.ingest.annex_a.normalise`).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["COLUMNS", "LABELS", "NAME_COLUMN"]

_COMMON = {
    "child_id": ["child unique id", "child id", "unique id", "child unique identifier"],
    "gender": ["gender", "sex"],
    "ethnicity": ["ethnicity", "ethnic origin"],
    "birth": ["date of birth", "dob", "birth date"],
    "disability": ["does the child have a disability", "disability", "disabled"],
}
#: list -> field -> header aliases (normalised); ``child_id`` is required in every list
COLUMNS: dict[int, dict[str, list[str]]] = {
    1: {**_COMMON, "contact_date": ["date of contact", "contact date"]},
    3: {
        **_COMMON,
        "referral_date": ["date of referral", "referral date"],
        "source": ["referral source", "source of referral"],
        "nfa": ["referral nfa", "nfa", "referral no further action"],
    },
    4: {
        **_COMMON,
        "start": [
            "continuous assessment start date",
            "assessment start date",
            "date assessment started",
        ],
        "auth": [
            "continuous assessment date of authorisation",
            "assessment authorisation date",
            "date of authorisation",
            "assessment completion date",
        ],
        "in_need": [
            "was the child assessed as requiring la childrens social care support",
            "assessed as requiring support",
            "child assessed as requiring support",
        ],
    },
    5: {
        **_COMMON,
        "start": [
            "strategy discussion initiating section 47 enquiry start date",
            "section 47 enquiry start date",
            "s47 start date",
            "strategy discussion date",
        ],
        "icpc_unnecessary": [
            "was an initial child protection conference deemed unnecessary",
            "icpc deemed unnecessary",
        ],
        "icpc": ["date of initial child protection conference", "icpc date", "date of icpc"],
        "icpc_plan": [
            "did the initial child protection conference result in a child protection plan",
            "icpc resulted in a plan",
            "did the icpc result in a plan",
        ],
    },
    6: {**_COMMON, "cin_start": ["cin start date"]},
    7: {
        **_COMMON,
        "start": ["child protection plan start date", "plan start date", "cpp start date"],
        "end": ["child protection plan end date", "plan end date", "cpp end date"],
        "initial": ["initial category of abuse"],
        "latest": ["latest category of abuse"],
    },
}
#: columns that hold a person's name: never read, whatever the list
NAME_COLUMN = re.compile(r"\b(worker|name|social worker|practitioner|manager)\b")

#: label tables: normalised label -> value; a user YAML file extends them
LABELS: dict[str, dict[str, Any]] = {
    "gender": {
        "male": "M",
        "m": "M",
        "1": "M",
        "boy": "M",
        "female": "F",
        "f": "F",
        "2": "F",
        "girl": "F",
        "unborn": "unborn",
        "not stated recorded": "U",
        "not stated": "U",
        "not recorded": "U",
        "unknown": "U",
        "indeterminate": "U",
        "u": "U",
        "0": "U",
        "9": "U",
        "other": "U",
    },
    "ethnicity": {
        "white british": "WBRI",
        "white english": "WBRI",
        "white irish": "WIRI",
        "white other": "WOTH",
        "any other white background": "WOTH",
        "traveller of irish heritage": "WIRT",
        "gypsy roma": "WROM",
        "white and black caribbean": "MWBC",
        "white and black african": "MWBA",
        "white and asian": "MWAS",
        "any other mixed background": "MOTH",
        "indian": "AIND",
        "pakistani": "APKN",
        "bangladeshi": "ABAN",
        "any other asian background": "AOTH",
        "caribbean": "BCRB",
        "african": "BAFR",
        "any other black background": "BOTH",
        "chinese": "CHNE",
        "any other ethnic group": "OOTH",
        "other": "OOTH",
        "refused": "REFU",
        "information not yet obtained": "NOBT",
        "not obtained": "NOBT",
        "unknown": "NOBT",
        "unkown": "NOBT",
        "not known": "NOBT",
        "not stated": "NOBT",
        "unborn": "unborn",
    },
    "referral_source": {
        "police": "6",
        "school": "2A",
        "schools": "2A",
        "education services": "2B",
        "gp": "3A",
        "health visitor": "3B",
        "school nurse": "3C",
        "health services": "3F",
        "a and e": "3E",
        "a e": "3E",
        "hospital": "3E",
        "housing": "4",
        "individual": "1D",
        "family member": "1A",
        "self": "1C",
        "acquaintance": "1B",
        "la services": "5B",
        "other la": "5C",
        "early help": "5D",
        "social care": "5A",
        "other legal agency": "7",
        "probation": "7",
        "other": "8",
        "anonymous": "9",
        "unknown": "10",
    },
    "boolean": {
        "yes": True,
        "y": True,
        "true": True,
        "1": True,
        "no": False,
        "n": False,
        "false": False,
        "0": False,
    },
    "nfa": {
        "nfa": True,
        "no further action": True,
        "fa": False,
        "further action": False,
    },
    "category": {
        "neglect": "NEG",
        "physical abuse": "PHY",
        "physical": "PHY",
        "sexual abuse": "SAB",
        "sexual": "SAB",
        "emotional abuse": "EMO",
        "emotional": "EMO",
        "multiple": "MUL",
        "mixed": "MUL",
    },
}
