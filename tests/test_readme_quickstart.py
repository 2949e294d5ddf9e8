"""The README's quick start, run as written in a fresh clone (slow: it builds .venv and runs
the whole pipeline).

Cross-cutting (named by what it checks, not by a module): it tests the README against the whole
package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


def quick_start_commands(readme: str) -> list[str]:
    """The fenced ``bash`` blocks of the README's "Quick start" section, in order."""
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def test_the_quick_start_has_commands_and_links_stay_inside() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = quick_start_commands(readme)
    assert len(blocks) >= 2 and "make repro" in blocks[0]
    tries = [line for line in blocks[1].splitlines() if line and not line.startswith("#")]
    assert len(tries) == 3  # three things to try, one command line each
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text()
        for target in re.findall(r"\]\(([^)#]+)", text) + re.findall(r"`(\.\./[^`]+)`", text):
            if target.startswith(("http://", "https://")):
                continue
            path = (doc.parent / target).resolve()
            assert path.is_relative_to(REPO), (doc.name, target)  # nothing outside the repo
            assert path.exists(), (doc.name, target)


@pytest.mark.slow
def test_the_quick_start_runs_as_written_in_a_fresh_clone(tmp_path: Path) -> None:
    # The quick start is `make repro`: the whole pipeline, policy and sweep stages included,
    # tens of minutes on 2 cores. Run on request (and before a release), not in every CI run.
    if os.environ.get("SECONDLOOK_QUICKSTART_TEST") != "1":
        pytest.skip("set SECONDLOOK_QUICKSTART_TEST=1 to run the quick start in a fresh clone")
    if shutil.which("git") is None:
        pytest.skip("needs git")
    clone = tmp_path / "secondlook"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    blocks = quick_start_commands((clone / "README.md").read_text())
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    env.update(DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=str(clone / ".dvc" / "site-cache"))
    done = subprocess.run(
        ["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=7200
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-5000:])
    assert (clone / "reports" / "ethics-panel.html").stat().st_size > 100_000
    a = pd.read_parquet(clone / "reports" / "try" / "scores.parquet")
    b = pd.read_parquet(clone / "reports" / "try" / "registry.parquet")
    assert len(a) > 1000 and (a["status"] == "scored").mean() > 0.99
    pd.testing.assert_series_equal(a["probability"], b["probability"])
