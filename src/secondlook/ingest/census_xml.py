"""Streaming reader of one CIN census return: ``Child`` by ``Child`` into flat rows.

:class:`Reader` parses a file with :func:`lxml.etree.iterparse` (one ``Child`` element in memory
at a time, cleared once read), refuses what no rule reads (naming file, line, child and element)
and counts every repair, drop and warning in a :class:`~secondlook.ingest.manifest.Findings`.
:func:`secondlook.ingest.census.import_census` merges the rows of every return.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from secondlook.ingest import codes
from secondlook.ingest.errors import ImportRefused
from secondlook.ingest.manifest import Findings, file_sha256

__all__ = ["Reader", "Rows"]

_DATE_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_NESTED = ("Assessments", "CINPlanDates", "Section47", "ChildProtectionPlans")
#: elements read and not mapped: counted in ``counts_in`` only (identifiers never read)
_KNOWN_UNMAPPED = frozenset(
    {
        "UPN",
        "FormerUPN",
        "UPNunknown",
        "PersonDeathDate",
        "PreProceedingsandFGDM",
        "CINPlanDates",
    }
)


_DETAILS_MAPPED = frozenset(
    {
        "CINreferralDate",
        "ReferralSource",
        "PrimaryNeedCode",
        "CINclosureDate",
        "ReasonForClosure",
        "DateOfInitialCPC",
        "ReferralNFA",
    }
)


def _local(tag: Any) -> str:
    """The local name of an element tag (namespaces ignored); '' for comments."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


@dataclass
class Rows:
    """Flat rows of everything read, as lists of tuples (cheap to append, one frame at the end)."""

    children: list[tuple[Any, ...]] = field(default_factory=list)
    referrals: list[tuple[Any, ...]] = field(default_factory=list)
    assessments: list[tuple[Any, ...]] = field(default_factory=list)
    s47: list[tuple[Any, ...]] = field(default_factory=list)
    plans: list[tuple[Any, ...]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)


class Reader:
    """Reads one return into :class:`_Rows`, refusing or counting what breaks the rules."""

    def __init__(self, path: Path, order: int, rows: Rows, findings: Findings) -> None:
        self.path, self.order, self.rows, self.f = path, order, rows, findings
        self.name = str(path)
        self.lea = ""
        self.year = 0
        self.reference = "9999-12-31"
        self.year_start = "0000-01-01"
        self.seen: set[str] = set()
        self.line = 0
        self.child = ""

    # --- small readers ------------------------------------------------------------------------
    def where(self) -> str:
        return (
            f"{self.name}:{self.line} child {self.child}"
            if self.child
            else f"{self.name}:{self.line}"
        )

    def refuse(self, problem: str, element: str | None = None) -> ImportRefused:
        return ImportRefused(
            self.name, problem, where=f"line {self.line}", child=self.child or None, element=element
        )

    def date(self, el: Any, element: str) -> str | None:
        """An ISO date string, None when absent or a placeholder; refuses what is not a date."""
        if el is None:
            return None
        raw = el.text or ""
        text = raw.strip()
        if not text:
            return None
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            iso = text
        elif len(text) > 10 and text[4] == "-" and text[10] == "T":
            iso = text[:10]
            self.f.repair("date_format", self.where())
        else:
            m = _DATE_DMY.match(text)
            if m is None:
                raise self.refuse(f"`{text}` is not a date (expected YYYY-MM-DD)", element)
            iso = f"{m[3]}-{int(m[2]):02d}-{int(m[1]):02d}"
            self.f.repair("date_format", self.where())
        try:
            day = dt.date.fromisoformat(iso)
        except ValueError:
            raise self.refuse(f"`{text}` is not a date (expected YYYY-MM-DD)", element) from None
        if day.year < 1910 or day.year > 2099:
            self.f.repair("placeholder_date", f"{self.where()} {element}={text}")
            return None
        return iso

    def code(self, el: Any, element: str, allowed: Any) -> str | None:
        if el is None:
            return None
        raw = el.text or ""
        value = raw.strip().upper()
        if not value:
            return None
        if value != raw:
            self.f.repair("code_case_whitespace", self.where())
        if value not in allowed:
            raise self.refuse(f"`{raw.strip()}` is not a {element} code", element)
        return value

    def boolean(self, el: Any, element: str) -> bool | None:
        if el is None:
            return None
        raw = (el.text or "").strip()
        if not raw:
            return None
        value = codes.BOOLEANS.get(raw.upper())
        if value is None:
            raise self.refuse(f"`{raw}` is not true/false", element)
        return value

    def future(self, day: str | None, element: str) -> bool:
        if day is not None and day > self.reference:
            self.f.drop("future_date", f"{self.where()} {element}={day}")
            return True
        return False

    # --- the file -----------------------------------------------------------------------------
    def run(self) -> None:
        self.f.counts_in["files"] += 1
        try:
            with self.path.open("rb") as fh:
                self._parse(fh)
        except etree.XMLSyntaxError as exc:
            line = exc.lineno or self.line
            raise ImportRefused(
                self.name, f"not well-formed XML: {exc.msg}", where=f"line {line}"
            ) from None
        if not self.lea:
            raise ImportRefused(self.name, "no Header/Source/LEA: not a CIN census return")
        self.rows.files.append(
            {
                "file": self.name,
                "sha256": file_sha256(self.path),
                "year": self.year,
                "reference_date": self.reference,
                "lea": self.lea,
            }
        )

    def _parse(self, fh: Any) -> None:
        context = etree.iterparse(
            fh,
            events=("end",),
            tag=("{*}Header", "{*}Child"),
            resolve_entities=False,
            no_network=True,
            huge_tree=True,
        )
        for _, el in context:
            self.line = el.sourceline or 0
            if _local(el.tag) == "Header":
                self.header(el)
            else:
                if not self.lea:
                    raise self.refuse("a Child before the Header (no LEA known)", "Header")
                self.child = ""
                self.read_child(el)
                self.child = ""
            # free what was read: the element and the siblings before it
            el.clear(keep_tail=False)
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]

    def header(self, el: Any) -> None:
        found: dict[str, Any] = {}
        for sub in el.iter():
            name = _local(sub.tag)
            if name in ("Year", "ReferenceDate", "LEA", "Collection"):
                found.setdefault(name, sub)
        lea_el = found.get("LEA")
        lea = (lea_el.text or "").strip() if lea_el is not None else ""
        if not re.fullmatch(r"\d{3}", lea):
            raise self.refuse(f"LEA `{lea}` is not a 3-digit local authority code", "LEA")
        year_el = found.get("Year")
        year_text = (year_el.text or "").strip() if year_el is not None else ""
        if not year_text.isdigit() or int(year_text) not in codes.YEARS:
            raise self.refuse(
                f"collection Year `{year_text}` is not one of {codes.YEARS.start}-"
                f"{codes.YEARS.stop - 1}",
                "Year",
            )
        self.lea, self.year = lea, int(year_text)
        ref = self.date(found.get("ReferenceDate"), "ReferenceDate")
        self.reference = ref or f"{self.year}-03-31"
        self.year_start = f"{self.year - 1}-04-01"

    def read_child(self, el: Any) -> None:
        self.f.counts_in["Child"] += 1
        ids = chars = None
        details: list[Any] = []
        for sub in el:
            name = _local(sub.tag)
            if name == "ChildIdentifiers":
                ids = sub
            elif name == "ChildCharacteristics":
                chars = sub
            elif name == "CINdetails":
                details.append(sub)
            elif name:
                self.f.warn("unmapped_element", f"{self.where()} {name}")
        if ids is None:
            raise self.refuse("a Child without ChildIdentifiers", "ChildIdentifiers")
        person, birth, expected, sex, sex_code = self.identifiers(ids)
        eth_code, disability, dis_codes = self.characteristics(chars)
        self.rows.children.append(
            (
                person,
                self.lea,
                birth,
                expected,
                sex,
                sex_code or "",
                eth_code,
                disability,
                " ".join(dis_codes),
                self.year,
                self.order,
                self.line,
            )
        )
        for d in details:
            self.read_details(d, person)

    def identifiers(self, ids: Any) -> tuple[str, str | None, str | None, str, str | None]:
        """person id, birth, expected birth, sex and the sex code as sent (UPN never read)."""
        idf = self._fields(ids)
        laid_el = idf.get("LAchildID")
        laid = (laid_el.text or "").strip() if laid_el is not None else ""
        if not laid:
            raise self.refuse("a Child without LAchildID", "LAchildID")
        if len(laid) > 20 or any(c.isspace() for c in laid):
            raise self.refuse(
                f"LAchildID `{laid[:40]}` is malformed (at most 20 characters, no spaces)",
                "LAchildID",
            )
        self.child = laid
        person = f"{self.lea}-{laid}"
        if person in self.seen:
            self.f.repair("duplicate_child_in_file", self.where())
        self.seen.add(person)
        birth = self.date(idf.get("PersonBirthDate"), "PersonBirthDate")
        expected = self.date(idf.get("ExpectedPersonBirthDate"), "ExpectedPersonBirthDate")
        if birth and expected:
            self.f.repair("birth_and_expected_birth", self.where())
            expected = None
        sex_el, gender_el = idf.get("Sex"), idf.get("GenderCurrent")
        if sex_el is not None and (sex_el.text or "").strip():
            sex_code = self.code(sex_el, "Sex", ("M", "F", "U"))
        else:
            sex_code = self.code(gender_el, "GenderCurrent", ("0", "1", "2", "9"))
            if sex_code is not None and self.year >= codes.SEX_FROM_YEAR:
                self.f.warn("sex_code_old_in_new_year", self.where())
        sex = codes.SEX[sex_code] if sex_code else "U"
        return person, birth, expected, sex, sex_code

    def characteristics(self, chars: Any) -> tuple[str, bool | None, list[str]]:
        """Ethnicity code, disability (None when not recorded) and the disability codes."""
        eth_code: str | None = None
        dis_codes: list[str] = []
        for sub in chars if chars is not None else ():
            name = _local(sub.tag)
            if name == "Ethnicity":
                eth_code = self.code(sub, "Ethnicity", codes.ETHNICITY)
            elif name == "Disabilities":
                for d in sub:
                    c = self.code(d, "Disability", codes.DISABILITIES) if _local(d.tag) else None
                    if c is not None and c not in dis_codes:
                        dis_codes.append(c)
        if eth_code is None:
            self.f.repair("ethnicity_missing", self.where())
            eth_code = "NOBT"
        disability: bool | None = None
        if dis_codes:
            real = [c for c in dis_codes if c != "NONE"]
            if real and "NONE" in dis_codes:
                self.f.repair("disability_none_with_others", self.where())
            disability = bool(real)
        return eth_code, disability, dis_codes

    def read_details(self, el: Any, person: str) -> None:
        f = self.f
        f.counts_in["CINdetails"] += 1
        line = el.sourceline or self.line
        self.line = line
        single: dict[str, Any] = {}
        nested: dict[str, list[Any]] = {k: [] for k in _NESTED}
        for sub in el:
            name = _local(sub.tag)
            if name in nested:
                nested[name].append(sub)
            elif name:
                single[name] = sub
        self.note_unmapped(single)
        for name in ("CINPlanDates",):
            f.counts_in[name] += len(nested[name])
        ref = self.date(single.get("CINreferralDate"), "CINreferralDate")
        if ref is None:
            f.drop("referral_without_date", self.where())
            return
        if self.future(ref, "CINreferralDate"):
            return
        source = self.code(single.get("ReferralSource"), "ReferralSource", codes.REFERRAL_SOURCE)
        if source is None:
            f.repair("referral_source_missing", self.where())
            source = "10"
        need = self.code(single.get("PrimaryNeedCode"), "PrimaryNeedCode", codes.PRIMARY_NEED)
        nfa = self.boolean(single.get("ReferralNFA"), "ReferralNFA")
        closure = self.date(single.get("CINclosureDate"), "CINclosureDate")
        if closure is not None and closure > self.reference:
            closure = None
        reason = self.code(
            single.get("ReasonForClosure"), "ReasonForClosure", codes.REASONS_FOR_CLOSURE
        )
        if closure is not None and closure < self.year_start:
            f.warn("closed_before_census_year", self.where())
        cpc = self.date(single.get("DateOfInitialCPC"), "DateOfInitialCPC")
        if self.future(cpc, "DateOfInitialCPC"):
            cpc = None
        self.rows.referrals.append(
            (person, ref, source, need, nfa, closure, reason, cpc, self.year, self.order, line)
        )
        for a in nested["Assessments"]:
            self.read_assessment(a, person, ref)
        for s in nested["Section47"]:
            self.read_s47(s, person, ref)
        for p in nested["ChildProtectionPlans"]:
            self.read_plan(p, person, ref)

    def note_unmapped(self, single: dict[str, Any]) -> None:
        """Count the CINdetails elements this importer reads but does not map."""
        for name in single:
            if name in _KNOWN_UNMAPPED:
                self.f.counts_in[name] += 1
            elif name not in _DETAILS_MAPPED:
                self.f.warn("unmapped_element", f"{self.where()} {name}")

    def _fields(self, el: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for sub in el:
            name = _local(sub.tag)
            if name:
                out[name] = sub
        return out

    def read_assessment(self, el: Any, person: str, ref: str) -> None:
        f = self.f
        f.counts_in["Assessments"] += 1
        self.line = el.sourceline or self.line
        x = self._fields(el)
        start = self.date(x.get("AssessmentActualStartDate"), "AssessmentActualStartDate")
        auth = self.date(x.get("AssessmentAuthorisationDate"), "AssessmentAuthorisationDate")
        if auth is not None and auth > self.reference:
            auth = None  # authorised after this return: still open in it
        if self.future(start, "AssessmentActualStartDate"):
            return
        if start is None:
            if auth is None:
                f.drop("assessment_start_missing", self.where())
                return
            f.repair("assessment_start_missing", self.where())
            start = auth
        factors: list[str] | None = None
        holder = x.get("FactorsIdentifiedAtAssessment")
        if holder is not None:
            factors = []
            for sub in holder:
                if not _local(sub.tag):
                    continue
                raw = sub.text or ""
                value = raw.strip().upper()
                if value != raw:
                    f.repair("code_case_whitespace", self.where())
                if value in factors:
                    f.repair("duplicate_factor", self.where())
                    continue
                if value != codes.NO_FACTORS and value not in codes.FACTOR_CONCERN:
                    f.drop("invalid_factor", f"{self.where()} AssessmentFactors={raw.strip()}")
                    continue
                if value in codes.RETIRED_FACTORS:
                    f.warn("retired_factor", f"{self.where()} {value}")
                factors.append(value)
            if codes.NO_FACTORS in factors and len(factors) > 1:
                f.repair("no_factors_with_others", self.where())
                factors.remove(codes.NO_FACTORS)
        self.rows.assessments.append(
            (
                person,
                ref,
                start,
                auth,
                None if factors is None else " ".join(factors),
                self.year,
                self.order,
                self.line,
            )
        )

    def read_s47(self, el: Any, person: str, ref: str) -> None:
        f = self.f
        f.counts_in["Section47"] += 1
        self.line = el.sourceline or self.line
        x = self._fields(el)
        start = self.date(x.get("S47ActualStartDate"), "S47ActualStartDate")
        if start is None:
            f.drop("s47_start_missing", self.where())
            return
        if self.future(start, "S47ActualStartDate"):
            return
        icpc = self.date(x.get("DateOfInitialCPC"), "DateOfInitialCPC")
        if icpc is not None and icpc > self.reference:
            icpc = None
        not_required = self.boolean(x.get("ICPCnotRequired"), "ICPCnotRequired")
        if not_required and icpc is not None:
            f.repair("icpc_not_required_with_date", self.where())
        self.rows.s47.append((person, ref, start, icpc, self.year, self.order, self.line))

    def read_plan(self, el: Any, person: str, ref: str) -> None:
        f = self.f
        f.counts_in["ChildProtectionPlans"] += 1
        self.line = el.sourceline or self.line
        x = self._fields(el)
        start = self.date(x.get("CPPstartDate"), "CPPstartDate")
        if start is None:
            f.drop("plan_start_missing", self.where())
            return
        if self.future(start, "CPPstartDate"):
            return
        end = self.date(x.get("CPPendDate"), "CPPendDate")
        if end is not None and end > self.reference:
            end = None
        initial = self.code(
            x.get("InitialCategoryOfAbuse"), "CategoryOfAbuse", codes.ABUSE_CATEGORY
        )
        latest = self.code(x.get("LatestCategoryOfAbuse"), "CategoryOfAbuse", codes.ABUSE_CATEGORY)
        if initial is None and latest is None:
            raise self.refuse("a plan without a category of abuse", "InitialCategoryOfAbuse")
        self.rows.plans.append(
            (
                person,
                ref,
                start,
                end,
                initial or latest,
                latest or initial,
                self.year,
                self.order,
                self.line,
            )
        )
