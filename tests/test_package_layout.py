"""The house rules of issue 11, deliverable 7: no module over 600 lines, no function over 120,
ruff's complexity rule (C901, at most 15) on and never silenced.

Data tables are the exception, each named below with its reason. Files other helpers are
still splitting are listed in PENDING: :func:`test_nothing_new_breaks_the_house_rules` holds
every other file to the rules now; :func:`test_every_module_keeps_the_house_rules` is the full
rule, expected to fail until those files are split (it shows as XPASS then: empty PENDING).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "secondlook"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 120
MAX_COMPLEXITY = 15

#: data tables: a module or function that is long because it holds data, with the reason
DATA_TABLES = {
    "features/catalogue.py": "the feature catalogue: one entry per feature (name, window, text)",
    "features/catalogue.py::_build": "the feature catalogue's entries, one call per feature",
}

#: over the limits at the time of writing, being split by other helpers of issue 11
PENDING = {
    "report/build.py",
    "explain/stage.py::run_explain",
    "explain/packs.py::build_case_review",
}


def _violations() -> dict[str, str]:
    """``{"<module>" or "<module>::<function>": what is wrong}`` over the whole package."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        text = path.read_text()
        n_lines = len(text.splitlines())
        if n_lines > MAX_MODULE_LINES:
            found[rel] = f"{n_lines} lines (at most {MAX_MODULE_LINES})"
        if "noqa: C901" in text:
            found[f"{rel}::noqa C901"] = "silences the complexity rule"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    key = f"{rel}::{node.name}"
                    found[key] = f"{length} lines (at most {MAX_FUNCTION_LINES})"
    return {k: v for k, v in found.items() if k not in DATA_TABLES}


def test_the_complexity_rule_is_on() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "C90" in config["select"] or "C901" in config["select"]
    assert "C901" not in config.get("ignore", []) and "C90" not in config.get("ignore", [])
    assert config["mccabe"]["max-complexity"] == MAX_COMPLEXITY


def test_the_checker_finds_a_long_function_and_a_long_module(tmp_path, monkeypatch) -> None:
    # the oracle: a planted 121-line function in a 601-line module is found, a 120-line one not
    body = "\n".join(f"    x{i} = {i}" for i in range(119))
    long_fn = f"def long():\n{body}\n    return 0\n"
    ok_fn = "def ok():\n" + "\n".join(f"    y{i} = {i}" for i in range(118)) + "\n    return 0\n"
    filler = "\n".join(f"z{i} = {i}" for i in range(601 - 121 - 120))
    (tmp_path / "big.py").write_text(long_fn + ok_fn + filler + "\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path)
    assert _violations() == {
        "big.py": "601 lines (at most 600)",
        "big.py::long": "121 lines (at most 120)",
    }


def test_nothing_new_breaks_the_house_rules() -> None:
    found = _violations()
    new = {k: v for k, v in found.items() if k not in PENDING}
    assert new == {}, "split these (or name a data table in DATA_TABLES, with its reason)"


@pytest.mark.xfail(reason=f"still being split: {sorted(PENDING)}", strict=False)
def test_every_module_keeps_the_house_rules() -> None:
    assert _violations() == {}
