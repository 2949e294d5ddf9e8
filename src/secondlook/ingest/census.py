"""Import Children in Need census returns (XML) as a canonical cohort.

Each file is streamed with :func:`lxml.etree.iterparse`: one ``Child`` element is read, turned
into flat rows and cleared, so memory grows with the rows kept, not with the XML tree. Every
census year from 2016-17 (``Year`` 2017) to 2025-26 is read by the same code: ``GenderCurrent``
0/1/2/9 and ``Sex`` M/F/U are both understood whatever the year, retired factor codes are
accepted with a warning, and elements this module does not map (``UPN``, ``FormerUPN``,
``UPNunknown``, ``PersonDeathDate``, ``Reviews``, ``PreProceedingsandFGDM`` ...) are counted
and never written. Identifiers other than ``LAchildID`` are never read.

The mapping (one row per rule; see also :mod:`secondlook.ingest.codes`):

- one person per ``LAchildID``, id ``<LEA>-<LAchildID>`` (so two authorities' ids never
  collide); ``birth_month`` is the first of the month of ``PersonBirthDate``, or of
  ``ExpectedPersonBirthDate`` for an unborn child (the day is dropped); sex, ethnicity group
  and disability from the child's characteristics (the codes are kept in ``codes_people``);
- each ``CINdetails`` is a ``referral`` event on ``CINreferralDate`` (source and concern mapped
  from ``ReferralSource`` and ``PrimaryNeedCode``; the codes are kept in ``codes_referrals``)
  and a ``referral_outcome`` on the same day: ``s47`` when it holds a ``Section47``,
  ``assessment`` when it holds an assessment, ``nfa`` when ``ReferralNFA`` is true and it
  holds neither; none when nothing says (an open referral, counted);
- an authorised assessment is ``assessment_completed`` on ``AssessmentAuthorisationDate``,
  its factor codes mapped to concerns (``not_in_need`` when none or only ``21``); the codes
  and their subject letter (A child, B parent or carer, C another household member) are kept
  in ``codes_factors``;
- ``S47ActualStartDate`` is ``s47_started``; an initial conference (``DateOfInitialCPC`` in the
  ``Section47`` or, before 2018, in ``CINdetails``) is ``icpc`` with ``plan`` when a plan of the
  same referral starts that day; each plan is ``cp_plan_started`` (initial category) and, when
  ended, ``cp_plan_ended`` (latest category).

Several returns are merged: a child's characteristics are taken from the latest return that
records them, a referral is one per (child, referral date), and each nested record is one per
its start date, with the latest return's non-empty values. With no family link in the census
each child is its own household unless a households file (``LAchildID`` -> family id) is given.

The data-quality rules (CSC_FORMATS.md section 4) are listed in :data:`RULES`; each is either a
documented repair or drop counted in the manifest, or a refusal
(:class:`~secondlook.ingest.errors.ImportRefused`) naming the file, line, child and element.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.features.views import CENSUS_RECORDS
from secondlook.ingest.census_tables import assemble
from secondlook.ingest.census_xml import Reader, Rows
from secondlook.ingest.errors import ImportRefused
from secondlook.ingest.manifest import Findings
from secondlook.schema import validate_tables

__all__ = ["RULES", "CensusImport", "import_census"]

#: every data-quality rule the importer applies: kind -> what it does
RULES: dict[str, str] = {
    "date_format": "a date written dd/mm/yyyy or as an ISO date-time is read as that day",
    "placeholder_date": "a date before 1910 or after 2099 (1900-01-01, 1066-..., 9999-12-31) "
    "is treated as absent",
    "future_date": "a record dated after the return's ReferenceDate is dropped",
    "referral_without_date": "a CINdetails without a usable CINreferralDate is dropped",
    "child_without_birth_date": "a child with neither birth date nor expected birth date is "
    "dropped with all its referrals",
    "birth_and_expected_birth": "a child with both dates: PersonBirthDate is used",
    "referral_long_before_birth": "a referral more than 280 days before the (expected) birth "
    "is dropped with its nested records",
    "before_referral": "an assessment, s47, conference or plan dated before its referral is "
    "dropped",
    "plan_end_before_start": "a plan end before its start is dropped (the plan stays open)",
    "authorised_before_start": "an assessment authorised before it started keeps its "
    "authorisation date",
    "assessment_start_missing": "an assessment without a start date starts on its "
    "authorisation date",
    "assessment_not_authorised": "an assessment not yet authorised gives no "
    "assessment_completed event (it is still open)",
    "merged_duplicate_referral": "the same (child, referral date) in several returns or twice "
    "in one is one referral; nested records merge on their start dates",
    "duplicate_child_in_file": "a LAchildID twice in one return: its records are merged",
    "activity_on_nfa": "a referral flagged NFA that holds an assessment or s47: the outcome is "
    "taken from the nesting",
    "referral_without_outcome": "a referral with no NFA flag, assessment or s47 gets no outcome "
    "event (still open)",
    "icpc_not_required_with_date": "ICPCnotRequired true with a conference date: the date wins",
    "plan_start_not_conference_date": "a plan starting within 30 days after its conference (not "
    "on the day): the conference resulted in that plan",
    "plan_without_conference": "a plan with no conference recorded is kept",
    "code_case_whitespace": "codes are upper-cased and stripped",
    "sex_code_old_in_new_year": "GenderCurrent sent in a return that should send Sex: read "
    "with the old code list",
    "retired_factor": "a retired factor code (18A, 19A) is accepted and mapped",
    "invalid_factor": "an unknown factor code is dropped",
    "no_factors_with_others": "21 (no factors) sent with other factors is dropped",
    "duplicate_factor": "a factor sent twice in one assessment is kept once",
    "ethnicity_missing": "a child without an Ethnicity is 'Not recorded'",
    "disability_none_with_others": "NONE sent with other disabilities is ignored",
    "referral_source_missing": "a referral without ReferralSource is from an unknown source "
    "(code 10)",
    "closed_before_census_year": "a referral closed before the return's year began (kept)",
    "unmapped_element": "an element this importer does not map is counted and not written",
    "family_link": "children absent from the households file are their own household",
}


@dataclass(frozen=True)
class CensusImport:
    """What :func:`import_census` returns.

    Attributes
    ----------
    tables
        The canonical cohort tables ``households``, ``people``, ``events`` (validated).
    codes
        Side tables keeping the census codes: ``codes_people`` (person_id, ethnicity_code,
        sex_code, disability_codes), ``codes_referrals`` (event_id, referral_source_code,
        primary_need_code, reason_for_closure, closure_date, nfa_flag), ``codes_factors``
        (event_id of the assessment, factor_code, subject).
    manifest
        JSON-able record: inputs (path, sha256, year, LEA), counts in and out, every repair,
        drop and warning with examples, the rules, and how households were formed.
    """

    tables: dict[str, pd.DataFrame]
    codes: dict[str, pd.DataFrame]
    manifest: dict[str, Any]


def _read_households(path: Path, findings: Findings) -> dict[str, str]:
    """``LAchildID`` (optionally with ``LEA``) -> family id, from a CSV file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            lower = {h.lower(): h for h in header}
            if "lachildid" not in lower or "family_id" not in lower:
                raise ImportRefused(
                    str(path), f"needs columns LAchildID and family_id; found {header}"
                )
            out: dict[str, str] = {}
            for i, row in enumerate(reader, start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                laid, fam = row[lower["lachildid"]], row[lower["family_id"]]
                if not laid or not fam:
                    raise ImportRefused(
                        str(path), "empty LAchildID or family_id", where=f"line {i}"
                    )
                lea = row.get(lower.get("lea", ""), "")
                out[f"{lea}-{laid}" if lea else laid] = fam
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRefused(str(path), f"cannot be read: {exc}") from None
    findings.counts_in["households_file_rows"] = len(out)
    return out


def import_census(paths: Sequence[Path], *, households: Path | None = None) -> CensusImport:
    """Read CIN census returns and build the canonical cohort tables.

    Parameters
    ----------
    paths
        One or more census XML files (any years 2017-2026, any authorities).
    households
        Optional CSV with columns ``LAchildID``, ``family_id`` (and optionally ``LEA``): the
        children of one family share a household. Without it each child is its own household.

    Returns
    -------
    CensusImport
        The tables, the code side tables and the manifest.

    Raises
    ------
    ImportRefused
        On a file that is not a well-formed census return or holds a value no rule can repair
        (an unparseable date, an unknown code, a missing or malformed LAchildID), naming the
        file, line, child and element.
    """
    if not paths:
        raise ImportRefused("(none)", "no census files given")
    findings = Findings()
    rows = Rows()
    for order, path in enumerate(paths):
        if not Path(path).is_file():
            raise ImportRefused(str(path), "no such file")
        Reader(Path(path), order, rows, findings).run()
    family = _read_households(households, findings) if households is not None else None
    tables, side = assemble(rows, findings, family)
    validate_tables(tables)
    counts_out = {name: len(df) for name, df in tables.items()}
    counts_out.update(
        {
            f"events.{k}": int(v)
            for k, v in tables["events"]["type"].value_counts().sort_index().items()
        }
    )
    records = [*CENSUS_RECORDS, *(["household"] if households is not None else [])]
    manifest = {
        "format": "CIN census",
        "records": sorted(records),
        "inputs": rows.files,
        **findings.as_dict(),
        "counts_out": counts_out,
        "households": (
            f"from {households} (LAchildID -> family id)"
            if households is not None
            else "none in the census: each child is its own household"
        ),
        "not_imported": "UPN, FormerUPN, UPNunknown and every identifier other than LAchildID "
        "are never read or written; adults, households, police, health and school events are "
        "not in the census",
        "rules": RULES,
    }
    return CensusImport(tables, side, manifest)
