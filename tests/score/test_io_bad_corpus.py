"""secondlook.score.io: the bad-input corpus: every kind of broken cohort an analyst can hand over,
one parametrised test.

Each case breaks one thing in a small cohort (as CSV, as an analyst exports it, or parquet) and
says which table and column the refusal must name. Every case must give exit code 2, exactly
one ``error:`` message naming the table and the column, no traceback, and no file left in the
output folder. Cases that break rows also say which rows: the message must count every
failing row of the table and name the first by file line (a CSV's line, header = line 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from .conftest import score_cli, write_cohort

Tables = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Case:
    """One kind of bad cohort.

    Attributes
    ----------
    edit
        Changes the tables in place (a copy) before they are written.
    table, column
        What the refusal must name (``column`` ``None``: a table-level refusal).
    words
        Further words the message must hold.
    fmt
        How the cohort is written: ``csv`` or ``parquet``.
    rows
        The 0-based data rows of ``table`` the edit broke, when it broke rows: the message must
        count them all and name the first by file line (``line <row + 2>`` in a CSV).
    after
        Changes the written folder (for breakage that DataFrames cannot express).
    """

    edit: Callable[[Tables], None] | None
    table: str
    column: str | None
    words: tuple[str, ...] = ()
    fmt: str = "csv"
    rows: tuple[int, ...] = ()
    after: Callable[[Path], None] | None = None
    hidden: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _set(table: str, column: str, rows: tuple[int, ...], value: object) -> Callable[[Tables], None]:
    def edit(t: Tables) -> None:
        df = t[table].astype({column: object})
        for r in rows:
            df.loc[r, column] = value
        t[table] = df

    return edit


def _first_rows(
    t: Tables, table: str, where: Callable[[pd.DataFrame], pd.Series], n: int
) -> list[int]:
    df = t[table]
    return [int(i) for i in df.index[where(df)][:n]]


def _history_rows(t: Tables, n: int = 3, kind: str = "health_contact") -> list[int]:
    return _first_rows(t, "events", lambda ev: ev["type"] == kind, n)


def _replace_text(name: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def after(folder: Path) -> None:
        path = folder / f"{name}.csv"
        path.write_text(path.read_text().replace(old, new, count))

    return after


# --- edits that need the cohort to choose their rows ----------------------------------------


def _ghost_person(t: Tables) -> None:
    rows = _history_rows(t)
    t["events"].loc[rows, "person_id"] = "P-GHOST"


def _other_household(t: Tables) -> None:
    ev, people = t["events"], t["people"]
    rows = _history_rows(t, 2)
    for r in rows:
        other = people[people["household_id"] != ev.loc[r, "household_id"]]
        ev.loc[r, "person_id"] = other[other["role"] == "child"]["person_id"].iloc[0]


def _unknown_related(t: Tables) -> None:
    rows = _history_rows(t, 2)
    t["events"].loc[rows, "related_person_id"] = "P-NOBODY"


def _adult_event_about_a_child(t: Tables) -> None:
    ev = t["events"]
    rows = _first_rows(t, "events", lambda e: e["type"] == "police_domestic_incident", 2)
    children = t["people"][t["people"]["role"] == "child"].set_index("household_id")["person_id"]
    for r in rows:
        hh = ev.loc[r, "household_id"]
        ev.loc[r, "person_id"] = children.loc[[hh]].iloc[0] if hh in children.index else "P-X"


def _before_birth(t: Tables) -> None:
    ev = t["events"]
    births = t["people"].set_index("person_id")["birth_month"]
    rows = _history_rows(t, 2)
    for r in rows:
        ev.loc[r, "date"] = births[ev.loc[r, "person_id"]] - pd.DateOffset(years=3)


def _history_date(value: str) -> Callable[[Tables], None]:
    def edit(t: Tables) -> None:
        t["events"].loc[_history_rows(t, 2), "date"] = pd.Timestamp(value)

    return edit


def _unknown_household_of_person(t: Tables) -> None:
    t["people"].loc[[4, 9], "household_id"] = "H-NOWHERE"


def _detail_for_type(t: Tables) -> None:
    rows = _history_rows(t, 2)
    t["events"].loc[rows, "detail"] = "fracture"  # an ED detail on a health contact


def _duplicate(table: str, column: str, row: int, of: int) -> Callable[[Tables], None]:
    def edit(t: Tables) -> None:
        t[table].loc[row, column] = t[table].loc[of, column]

    return edit


def _with_decisions(edit: Callable[[pd.DataFrame], None] | None = None) -> Callable[[Tables], None]:
    def make(t: Tables) -> None:
        ev = t["events"]
        refs = ev[ev["type"] == "referral"].head(40)
        dec = pd.DataFrame(
            {
                "decision_id": [f"D{i:04d}" for i in range(len(refs))],
                "person_id": refs["person_id"].to_numpy(),
                "household_id": refs["household_id"].to_numpy(),
                "referral_event_id": refs["event_id"].to_numpy(),
                "decision_date": refs["date"].to_numpy(),
            }
        )
        if edit is not None:
            edit(dec)
        t["decisions"] = dec

    return make


def _dup_decision(dec: pd.DataFrame) -> None:
    dec.loc[7, "decision_id"] = dec.loc[3, "decision_id"]


def _bad_outcome(dec: pd.DataFrame) -> None:
    dec["practice_outcome"] = "nfa"
    dec.loc[5, "practice_outcome"] = "maybe"


def _bad_decision_date(dec: pd.DataFrame) -> None:
    dec["decision_date"] = dec["decision_date"].dt.strftime("%Y-%m-%d").astype(object)
    dec.loc[2, "decision_date"] = "yesterday"


def _drop(table: str, column: str) -> Callable[[Tables], None]:
    def edit(t: Tables) -> None:
        t[table] = t[table].drop(columns=column)

    return edit


def _add(table: str, column: str, value: object) -> Callable[[Tables], None]:
    def edit(t: Tables) -> None:
        t[table] = t[table].assign(**{column: value})

    return edit


def _latin1(folder: Path) -> None:
    path = folder / "people.csv"
    path.write_bytes(path.read_bytes().replace(b",White,", b",Whit\xe9,", 1))


def _duplicate_header(folder: Path) -> None:
    path = folder / "households.csv"
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace("local_authority", "household_id")
    path.write_text("\n".join(lines) + "\n")


def _ragged_row(folder: Path) -> None:
    path = folder / "events.csv"
    lines = path.read_text().splitlines()
    lines[6] = lines[6] + ",extra,cells"
    path.write_text("\n".join(lines) + "\n")


def _decile_as_text(t: Tables) -> None:
    t["households"]["deprivation_decile"] = t["households"]["deprivation_decile"].astype(str)


def _all_sex(t: Tables) -> None:
    t["people"]["sex"] = "female"


def _both_formats(folder: Path) -> None:
    pd.read_csv(folder / "people.csv", dtype=str).to_parquet(folder / "people.parquet")


def _corrupt(folder: Path) -> None:
    path = folder / "events.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(t: Tables) -> None:
    for name in list(t):
        t[name] = t[name].iloc[:0]


CASES: dict[str, Case] = {
    # --- columns and files ------------------------------------------------------------------
    "missing column": Case(_drop("events", "source"), "events", "source", ("missing column",)),
    "unexpected column": Case(_add("people", "notes", "x"), "people", "notes", ("unexpected",)),
    "repeated header": Case(
        None, "households", "household_id", ("more than once",), after=_duplicate_header
    ),
    "parquet type": Case(
        _decile_as_text, "households", "deprivation_decile", ("wrong type",), fmt="parquet"
    ),
    "identifier column": Case(
        _add("people", "full_name", "Jane Doe"), "people", "full_name", ("a name",)
    ),
    "postcode column": Case(
        _add("households", "postcode", "SW1A 1AA"), "households", "postcode", ("postcode",)
    ),
    # --- values a column cannot hold --------------------------------------------------------
    "decile word": Case(
        _set("households", "deprivation_decile", (3, 8), "high"),
        "households",
        "deprivation_decile",
        ("an integer", "'high'"),
        rows=(3, 8),
    ),
    "decile range": Case(
        _set("households", "deprivation_decile", (5,), 11),
        "households",
        "deprivation_decile",
        ("from 1 to 10",),
        rows=(5,),
    ),
    "decile overflow": Case(
        _set("households", "deprivation_decile", (2,), "99999999999999999999"),
        "households",
        "deprivation_decile",
        ("an integer",),
        rows=(2,),
    ),
    "LA code": Case(
        _set("households", "local_authority", (1, 2), "Leeds"),
        "households",
        "local_authority",
        ("LA code", "'Leeds'"),
        rows=(1, 2),
    ),
    "impossible date": Case(
        _set("events", "date", (5,), "31/02/2020"),
        "events",
        "date",
        ("a date", "'31/02/2020'"),
        rows=(5,),
    ),
    "date words": Case(
        _set("events", "date", (5, 6, 7), "last spring"),
        "events",
        "date",
        ("a date", "'last spring'"),
        rows=(5, 6, 7),
    ),
    "month 13": Case(
        _set("events", "date", (9,), "2020-13-01"), "events", "date", ("a date",), rows=(9,)
    ),
    "boolean word": Case(
        _set("people", "disability", (4,), "maybe"),
        "people",
        "disability",
        ("true or false", "'maybe'"),
        rows=(4,),
    ),
    "blank type": Case(
        _set("events", "type", (12, 30), ""), "events", "type", ("not empty",), rows=(12, 30)
    ),
    "blank person id": Case(
        _set("people", "person_id", (6,), " "), "people", "person_id", ("not empty",), rows=(6,)
    ),
    "blank birth month": Case(
        _set("people", "birth_month", (3,), ""), "people", "birth_month", ("not empty",), rows=(3,)
    ),
    "trailing space": Case(
        _set("people", "role", (2,), "mother "),
        "people",
        "role",
        ("one of", "'mother '"),
        rows=(2,),
    ),
    "sex word": Case(_all_sex, "people", "sex", ("one of", "'female'")),
    "ethnicity": Case(
        _set("people", "ethnicity", (0, 1), "Martian"),
        "people",
        "ethnicity",
        ("'Martian'",),
        rows=(0, 1),
    ),
    "event type": Case(
        _set("events", "type", (3,), "phone_call"), "events", "type", ("'phone_call'",), rows=(3,)
    ),
    "event source": Case(
        _set("events", "source", (8,), "pigeon"), "events", "source", ("'pigeon'",), rows=(8,)
    ),
    "detail for type": Case(_detail_for_type, "events", "detail", ("allowed detail", "'fracture'")),
    "ragged row": Case(None, "events", None, ("line 7", "10 fields"), after=_ragged_row),
    # --- ids ---------------------------------------------------------------------------------
    "duplicate event id": Case(
        _duplicate("events", "event_id", 10, 200), "events", "event_id", ("unique",), rows=(10, 200)
    ),
    "duplicate household id": Case(
        _duplicate("households", "household_id", 4, 40),
        "households",
        "household_id",
        ("unique",),
        rows=(4, 40),
    ),
    "duplicate person id": Case(
        _duplicate("people", "person_id", 11, 90), "people", "person_id", ("unique",), rows=(11, 90)
    ),
    "person of no household": Case(
        _unknown_household_of_person,
        "people",
        "household_id",
        ("refers to a household",),
        rows=(4, 9),
    ),
    # --- history that would change other referrals' features -----------------------------------
    "history unknown person": Case(
        _ghost_person, "events", "person_id", ("refers to a person that exists", "'P-GHOST'")
    ),
    "history other household": Case(
        _other_household, "events", "person_id", ("belongs to the event's household",)
    ),
    "history unknown related": Case(
        _unknown_related, "events", "related_person_id", ("household",)
    ),
    "adult event about a child": Case(
        _adult_event_about_a_child, "events", "person_id", ("subject is a child",)
    ),
    "history before birth": Case(_before_birth, "events", "date", ("birth month",)),
    "history in the future": Case(
        _history_date("2101-05-01"), "events", "date", ("after the extract date",)
    ),
    "history placeholder": Case(_history_date("1900-01-01"), "events", "date", ("placeholder",)),
    "history year 9999": Case(_history_date("9999-12-31"), "events", "date", ("placeholder",)),
    "birth month placeholder": Case(
        _set("people", "birth_month", (5,), "1900-01-01"),
        "people",
        "birth_month",
        ("placeholder",),
        rows=(5,),
        hidden=True,
    ),
    "birth month far ahead": Case(
        _set("people", "birth_month", (7,), "2101-01-01"),
        "people",
        "birth_month",
        ("after",),
        rows=(7,),
        hidden=True,
    ),
    # --- identifying values --------------------------------------------------------------------
    "e-mail value": Case(
        _set("events", "related_person_id", (5,), "someone@example.org"),
        "events",
        "related_person_id",
        ("e-mail",),
    ),
    "exact birth date": Case(
        _set("people", "birth_month", (9,), "2015-03-17"),
        "people",
        "birth_month",
        ("exact dates of birth",),
    ),
    # --- the optional decisions table ----------------------------------------------------------
    "duplicate decision id": Case(
        _with_decisions(_dup_decision), "decisions", "decision_id", ("unique",), rows=(3, 7)
    ),
    "decision outcome": Case(
        _with_decisions(_bad_outcome), "decisions", "practice_outcome", ("'maybe'",), rows=(5,)
    ),
    "decision date": Case(
        _with_decisions(_bad_decision_date),
        "decisions",
        "decision_date",
        ("'yesterday'",),
        rows=(2,),
    ),
    # --- whole tables ----------------------------------------------------------------------------
    "not UTF-8": Case(None, "people", None, ("UTF-8",), after=_latin1),
    "table twice": Case(None, "people", None, ("keep one",), after=_both_formats),
    "corrupt parquet": Case(
        None, "events", None, ("not a readable parquet",), fmt="parquet", after=_corrupt
    ),
    "empty cohort": Case(_empty, "households", None, ("empty",), fmt="parquet"),
}


def _score(cohort: Path, model: Path, out: Path) -> tuple[int, str]:
    return score_cli(cohort, model, out, "--as-of", "2030-01-01")


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 30
    assert sum(c.column is not None for c in CASES.values()) >= 30


@pytest.mark.parametrize("name", list(CASES))
def test_bad_cohort_is_refused_cleanly(
    name: str, cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    case = CASES[name]
    tables = {k: v.copy() for k, v in cohort_tables.items()}
    if case.edit is not None:
        case.edit(tables)
    folder = write_cohort(tables, tmp_path / "cohort", fmt=case.fmt)
    if case.after is not None:
        case.after(folder)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, text = _score(folder, model_dir, out_dir / "scores.parquet")
    flat = " ".join(text.split())
    assert code == 2, text
    assert text.count("error:") == 1 and "Traceback" not in text, text
    if case.column is not None:
        assert f"`{case.table}" in flat, text  # `events` or `events.column` (screening)
        assert re.search(rf"`({case.table}\.)?{re.escape(case.column)}`", flat), text
    else:
        assert case.table in flat, text
    for word in case.words:
        assert word in flat, text
    assert list(out_dir.iterdir()) == []  # no output, no manifest, no temporary file
    if case.rows:
        assert f"{len(case.rows)} row(s) fail" in flat, text
        where = "line" if case.fmt == "csv" else "row"
        offset = 2 if case.fmt == "csv" else 1
        for r in case.rows[:5]:
            assert re.search(rf"\b{where} {r + offset}\b", text), text
    if case.hidden:
        assert "value not shown" in flat, text


def test_a_refusal_counts_every_failing_row_of_the_table(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    """All rows failing are counted as all rows, not as the five shown."""
    tables = {k: v.copy() for k, v in cohort_tables.items()}
    _all_sex(tables)
    folder = write_cohort(tables, tmp_path / "cohort", fmt="csv")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, text = _score(folder, model_dir, out_dir / "s.parquet")
    n = len(tables["people"])
    assert code == 2
    assert f"{n} row(s) fail" in " ".join(text.split()), text
    assert [int(x) for x in re.findall(r"line (\d+):", text)] == [2, 3, 4, 5, 6]


def test_lines_count_quoted_line_breaks(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    """A quoted field spanning two lines moves the later rows' file lines by one."""
    tables = {k: v.copy() for k, v in cohort_tables.items()}
    hh = tables["households"].astype({"local_authority": object})
    hh.loc[1, "local_authority"] = "LA\n01"  # breaks the LA code rule, over two lines
    hh.loc[6, "local_authority"] = "Leeds"
    tables["households"] = hh
    folder = write_cohort(tables, tmp_path / "cohort", fmt="csv")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, text = _score(folder, model_dir, out_dir / "s.parquet")
    assert code == 2
    assert "line 3: 'LA\\n01'" in text and "line 9: 'Leeds'" in text, text
