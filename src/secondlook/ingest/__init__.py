"""Real formats in and out: CIN census XML and Ofsted Annex A -> the canonical tables (and back).

``import_census`` streams CIN census returns into a canonical cohort; ``export_census`` writes
any canonical cohort (the synthetic world included) as a census return of a year;
``import_annex_a`` reads an Annex A workbook. Every importer returns the tables, side tables of
the source's own codes, and a manifest; :func:`secondlook.ingest.stage.write_import` writes them
all or nothing.
"""

from secondlook.ingest.census import CensusImport, import_census
from secondlook.ingest.errors import ImportRefused
from secondlook.ingest.export import census_episodes, export_census, family_links, write_census

__all__ = [
    "CensusImport",
    "ImportRefused",
    "census_episodes",
    "export_census",
    "family_links",
    "import_census",
    "write_census",
]
