"""The docs agree with the code: every file they point to exists, and every field of an answer
the README describes is described."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.api import schemas

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# made by `make run` or a benchmark, not kept in the repository
MADE = {"var/firefly.db", "var/screenshots"}
PATH = re.compile(r"`((?:app|bench|deploy|docs|examples|migrations|policies|rules|tests)/[^`\s]*)`")


def _paths(doc: Path):
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        for match in PATH.finditer(line):
            path = match.group(1).split("::")[0].rstrip(".,:;")
            if not re.search(r"[<>*{}]|\.\.\.", path):  # patterns such as rules/<name>.yaml
                yield number, path


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_path_the_docs_name_exists(doc):
    # the tutorial's own files are made in the reader's folder, not kept here
    made = MADE | set(re.findall(r"^```\w+ (?:file|append)=(\S+)$", doc.read_text(encoding="utf-8"), re.M))
    missing = [f"{doc.name}:{number}: {path}" for number, path in _paths(doc)
               if path not in made and not (REPO / path).exists()]
    assert missing == []


def test_the_readme_describes_every_field_of_the_replay_answer():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    replay = readme[readme.index("**Replay** answers"):]
    replay = replay[:replay.index("\n\n")]
    assert [name for name in schemas.ReplayOut().fields if f"`{name}`" not in replay] == []
