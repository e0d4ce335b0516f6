"""The project's own docs: present, linked from the README, and in step with the code
(every setting and every API path documented; no link into a folder a clone lacks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.main import create_app
from soporte.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("policy.md", "api.md", "design.md", "operations.md")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    lines = path.read_text().splitlines()
    return {slug(line.lstrip("#")) for line in lines if line.startswith("#")}


def test_readme_links_the_docs_and_nothing_outside_the_repo():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    for name in DOCS:
        assert f"(docs/{name}" in readme, name


@pytest.mark.parametrize("source", ["README.md", *(f"docs/{name}" for name in DOCS)])
def test_every_relative_link_resolves(source: str):
    path = ROOT / source
    for target in LINK.findall(path.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.is_file(), f"{source} links {target}"
        assert ROOT in linked.parents, f"{source} links outside the repo: {target}"
        if anchor:
            assert anchor in anchors(linked), f"{source} links a missing heading: {target}"


def test_operations_lists_every_setting():
    text = (ROOT / "docs" / "operations.md").read_text()
    for name in Settings.model_fields:
        assert f"`SOPORTE_{name.upper()}`" in text, f"SOPORTE_{name.upper()} is not documented"


def test_api_doc_names_every_path_the_app_serves():
    text = (ROOT / "docs" / "api.md").read_text()
    named = re.findall(r"`(?:[A-Z]+ )?(/[^`?\s]*)", text)
    documented = {re.sub(r"\{[^}]+\}", "{}", path) for path in named}
    schema = create_app(load_settings(admin_token="x" * 20)).openapi()
    for path in schema["paths"]:
        generic = re.sub(r"\{[^}]+\}", "{}", path.removeprefix("/api/v1"))
        assert generic in documented, f"{path} is not in docs/api.md"


@pytest.mark.parametrize("name", DOCS)
def test_every_file_the_docs_name_exists(name: str):
    text = (ROOT / "docs" / name).read_text()
    tops = "soporte|api|activities|workflows|launcher|tests|bench"
    for path in re.findall(rf"`((?:{tops})/[\w/.]*)`", text):
        assert (ROOT / path).exists(), f"docs/{name} names {path}, which does not exist"
