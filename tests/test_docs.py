"""The README's promises that a test can keep: its commands are the ones CI runs, its files exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = next(line for block in shell_blocks() for line in block.splitlines() if "pytest" in line)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command.strip() in ci.splitlines()


def test_main_command_points_at_the_bundled_seeds() -> None:
    main = shell_blocks()[0].strip()
    assert main.endswith("summarizer brief examples/hasakah")
    assert len(list((ROOT / "examples" / "hasakah").glob("*.txt"))) == 3


def test_product_code_never_reads_the_shared_folder() -> None:
    for folder in ("summarizer", "prompts", "schemas"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "../shared" not in path.read_text(), path
