"""The documentation pages cite settings that exist and link to pages and sections that exist."""

import re
from pathlib import Path

import pytest

from ictbot.config_reference import sections

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md", ROOT / "CHANGELOG.md"])
KNOWN = {s.path for section in sections() for s in section.settings}
SECTIONS = {path.split(".")[0] for path in KNOWN if "." in path}
# `risk.leverage`, `venue.testnet: false`; a quoted error about a misspelt key is not a citation
SETTING = re.compile(r"`(?P<path>[a-z_]+(?:\.[a-z_]+)+)(?P<rest>:[^`]*)?`")
LINK = re.compile(r"\]\((?P<target>[^)#\s]*)(?:#(?P<anchor>[^)\s]+))?\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_setting_a_page_names_exists(page):
    spans = SETTING.finditer(page.read_text(encoding="utf-8"))
    cited = {m["path"] for m in spans if "unknown setting" not in (m["rest"] or "")}
    unknown = sorted(p for p in cited if p.split(".")[0] in SECTIONS and p not in KNOWN)
    assert unknown == [], f"{page.name} names settings the model does not have: {unknown}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for match in LINK.finditer(page.read_text(encoding="utf-8")):
        target, anchor = match["target"], match["anchor"]
        if target.startswith(("http://", "https://")):
            continue
        linked = (page.parent / target).resolve() if target else page
        if not linked.exists():
            broken.append(target)
        elif anchor and anchor not in _anchors(linked):
            broken.append(f"{target}#{anchor}")
    assert broken == [], f"{page.name} links to what does not exist: {broken}"


def test_the_checks_catch_a_wrong_setting_and_a_wrong_anchor(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nSet `risk.leverag: 3` and see [below](#nowhere).\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"risk\.leverag"):
        test_every_setting_a_page_names_exists(page)
    with pytest.raises(AssertionError, match="#nowhere"):
        test_every_relative_link_and_anchor_resolves(page)
