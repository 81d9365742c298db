"""The Review page shows markup from Atlas as text: the sandbox's ``markup_in_answers`` plays it.

The ledger is the markup tests' (tests/test_pages_markup.py): a sheet whose IDs carry markup,
answered by a sandbox whose values carry Markdown images, links and HTML pointing at a beacon.
"""

from __future__ import annotations

import pytest
from test_pages_markup import (  # noqa: F401 (atlas and beacon are fixtures)
    assert_shown_as_text,
    atlas,
    beacon,
    live_markup,
    open_markup_app,
)
from test_pages_support import release_runtimes

from ui.review_form import WEAK_MARK

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _release():
    yield
    release_runtimes()


def test_review_page_shows_atlas_markup_as_text(tmp_path, monkeypatch, atlas):  # noqa: F811 (the fixture)
    at = open_markup_app(tmp_path, monkeypatch, atlas, "Review")
    at.text_input(key="reviewer_input").input("Asha").run()
    at.slider(key="review_page_threshold").set_value(1.0).run()  # every extracted document
    assert any(s.value.startswith("Document MK") for s in at.subheader)
    assert_shown_as_text(at, "Review")
    headings = [s.value for s in at.subheader]
    assert any("beacon" in h for h in headings), "the hostile id is shown (escaped)"
    labels = [t.label.removeprefix(WEAK_MARK) for t in at.text_input] + [t.help or "" for t in at.text_input]
    assert [live_markup(text) for text in headings + labels if live_markup(text)] == []
    values = [t.value for t in at.text_input if t.key and t.key.startswith("review_field_")]
    assert any("beacon" in v for v in values), "a value in a box is Atlas's text as it is"
