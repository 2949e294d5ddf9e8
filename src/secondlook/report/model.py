"""The ethics-panel report as data: what an author (or :mod:`secondlook.report.build`) fills in.

Built like a model card: these dataclasses hold everything the report shows, already worded and
formatted as text, so the Jinja template only lays them out and :func:`~secondlook.report.render`
stays a pure function of this model. Every section may be *not available in this run*: a
section whose input files were not written yet keeps its place in the report, names the files it
needs and the command that writes them, and shows nothing else, so a reader can never mistake a
missing analysis for a clean result.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from secondlook.report.records import Records

if TYPE_CHECKING:
    from secondlook.report.views import ViewsTable

__all__ = [
    "Calibration",
    "Capacity",
    "Explanations",
    "Fairness",
    "Figure",
    "Labels",
    "Limitations",
    "Missing",
    "Performance",
    "Practice",
    "Report",
    "Reproducibility",
    "SECTION_IDS",
    "SeedCase",
    "SeedCases",
    "SeedDecision",
    "Summary",
    "Table",
    "World",
    "Worlds",
]


@dataclasses.dataclass(frozen=True)
class Missing:
    """An input a section needs that this run did not produce.

    Attributes
    ----------
    path
        The file or folder that is absent, as dvc.yaml names it (``reports/fairness.json``).
    produced_by
        The command or stage that writes it (``dvc repro fairness``), so a reader knows why.
    """

    path: str
    produced_by: str


@dataclasses.dataclass(frozen=True)
class Figure:
    """One embedded image.

    Attributes
    ----------
    title
        A short caption shown under the figure.
    alt
        Alternative text a screen reader speaks: what the figure shows *and* what a reader
        should take from it, in words, never "see chart". Required and non-empty.
    src
        A ``data:image/png;base64,…`` URI, so the report stays one self-contained file.
    """

    title: str
    alt: str
    src: str

    def __post_init__(self) -> None:
        if not self.alt.strip():
            raise ValueError(f"figure {self.title!r} has no alt text")
        if not self.src.startswith("data:image/"):
            raise ValueError(f"figure {self.title!r} is not embedded as a data URI")


@dataclasses.dataclass(frozen=True)
class Table:
    """A table of already-formatted cells.

    Attributes
    ----------
    caption
        What the table shows, read aloud before it by screen readers.
    columns
        Column headings (rendered as ``<th scope="col">``).
    rows
        One tuple of cell texts per row, as long as ``columns``. With ``row_headers`` the first
        cell of each row is rendered as ``<th scope="row">``.
    row_headers
        Whether the first column names the row.
    note
        One plain sentence under the table (how to read intervals, what "suppressed" means…).
    """

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_headers: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.caption!r}: a row has {len(row)} cells for "
                    f"{len(self.columns)} columns"
                )


@dataclasses.dataclass(frozen=True)
class _Section:
    """Fields every section has: what was missing (empty when the section is complete)."""

    missing: tuple[Missing, ...] = ()

    @property
    def available(self) -> bool:
        """True when every input of the section was there."""
        return not self.missing


@dataclasses.dataclass(frozen=True)
class Summary(_Section):
    """The one-page lay summary.

    Attributes
    ----------
    points
        Five to eight sentences a lay panel member reads first: what was tested, on what, how
        well the candidate model ranks, against practice, for whom it errs, and what it is not.
        Each point is a complete sentence with its interval where it quotes a number.
    """

    points: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class World(_Section):
    """The synthetic world: what it models, the biases it plants, its calibration.

    Attributes
    ----------
    counts
        Plain sentence: how many households, people, events and referral decisions.
    calibration
        Each generated figure beside its published reference, tolerance and source.
    biases
        The planted biases and practice failure modes with their parameter values.
    all_within
        Whether every calibration figure lies within its tolerance.
    """

    counts: str = ""
    calibration: Table | None = None
    biases: Table | None = None
    all_within: bool = False


@dataclasses.dataclass(frozen=True)
class Labels(_Section):
    """The labels: the truth the world knows and the proxies an agency could observe.

    Attributes
    ----------
    headline
        The label the models are judged against (``warrants_escalation``).
    train_label
        The label the models were trained on.
    table
        One row per label: what it means, its share of referrals, and the candidate model's
        ranking quality against it, with intervals.
    """

    headline: str = ""
    train_label: str = ""
    table: Table | None = None


@dataclasses.dataclass(frozen=True)
class Performance(_Section):
    """The leaderboard with intervals and the price of interpretability.

    Attributes
    ----------
    intro
        One sentence: test split size, prevalence, interval level and bootstrap size.
    leaderboard
        One row per family, best first.
    price
        Plain sentence on what the black box gains over the best interpretable family.
    figures
        Interval plot of the headline metric; ROC and precision-recall curves.
    """

    intro: str = ""
    leaderboard: Table | None = None
    price: str = ""
    figures: tuple[Figure, ...] = ()


@dataclasses.dataclass(frozen=True)
class Calibration(_Section):
    """Whether a score of 0.3 means three in ten.

    Attributes
    ----------
    table
        Brier score and expected calibration error per family, with intervals.
    figure
        Reliability diagram: mean predicted against observed rate in equal-mass bins.
    interval_text
        What the interval around each chance is, in plain words, with the candidate's width.
    interval_table
        The candidate's bins: chance given, its interval, and the observed share.
    """

    table: Table | None = None
    figure: Figure | None = None
    interval_text: str = ""
    interval_table: Table | None = None


@dataclasses.dataclass(frozen=True)
class Capacity(_Section):
    """The capacity threshold and what it trades.

    Attributes
    ----------
    capacity
        The share of referrals a team can give a second look (``train.capacity``), as text.
    table
        Per family: flag rate, precision and recall at its cut, with intervals.
    trade
        Plain sentences on what raising or lowering the cut trades (missed cases against
        families drawn into a closer look).
    """

    capacity: str = ""
    table: Table | None = None
    trade: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Practice(_Section):
    """The models against what practice did, at practice's own workload.

    Attributes
    ----------
    intro
        How many enquiries practice made and how many referrals warranted one.
    table
        Per row (practice, then each family): caught, recall and the difference from practice.
    """

    intro: str = ""
    table: Table | None = None


@dataclasses.dataclass(frozen=True)
class Fairness(_Section):
    """Who is flagged and who is missed, by group, and what the labels themselves carry.

    Attributes
    ----------
    intro
        How groups are compared (reference group, parity band) and the small-cell rule.
    tables
        The by-group tables; a suppressed cell reads "suppressed (fewer than N)", never a number.
    label_bias
        The label-bias tables: proxy against truth, world biases on and off.
    findings
        Plain statements the fairness stage wrote (where a proxy misleads…).
    figures
        Disparity-ratio plots the fairness stage drew, each with alt text.
    label_bias_intro
        Two or three plain sentences on what the label-bias study found (before its table).
    """

    intro: str = ""
    tables: tuple[Table, ...] = ()
    label_bias: tuple[Table, ...] = ()
    label_bias_intro: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()


@dataclasses.dataclass(frozen=True)
class Explanations(_Section):
    """Why models flag what they flag, checked against the world's true drivers.

    Attributes
    ----------
    figures
        Global importance plots written by the explain stage, each with alt text.
    fidelity
        Agreement of each model's reasons with the truth's drivers.
    stability
        How much the reasons move when the model is refitted on resampled data.
    fidelity_intro, stability_intro
        Two or three plain sentences each on what was found (before the tables).
    """

    figures: tuple[Figure, ...] = ()
    fidelity: tuple[Table, ...] = ()
    stability: tuple[Table, ...] = ()
    fidelity_intro: tuple[str, ...] = ()
    stability_intro: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SeedDecision:
    """One referral decision of a seed case.

    Attributes
    ----------
    decision_id
        The decision's identifier.
    date
        Its date (ISO).
    practice
        What simulated practice decided, in words.
    window
        Which window the decision falls in, in words; a decision the models were trained or
        calibrated on is not a fair test of them, and the words say so.
    models
        The models' view of it in words ("flagged by ebm, gbm"), or why there is none.
    href
        Relative link to its review pack (``case-reviews/<id>.html``).
    has_pack
        Whether that pack was written in this run (the link is shown either way, marked).
    """

    decision_id: str
    date: str
    practice: str
    window: str
    models: str
    href: str
    has_pack: bool


@dataclasses.dataclass(frozen=True)
class SeedCase:
    """One scripted household from ``data/vignettes``.

    Attributes
    ----------
    name, title, story
        From the vignette file.
    decisions
        Its referral decisions, in date order.
    """

    name: str
    title: str
    story: str
    decisions: tuple[SeedDecision, ...]


@dataclasses.dataclass(frozen=True)
class SeedCases(_Section):
    """The seed cases: would they have been flagged, and for what reasons?"""

    cases: tuple[SeedCase, ...] = ()


@dataclasses.dataclass(frozen=True)
class Worlds(_Section):
    """How much the findings depend on the invented world: a sweep over scenarios and seeds.

    Attributes
    ----------
    intro
        What was repeated, in how many worlds, and how to read it.
    table
        Headline estimands by scenario (mean ± Student's t times the Monte Carlo SE) and
        their range.
    findings
        One sentence per directional finding: holds in every world, or where it fails.
    external
        The proxy-trained, proxy-evaluated figures beside the published ones.
    figures
        Forest plots, each with alt text.
    """

    intro: str = ""
    table: Table | None = None
    findings: tuple[str, ...] = ()
    external: Table | None = None
    figures: tuple[Figure, ...] = ()


@dataclasses.dataclass(frozen=True)
class Limitations(_Section):
    """Limitations and open questions.

    Attributes
    ----------
    items
        (heading, text) pairs: the standing criticisms from the literature, each tied to what
        this run shows, and findings of this run that limit it (wide intervals…).
    questions
        Open questions for the panel.
    """

    items: tuple[tuple[str, str], ...] = ()
    questions: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Reproducibility(_Section):
    """Everything needed to rebuild exactly this report; no wall-clock time.

    Attributes
    ----------
    commit
        The git commit the pipeline ran at (with "plus uncommitted changes" when dirty).
    commands
        The commands that rebuild the report.
    stages
        dvc.lock: each stage's outputs and their hashes.
    runs
        MLflow run ids, and where they were read from.
    packages
        Package versions the models were trained with.
    params
        params.yaml as flattened key/value rows.
    """

    commit: str = ""
    commands: tuple[str, ...] = ()
    stages: Table | None = None
    runs: Table | None = None
    packages: Table | None = None
    params: Table | None = None


#: section ids, in reading order; the template and the browser test both use them
SECTION_IDS = (
    "summary",
    "intended-use",
    "world",
    "labels",
    "performance",
    "calibration",
    "capacity",
    "practice",
    "fairness",
    "explanations",
    "seed-cases",
    "worlds",
    "limitations",
    "reproducibility",
)


def _no_views() -> ViewsTable:
    from secondlook.report.views import ViewsTable  # it builds on Table: imported late

    return ViewsTable()


@dataclasses.dataclass(frozen=True)
class Report:
    """The whole ethics-panel report.

    Attributes
    ----------
    title
        The document title.
    candidate
        The interpretable family the evaluation picked as the candidate (or "" if none).
    capacity
        ``train.capacity`` as a share (0.10).
    summary … reproducibility
        The sections, in reading order (see :data:`SECTION_IDS`).
    """

    title: str
    candidate: str
    capacity: float
    summary: Summary
    world: World
    labels: Labels
    performance: Performance
    calibration: Calibration
    capacity_section: Capacity
    practice: Practice
    fairness: Fairness
    explanations: Explanations
    seed_cases: SeedCases
    limitations: Limitations
    reproducibility: Reproducibility
    worlds: Worlds = dataclasses.field(default_factory=Worlds)
    records: Records = dataclasses.field(default_factory=Records)
    views: ViewsTable = dataclasses.field(default_factory=_no_views)

    @property
    def missing(self) -> tuple[Missing, ...]:
        """Every missing input across the sections, each once, in section order."""
        seen: dict[str, Missing] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            for m in getattr(value, "missing", ()):
                seen.setdefault(m.path, m)
        return tuple(seen.values())
