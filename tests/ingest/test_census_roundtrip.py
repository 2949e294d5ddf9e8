"""import ∘ export keeps what the census can hold, on a generated world."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from secondlook.ingest import export_census, import_census, write_census
from secondlook.ingest.codes import coarsen_concern
from secondlook.ingest.export import lea_code
from tests.conftest import YEARS

#: the event kinds a census return holds
CENSUS_KINDS = (
    "referral",
    "referral_outcome",
    "assessment_completed",
    "icpc",
    "cp_plan_started",
    "cp_plan_ended",
)


def expected_events(world: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The oracle: the world's events as the census holds them, with imported person ids."""
    ev = world["events"]
    la = world["households"].set_index("household_id")["local_authority"].map(lea_code)
    ev = ev[ev["type"].isin(CENSUS_KINDS)].copy()
    ev["person_id"] = ev["household_id"].map(la) + "-" + ev["person_id"]
    ref = ev["type"] == "referral"
    ev.loc[ref, "detail"] = ev.loc[ref, "detail"].map(coarsen_concern)
    ev.loc[~ref, "source"] = "other"
    # the census dates an s47 enquiry's start; the world decides it on the referral day
    s47 = ev[(ev["type"] == "referral_outcome") & (ev["detail"] == "s47")].copy()
    s47["type"], s47["detail"] = "s47_started", None
    return _key(pd.concat([ev, s47], ignore_index=True))


def _key(ev: pd.DataFrame) -> pd.DataFrame:
    out = ev[["person_id", "date", "type", "source", "detail"]].copy()
    out["date"] = out["date"].astype("datetime64[s]")
    out["detail"] = out["detail"].astype("str").fillna("")
    return out.sort_values(list(out.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def imported(census_files: tuple[list[Path], Path]):
    files, links = census_files
    return import_census(files, households=links)


def test_files_cover_every_year(census_files: tuple[list[Path], Path]) -> None:
    files, _ = census_files
    years = {int(p.stem.split("_")[1]) for p in files}
    assert years == set(YEARS)


def test_events_round_trip(census_world, imported) -> None:
    got = _key(imported.tables["events"])
    want = expected_events(census_world)
    assert len(want) > 500  # the world has a real history
    pd.testing.assert_frame_equal(got, want)


def test_people_round_trip(census_world, imported) -> None:
    people = imported.tables["people"].set_index("person_id")
    world = census_world["people"]
    la = census_world["households"].set_index("household_id")["local_authority"].map(lea_code)
    world = world.assign(person_id=world["household_id"].map(la) + "-" + world["person_id"])
    referred = expected_events(census_world)["person_id"].unique()
    world = world.set_index("person_id").loc[sorted(referred)]
    assert sorted(people.index) == sorted(world.index)
    people = people.loc[world.index]
    assert (people["birth_month"] == world["birth_month"]).all()
    assert (people["ethnicity"] == world["ethnicity"]).all()
    assert (people["role"] == "child").all()
    pd.testing.assert_series_equal(
        people["disability"].astype("boolean"),
        world["disability"].astype("boolean"),
        check_names=False,
    )
    # sex is U only for a child still unborn at every return that holds it
    last_ref = imported.tables["events"].groupby("person_id")["date"].max()
    same = people["sex"] == world["sex"]
    unborn = (people["sex"] == "U") & (people["birth_month"] > last_ref.loc[people.index])
    assert (same | unborn).all()
    assert same.mean() > 0.9


def test_households_come_back_from_the_family_links(census_world, imported) -> None:
    people = imported.tables["people"]
    world = census_world["people"].set_index("person_id")["household_id"]
    original = people["person_id"].str.split("-", n=1).str[1].map(world)
    # one imported household per world household, and back
    assert (people.groupby("household_id")["person_id"].count() > 0).all()
    assert original.groupby(people["household_id"]).nunique().max() == 1
    assert people["household_id"].groupby(original).nunique().max() == 1
    la = set(imported.tables["households"]["local_authority"])
    assert la == {f"LA{lea_code(x)}" for x in census_world["households"]["local_authority"]}
    assert imported.tables["households"]["deprivation_decile"].isna().all()
    assert "family id" in imported.manifest["households"]


def test_without_family_links_each_child_is_its_own_household(census_files) -> None:
    files, _ = census_files
    result = import_census(files[:3])
    people = result.tables["people"]
    assert people["household_id"].is_unique
    assert "its own household" in result.manifest["households"]


def test_the_same_referral_in_two_years_is_merged(census_files, imported) -> None:
    counts = imported.manifest["counts_in"]
    assert counts["CINdetails"] > imported.manifest["counts_out"]["events.referral"]
    merged = imported.manifest["repairs"]["merged_duplicate_referral"]["count"]
    assert merged == counts["CINdetails"] - imported.manifest["counts_out"]["events.referral"]


def test_reexport_of_the_import_is_byte_identical(census_world, imported, tmp_path) -> None:
    for year in (2018, 2022, 2025, 2026):
        first = export_census(census_world, year)
        again = export_census(imported.tables, year, side=imported.codes)
        assert first.keys() == again.keys()
        for lea in first:
            assert first[lea] == again[lea], (year, lea)
    written = write_census(export_census(census_world, 2020), tmp_path / "x.xml")
    assert all(p.is_file() for p in written)


def test_sex_codes_follow_the_year(census_world) -> None:
    old = b"".join(export_census(census_world, 2024).values())
    new = b"".join(export_census(census_world, 2025).values())
    assert b"<GenderCurrent>" in old and b"<Sex>" not in old
    assert b"<Sex>" in new and b"<GenderCurrent>" not in new


def test_no_identifier_other_than_the_child_id_is_written(census_world) -> None:
    doc = b"".join(export_census(census_world, 2021).values())
    assert b"<LAchildID>" in doc
    for tag in (b"<UPN>", b"<FormerUPN>", b"<UPNunknown>"):
        assert tag not in doc
