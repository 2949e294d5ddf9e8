"""The house rules of issue 11: no module over 600 lines, no function over 120, ruff's complexity
rule (C901, at most 15) on and never silenced (deliverable 7); tests named after the module they
test (deliverable 6).

Data tables are the exception to the size rules, each named below with its reason; tests that
span the whole package are the exception to the naming rule, each named with its reason.

Cross-cutting (named by what it checks, not by a module): it checks every module and test file.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "secondlook"
TESTS = ROOT / "tests"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 120
MAX_COMPLEXITY = 15

#: data tables: a module or function that is long because it holds data, with the reason
DATA_TABLES = {
    "features/catalogue.py": "the feature catalogue: one entry per feature (name, window, text)",
    "features/catalogue.py::_build": "the feature catalogue's entries, one call per feature",
}


#: test files that span the whole package, not one module, with the reason (each says so in its
#: docstring)
CROSS_CUTTING = {
    "test_package_layout.py": "the house rules, over every module and test file",
    "test_readme_quickstart.py": "the README's quick start, every stage from a fresh clone",
    "ingest/test_cohort_pipeline.py": "every stage, from ingest to the report, on an imported cohort",
    "report/test_full_report.py": "every stage run for real, then the report read in a browser",
}

#: how a test file names a module that has no name of its own
SPECIAL = {"init": "__init__", "main": "__main__"}


def module_of(test: Path) -> Path | None:
    """The module ``tests/<sub>/test_<name>.py`` tests: ``src/secondlook/<sub>/<name>.py``.

    ``test_init.py`` tests the package's ``__init__.py``, ``test_main.py`` its ``__main__.py``; a
    longer name ``test_<module>_<aspect>.py`` (a module's tests split by aspect) names the longest
    ``<module>`` that exists. None when no module matches.
    """
    rel = test.relative_to(TESTS)
    parts = rel.stem.removeprefix("test_").split("_")
    for k in range(len(parts), 0, -1):
        name = "_".join(parts[:k])
        module = PACKAGE / rel.parent / f"{SPECIAL.get(name, name)}.py"
        if module.is_file():
            return module
    return None


def _misnamed() -> list[str]:
    """Test files (relative to tests/) that name no module and are not cross-cutting."""
    return [
        rel
        for path in sorted(TESTS.rglob("test_*.py"))
        if (rel := path.relative_to(TESTS).as_posix()) not in CROSS_CUTTING
        and module_of(path) is None
    ]


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


def test_every_module_keeps_the_house_rules() -> None:
    assert _violations() == {}, "split these (or name a data table in DATA_TABLES, with its reason)"


def test_the_naming_checker_finds_a_topic_name(tmp_path, monkeypatch) -> None:
    # the oracle: a planted package and tests; only the test named by topic is found
    (tmp_path / "src" / "pkg" / "models").mkdir(parents=True)
    for module in ("__init__", "linear", "base"):
        (tmp_path / "src" / "pkg" / "models" / f"{module}.py").write_text("")
    (tmp_path / "tests" / "models").mkdir(parents=True)
    names = ["test_linear", "test_base_constraints", "test_init", "test_families", "test_basement"]
    for name in names:
        (tmp_path / "tests" / "models" / f"{name}.py").write_text("")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path / "src" / "pkg")
    monkeypatch.setattr(f"{__name__}.TESTS", tmp_path / "tests")
    assert module_of(tmp_path / "tests" / "models" / "test_base_constraints.py") == (
        tmp_path / "src" / "pkg" / "models" / "base.py"
    )
    assert _misnamed() == ["models/test_basement.py", "models/test_families.py"]


def test_every_test_file_is_named_after_its_module() -> None:
    assert _misnamed() == [], "name these after the module they test (or add to CROSS_CUTTING)"


def test_every_cross_cutting_test_says_why() -> None:
    for rel in CROSS_CUTTING:
        doc = ast.get_docstring(ast.parse((TESTS / rel).read_text())) or ""
        assert "Cross-cutting" in doc, rel
