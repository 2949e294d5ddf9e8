"""Import an Ofsted Annex A workbook (lists 1, 3, 4, 5, 6, 7) as a canonical cohort.

Each list is a sheet (``List 3`` ... matched by its number, whatever else the title says);
its header row is found among the first rows and every header is matched tolerantly (case,
spaces, punctuation and question marks ignored) against the aliases of :data:`COLUMNS`. Only
the columns this module maps are read: ``Allocated Worker`` and every other column holding a
person's name are never read, whatever they are called.

Values arrive as each authority writes them. Dates may be Excel dates, Excel serial numbers,
``dd/mm/yyyy`` or ISO text. Coded values may be lettered labels (``a) Male``, ``q) 6: Police``,
``a) Yes``), codes, or local spellings; they are normalised (the ``x)`` letter, case, spaces
and punctuation dropped) and looked up in the mapping tables of :data:`LABELS`, which a user
extends with a YAML file (``{table: {label: value}}``, and ``columns: {field: [header, ...]}``).
A value no table knows is refused, naming the file, sheet, row, column and value, and the
table to extend.

Records become events of the child (``<LEA>-<Child Unique ID>``): list 3 referrals
(``referral``; source mapped, concern ``other``: Annex A records none), list 4 assessments
(``assessment_completed`` on the authorisation date, ``not_in_need`` when the child was not
assessed as needing support, else ``other``: Annex A holds no factors), list 5 enquiries
(``s47_started``; ``icpc`` on the conference date, ``plan`` when it resulted in a plan), list 7
plans (``cp_plan_started``, ``cp_plan_ended``). No ids link the lists; a referral's outcome is
found by child and date window: ``s47`` when an enquiry of the child starts within
:data:`LINK_DAYS` days on or after it (and before the child's next referral), else
``assessment`` when an assessment starts in that window, else ``nfa`` when the list says NFA,
else none. Lists 1 (contacts) and 6 (children in need) are read and counted; no canonical event
kind holds them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from secondlook.features.views import CENSUS_RECORDS
from secondlook.ingest import codes
from secondlook.ingest.annex_a_events import LINK_DAYS, assemble
from secondlook.ingest.annex_a_tables import COLUMNS, LABELS, NAME_COLUMN
from secondlook.ingest.errors import ImportRefused
from secondlook.ingest.manifest import Findings, file_sha256
from secondlook.schema import validate_tables

__all__ = ["COLUMNS", "LABELS", "LINK_DAYS", "AnnexAImport", "import_annex_a", "normalise"]

LISTS = (1, 3, 4, 5, 6, 7)
_CATEGORY_WORDS = {"neglect": "NEG", "physical": "PHY", "sexual": "SAB", "emotional": "EMO"}
_LETTER = re.compile(r"^\s*\(?[a-z]{1,2}\)\s*", re.IGNORECASE)
_CODE_PREFIX = re.compile(r"^\s*([0-9]{1,2}[A-F]?)\s*[:\-]")
_ETH_CODE = re.compile(r"\b(" + "|".join(sorted(codes.ETHNICITY)) + r")\b")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def normalise(text: Any) -> str:
    """A header or label as the tables hold it: lower case, the ``a)`` letter, punctuation and
    repeated spaces removed (``" a) Male "`` -> ``"male"``, ``"Referral NFA?"`` ->
    ``"referral nfa"``)."""
    s = _LETTER.sub("", str(text).strip())
    s = s.replace("&", " and ").replace("'", "").replace("\u2019", "")
    s = re.sub(r"[^0-9a-z]+", " ", s.lower())
    return s.strip()


@dataclass(frozen=True)
class AnnexAImport:
    """What :func:`import_annex_a` returns: tables, code side tables and the manifest."""

    tables: dict[str, pd.DataFrame]
    codes: dict[str, pd.DataFrame]
    manifest: dict[str, Any]


def _load_mappings(
    path: Path | None,
) -> tuple[dict[str, dict[str, Any]], dict[int, dict[str, list[str]]]]:
    labels = {k: dict(v) for k, v in LABELS.items()}
    columns = {n: {f: list(a) for f, a in fields.items()} for n, fields in COLUMNS.items()}
    if path is None:
        return labels, columns
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ImportRefused(str(path), f"cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ImportRefused(str(path), "must map table names to {label: value}")
    for table, entries in data.items():
        if table == "columns":
            if not isinstance(entries, dict):
                raise ImportRefused(str(path), "`columns` must map a field to a list of headers")
            for fieldname, headers in entries.items():
                found = [n for n, fields in columns.items() if fieldname in fields]
                if not found:
                    raise ImportRefused(str(path), f"`columns`: unknown field `{fieldname}`")
                for n in found:
                    columns[n][fieldname] += [normalise(h) for h in headers]
            continue
        if table not in labels or not isinstance(entries, dict):
            raise ImportRefused(
                str(path), f"unknown table `{table}` (one of {sorted(labels)} or columns)"
            )
        for label, value in entries.items():
            labels[table][normalise(label)] = value
    return labels, columns


class _Sheet:
    """One list: its rows, the mapped column of each field, and readers naming the cell."""

    def __init__(
        self,
        file: str,
        title: str,
        number: int,
        rows: list[tuple[Any, ...]],
        columns: dict[str, list[str]],
    ) -> None:
        self.file, self.title, self.number = file, title, number
        header_at = None
        for i, row in enumerate(rows[:10]):
            names = [normalise(c) if c is not None else "" for c in row]
            if any(n in columns["child_id"] for n in names):
                header_at = i
                break
        if header_at is None:
            raise ImportRefused(
                file, "no `Child Unique ID` header in the first 10 rows", where=f"sheet `{title}`"
            )
        names = [normalise(c) if c is not None else "" for c in rows[header_at]]
        self.header_row = header_at + 1
        self.col: dict[str, int] = {}
        self.header: dict[str, str] = {}
        for fieldname, aliases in columns.items():
            for j, n in enumerate(names):
                if n in aliases and not NAME_COLUMN.search(n):
                    self.col[fieldname] = j
                    self.header[fieldname] = str(rows[header_at][j]).strip()
                    break
        self.rows = rows[header_at + 1 :]

    def where(self, i: int, fieldname: str | None = None) -> str:
        w = f"sheet `{self.title}` row {self.header_row + 1 + i}"
        if fieldname is not None:
            w += f" column `{self.header.get(fieldname, fieldname)}`"
        return w

    def value(self, row: tuple[Any, ...], fieldname: str) -> Any:
        j = self.col.get(fieldname)
        if j is None or j >= len(row):
            return None
        v = row[j]
        if isinstance(v, str):
            v = v.strip()
            if v in ("", "#N/A", "N/A", "NULL"):
                return None
        return v


class _Reader:
    def __init__(self, file: str, labels: dict[str, dict[str, Any]], f: Findings) -> None:
        self.file, self.labels, self.f = file, labels, f

    def refuse(self, sheet: _Sheet, i: int, fieldname: str, problem: str) -> ImportRefused:
        return ImportRefused(self.file, problem, where=sheet.where(i, fieldname))

    def date(self, sheet: _Sheet, row: tuple[Any, ...], i: int, fieldname: str) -> str | None:
        v = sheet.value(row, fieldname)
        if v is None:
            return None
        if isinstance(v, dt.datetime):
            day = v.date()
        elif isinstance(v, dt.date):
            day = v
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            if not 1 <= v < 2958466:
                raise self.refuse(sheet, i, fieldname, f"`{v}` is not a date")
            day = _EXCEL_EPOCH + dt.timedelta(days=int(v))
            self.f.repair("excel_serial_date", sheet.where(i, fieldname))
        else:
            text = str(v).strip()
            m = _DMY.match(text)
            try:
                if m:
                    day = dt.date(int(m[3]), int(m[2]), int(m[1]))
                    self.f.repair("dmy_text_date", sheet.where(i, fieldname))
                else:
                    day = dt.date.fromisoformat(text[:10])
                    self.f.repair("iso_text_date", sheet.where(i, fieldname))
            except ValueError:
                raise self.refuse(
                    sheet, i, fieldname, f"`{text}` is not a date (dd/mm/yyyy)"
                ) from None
        if day.year < 1910 or day.year > 2099:
            self.f.repair("placeholder_date", sheet.where(i, fieldname))
            return None
        return day.isoformat()

    def label(self, sheet: _Sheet, row: tuple[Any, ...], i: int, fieldname: str, table: str) -> Any:
        v = sheet.value(row, fieldname)
        if v is None:
            return None
        raw = str(v).strip()
        if table == "ethnicity":
            m = _ETH_CODE.search(raw.upper())
            if m:
                return m[1]
        if table == "referral_source":
            m = _CODE_PREFIX.match(_LETTER.sub("", raw))
            if m and m[1].upper() in codes.REFERRAL_SOURCE:
                return m[1].upper()
            if raw.upper() in codes.REFERRAL_SOURCE:
                return raw.upper()
        key = normalise(raw)
        found = self.labels[table].get(key)
        if found is None and table == "category":
            words = {c for w, c in _CATEGORY_WORDS.items() if w in key}
            if len(words) == 1:
                found = words.pop()
                self.f.repair("category_words", sheet.where(i, fieldname))
            elif len(words) > 1:
                found = "MUL"
                self.f.repair("category_words", sheet.where(i, fieldname))
        if found is None:
            raise self.refuse(
                sheet,
                i,
                fieldname,
                f"`{raw}` is not a known {table} label; add it to the mapping YAML under `{table}`",
            )
        if key != normalise(str(found)) and table != "boolean":
            self.f.repairs["label_normalised"] += 1
        return found

    def flag(
        self, sheet: _Sheet, row: tuple[Any, ...], i: int, fieldname: str, *tables: str
    ) -> bool | None:
        v = sheet.value(row, fieldname)
        if v is None:
            return None
        if isinstance(v, bool):
            return v
        key = normalise(v)
        for t in tables:
            if key in self.labels[t]:
                return bool(self.labels[t][key])
        raise self.refuse(
            sheet,
            i,
            fieldname,
            f"`{v}` is not yes/no; add it to the mapping YAML under `{tables[-1]}`",
        )


def _child_key(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def _open_sheets(workbook: Path, columns: dict[int, dict[str, list[str]]]) -> dict[int, _Sheet]:
    """The lists of :data:`LISTS` found in the workbook, by number (``List 3`` required)."""
    from openpyxl import load_workbook

    name = str(workbook)
    try:
        wb = load_workbook(workbook, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ImportRefused(name, f"cannot be opened as an .xlsx workbook: {exc}") from None
    sheets: dict[int, _Sheet] = {}
    try:
        for ws in wb.worksheets:
            m = re.search(r"list\s*(\d+)", ws.title, re.IGNORECASE)
            if not m or int(m[1]) not in LISTS:
                continue
            n = int(m[1])
            sheets[n] = _Sheet(name, ws.title, n, list(ws.iter_rows(values_only=True)), columns[n])
    finally:
        wb.close()
    if 3 not in sheets:
        raise ImportRefused(name, "no `List 3` (referrals) sheet")
    return sheets


_REQUIRED = {3: "referral_date", 4: "start", 5: "start", 7: "start"}


class _Lists:
    """What the lists hold, row by row: the children and their referrals, assessments,
    enquiries and plans (as plain tuples)."""

    def __init__(self, reader: _Reader) -> None:
        self.r, self.f = reader, reader.f
        self.kids: dict[str, dict[str, Any]] = {}
        self.refs: list[tuple[str, str, str | None, bool | None]] = []
        self.ass: list[tuple[str, str | None, str | None, bool | None]] = []
        self.enq: list[tuple[str, str, str | None, bool | None]] = []
        self.plans: list[tuple[str, str, str | None, str, str]] = []

    def read(self, n: int, sheet: _Sheet) -> None:
        required = _REQUIRED.get(n)
        if required and required not in sheet.col:
            raise ImportRefused(
                sheet.file,
                f"no column for `{required}` (headers: {COLUMNS[n][required][:2]} ...)",
                where=f"sheet `{sheet.title}`",
            )
        handler = {3: self.referral, 4: self.assessment, 5: self.enquiry, 7: self.plan}.get(n)
        for i, row in enumerate(sheet.rows):
            if all(c is None for c in row):
                continue
            key = _child_key(sheet.value(row, "child_id"))
            if key is None:
                raise self.r.refuse(sheet, i, "child_id", "a row without a Child Unique ID")
            self.f.counts_in[f"list {n}"] += 1
            self.child(sheet, row, i, key)
            if handler is not None:
                handler(sheet, row, i, key)

    def child(self, sheet: _Sheet, row: tuple[Any, ...], i: int, key: str) -> None:
        r, kid = self.r, self.kids.setdefault(key, {})
        gender = r.label(sheet, row, i, "gender", "gender")
        eth = r.label(sheet, row, i, "ethnicity", "ethnicity")
        birth = r.date(sheet, row, i, "birth")
        disabled = r.flag(sheet, row, i, "disability", "boolean")
        if disabled is not None:
            kid["disability"] = kid.get("disability", False) or disabled
        for k, v in (("gender", gender), ("eth", eth), ("birth", birth)):
            if v is not None and v != "unborn":
                if k in kid and kid[k] != v:
                    self.f.warn("characteristics_differ_across_lists", sheet.where(i))
                kid.setdefault(k, v)
        kid["unborn"] = kid.get("unborn", False) or "unborn" in (gender, eth)

    def referral(self, sheet: _Sheet, row: tuple[Any, ...], i: int, key: str) -> None:
        day = self.r.date(sheet, row, i, "referral_date")
        if day is None:
            self.f.drop("referral_without_date", sheet.where(i))
            return
        src = self.r.label(sheet, row, i, "source", "referral_source")
        nfa = self.r.flag(sheet, row, i, "nfa", "nfa", "boolean")
        self.refs.append((key, day, src, nfa))

    def assessment(self, sheet: _Sheet, row: tuple[Any, ...], i: int, key: str) -> None:
        start = self.r.date(sheet, row, i, "start")
        auth = self.r.date(sheet, row, i, "auth")
        need = self.r.flag(sheet, row, i, "in_need", "boolean")
        if start is None and auth is None:
            self.f.drop("assessment_without_dates", sheet.where(i))
            return
        self.ass.append((key, start or auth, auth, need))

    def enquiry(self, sheet: _Sheet, row: tuple[Any, ...], i: int, key: str) -> None:
        start = self.r.date(sheet, row, i, "start")
        if start is None:
            self.f.drop("s47_without_start", sheet.where(i))
            return
        icpc = self.r.date(sheet, row, i, "icpc")
        unnecessary = self.r.flag(sheet, row, i, "icpc_unnecessary", "boolean")
        if unnecessary and icpc:
            self.f.repair("icpc_not_required_with_date", sheet.where(i))
        plan = self.r.flag(sheet, row, i, "icpc_plan", "boolean")
        self.enq.append((key, start, icpc, plan))

    def plan(self, sheet: _Sheet, row: tuple[Any, ...], i: int, key: str) -> None:
        start = self.r.date(sheet, row, i, "start")
        if start is None:
            self.f.drop("plan_without_start", sheet.where(i))
            return
        end = self.r.date(sheet, row, i, "end")
        initial = self.r.label(sheet, row, i, "initial", "category")
        latest = self.r.label(sheet, row, i, "latest", "category") or initial
        if initial is None:
            raise self.r.refuse(sheet, i, "initial", "a plan without a category of abuse")
        if end is not None and end < start:
            self.f.repair("plan_end_before_start", sheet.where(i, "end"))
            end = None
        self.plans.append((key, start, end, initial, latest))


def import_annex_a(
    workbook: Path, *, mappings: Path | None = None, lea: str = "000"
) -> AnnexAImport:
    """Read an Annex A workbook and build the canonical cohort tables.

    Parameters
    ----------
    workbook
        The ``.xlsx`` file.
    mappings
        Optional YAML file extending :data:`LABELS` (and ``columns`` aliases).
    lea
        The authority's 3-digit code (Annex A does not say); people are ``<lea>-<id>``.

    Returns
    -------
    AnnexAImport

    Raises
    ------
    ImportRefused
        On a workbook that cannot be opened, a list without a ``Child Unique ID`` header, a
        date or label no rule reads, naming file, sheet, row, column and value.
    """
    if not re.fullmatch(r"\d{3}", lea):
        raise ImportRefused(str(workbook), f"--la `{lea}` is not a 3-digit LEA code")
    labels, columns = _load_mappings(mappings)
    f = Findings()
    name = str(workbook)
    sheets = _open_sheets(workbook, columns)
    lists = _Lists(_Reader(name, labels, f))
    for n in (3, 4, 5, 7, 6, 1):  # characteristics: first list that records them
        if n in sheets:
            lists.read(n, sheets[n])
    kids, refs, ass, enq, plans = lists.kids, lists.refs, lists.ass, lists.enq, lists.plans
    tables, side = assemble(kids, refs, ass, enq, plans, lea, f)
    validate_tables(tables)
    counts_out = {k: len(v) for k, v in tables.items()}
    counts_out.update(
        {
            f"events.{k}": int(v)
            for k, v in tables["events"]["type"].value_counts().sort_index().items()
        }
    )
    manifest = {
        "format": "Ofsted Annex A",
        "records": sorted(CENSUS_RECORDS),
        "inputs": [
            {"file": name, "sha256": file_sha256(workbook), "lea": lea, "lists": sorted(sheets)}
        ],
        "columns_read": {f"list {n}": s.header for n, s in sorted(sheets.items())},
        **f.as_dict(),
        "counts_out": counts_out,
        "households": "none in Annex A: each child is its own household",
        "not_imported": "Allocated Worker and every column holding a name are never read; "
        "lists 1 (contacts) and 6 (children in need) are counted, no event kind holds them",
        "link_rule": f"a referral's outcome: an s47 enquiry, else an assessment, starting within "
        f"{LINK_DAYS} days on or after it and before the child's next referral; else its NFA flag",
        "mappings": str(mappings) if mappings else None,
    }
    return AnnexAImport(tables, side, manifest)
