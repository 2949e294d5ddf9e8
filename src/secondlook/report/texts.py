"""The report's fixed wording: label meanings, planted biases, limitations, open questions.

Kept apart from :mod:`secondlook.report.build` so the words can be reviewed as words. The
criticisms are those of the published literature (the report names each publication it
relies on, never a file outside the repository), each tied to what this synthetic study can
and cannot say about it. Neutral words only: nothing here calls a family
"safe" or a model "fair"; the pipeline measures, ranks and explains.
"""

from __future__ import annotations

#: what each label means, in the order the report lists them
LABELS: dict[str, str] = {
    "warrants_escalation": "The truth of the synthetic world: the child's real 12-month risk "
    "of significant harm was at or above the escalation threshold. No real agency can observe "
    "this.",
    "harm_12m_no_action": "Significant harm within 12 months had nothing been escalated "
    "(a simulated potential outcome).",
    "harm_12m_observed": "Significant harm within 12 months given what practice actually did.",
    "cp_plan_12m": "A child protection plan within 12 months: a proxy an agency records. It "
    "follows practice's own decisions, so it repeats practice's misses.",
    "rereferral_12m": "Referred again within 12 months: a proxy that counts contact with "
    "services, which deprived areas have more of for the same risk.",
    "removal_12m": "Taken into care within 12 months: a rare proxy that follows court "
    "decisions, not harm.",
}

#: practice outcomes in words
OUTCOMES = {
    "nfa": "no further action",
    "assessment": "assessment, not escalated",
    "s47": "child protection enquiry (section 47)",
}

#: the split windows in words (a seed case's decision may fall in any of them)
SPLITS = {
    "train": "training window: the models learned from this decision, so it is not a fair test",
    "valid": "validation window: used to calibrate the models and set the cut, not a fair test",
    "test": "test window: a fair test (the models never saw it)",
    "no split": "outside every window: not scored",
}

BIAS_TEXT = {
    "surveillance": "Households in deprived areas are in contact with services more, so they "
    "are referred more for the same risk.",
    "disproportionality": "Some ethnic groups are referred more (or less) for the same risk, "
    "as the literature reports.",
}

#: practice failure modes: params key -> (name, what it does)
PRACTICE_FAILURES: dict[str, tuple[str, str]] = {
    "start_again": (
        "start-again syndrome",
        "Each referral is judged afresh; the siblings' history is often not read.",
    ),
    "weight_unassessed_adult": (
        "invisible men",
        "Practice gives no weight to adults it has never assessed.",
    ),
    "bruising_missed": (
        "bruising in a non-mobile baby let pass",
        "A strong warning sign is sometimes not acted on.",
    ),
    "la_sd": (
        "thresholds differ by local authority",
        "The same case may be escalated in one council and not in another.",
    ),
}

CAPACITY_TRADE = (
    "Raising the share flagged reaches more of the children who warranted escalation, and draws "
    "more families who did not into a closer look; lowering it does the reverse. Where the cut "
    "lies is a decision about a team's workload and about how much intrusion is acceptable — a "
    "policy choice, not a technical one.",
    "Because only a minority of referrals warranted escalation, flags that turn out unwarranted "
    "can outnumber those that were warranted even for a model that ranks well.",
)

FAIRNESS_INTRO = (
    "Each group is compared with the largest group of the same attribute. A ratio between 0.8 "
    "and 1.25 is inside the parity band (the Aequitas convention); the band is a convention, not "
    "a finding that a model is fair. Any cell built from fewer than {min_cell} decisions is "
    "suppressed: it is shown as the word “suppressed”, never as a number."
)

#: words in an explanation PNG's name -> what kind of figure it is
PLOT_KINDS = {
    "beeswarm": "A beeswarm plot: each dot is one referral's contribution of one feature to "
    "the score, features in order of overall importance",
    "dependence": "A dependence plot: how one feature's value moves its contribution to the score",
    "importance": "A bar chart of mean absolute contribution per feature (global importance)",
    "bar": "A bar chart of mean absolute contribution per feature (global importance)",
    "waterfall": "A waterfall plot: how one referral's score is built up from its features",
    "fidelity": "A chart of agreement between the model's reasons and the world's true drivers",
    "stability": "A chart of how stable the reasons are when the model is refitted",
}

SUMMARY_WHAT = (
    "secondlook asks whether an interpretable model could pick out, among referrals to "
    "children's social care, those that warrant a child protection enquiry — and say why — so "
    "that a person takes a second look. It is tested here on synthetic case histories only."
)

SUMMARY_NOT = (
    "It never decides anything about a child or family: it ranks referrals for a person to "
    "review, and every flag comes with its reasons. A low score does not mean a child is safe.",
    "It has not been validated on any real families, and must not be used on them without "
    "local validation, a data protection impact assessment and governance.",
)

#: (heading, text): the standing criticisms of predictive risk models in child welfare
LIMITATIONS: tuple[tuple[str, str], ...] = (
    (
        "Proxy labels are not harm",
        "A real agency can only train on what it records — re-referral, a plan, removal, "
        "substantiation — and each of these follows its own past decisions, not harm itself. "
        "This study can compare the proxies with the truth only because the truth is simulated "
        "(section 4); a real deployment cannot.",
    ),
    (
        "Surveillance and poverty bias",
        "Families in deprived areas are seen by more services and referred more for the same "
        "risk: “parenting while poor” can be read as poor parenting (Eubanks 2018). The "
        "synthetic world plants this bias on purpose; its size in real data is unknown.",
    ),
    (
        "Selective labels",
        "Outcomes are seen only for the cases that were screened in; what would have happened "
        "to a screened-out child is missing from real data. Here the simulator provides it; in "
        "practice it cannot be checked.",
    ),
    (
        "Low base rates",
        "Most referrals do not warrant escalation, so false positives can outnumber true cases "
        "even for a good ranking (see section 7). Each false positive is a family drawn into a "
        "closer look.",
    ),
    (
        "Design choices are policy choices",
        "The label, the threshold, the share flagged, which inputs are allowed and which "
        "groups are compared are all choices about values, made here by parameters. They belong "
        "to the people accountable for the service, not to the model builders.",
    ),
    (
        "Synthetic evidence",
        "Every number in this report comes from a simulated world built from published "
        "figures and from assumptions about how harm arises. Models that work here may not work "
        "on real records: What Works for Children's Social Care (2020) found no evidence that "
        "the models it tested in four local authorities worked well.",
    ),
)

QUESTIONS = (
    "Which label should a real model be judged against, when the truth is never observed?",
    "What share of referrals can a team give a genuine second look, and who sets the cut?",
    "Which group disparities, in which direction, would stop a deployment?",
    "How would a family know that a score contributed to a decision about them, and contest it?",
    "What local validation, monitoring and independent evaluation would come before any use?",
)

COMMANDS = (
    "make repro    # rebuild every result from params.yaml (dvc repro)",
    "secondlook report --out reports/ethics-panel.html    # this report alone",
    "make test     # the tests, including this report opened in headless Chromium",
)

#: the explanation figures' titles, by kind (the file name's first word)
FIGURE_TITLES = {
    "importance": "which inputs move the score most, on average",
    "beeswarm": "every referral's contribution from each input",
}
