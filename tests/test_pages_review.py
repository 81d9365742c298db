"""The Review page under AppTest: one document at a time, decisions, skips, two reviewers, errors.

The ledger is filled through its own API with the sandbox's realistic results
(review_page_support.fill_reviews), then the dashboard opens on it; decisions are checked in
the ledger file, read independently of the app.
"""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from review_page_support import fill_reviews, presigned
from streamlit.elements.lib.shortcut_utils import normalize_shortcut
from test_pages_markup import MARKDOWN_ELEMENTS, live_markup
from test_pages_support import Downloads, ledger_of, open_app, released_runtimes, texts  # noqa: F401 (a fixture)

from atlas_core.ledger import Interpreted
from atlas_core.ledger import states as S
from atlas_core.review import ReviewPolicy
from ui import review_keys
from ui.review_excel import XLSX
from ui.review_form import WEAK_MARK

pytestmark = pytest.mark.usefixtures("released_runtimes")

DOCUMENTS = 30
POLICY = ReviewPolicy()  # the settings' rule: threshold 0.80, the default sample


@pytest.fixture
def reviews(tmp_path):
    """A ledger holding one finished upload of 30 documents (about half need review)."""
    fill_reviews(tmp_path / "atlas.db", DOCUMENTS).close()
    return tmp_path


def open_review(tmp_path, monkeypatch, name: str | None = "Asha"):
    """The Review page, with ``name`` typed as the reviewer's name."""
    at = open_app(tmp_path, monkeypatch, "Review")
    assert not at.exception, [e.value for e in at.exception]
    if name:
        at.text_input(key="reviewer_input").input(name).run()
    return at


def shown_document(at) -> str:
    """The document id in the page's subheader ("Document R00012")."""
    heads = [s.value for s in at.subheader if s.value.startswith("Document ")]
    assert heads, texts(at)
    return heads[0].removeprefix("Document ").replace("\\", "")


def images(at) -> list[str]:
    """The <img> tags on the page (the other st.html is the script that places the cursor)."""
    return [e.proto.body for e in at.get("html") if e.proto.body.startswith("<img")]


def row_of(ledger, document_id: str) -> int:
    rows, _ = ledger.documents_page(search=document_id)
    return int(rows[0]["id"])


def test_the_page_asks_for_a_name_then_shows_one_document_with_weak_fields(reviews, monkeypatch):
    at = open_review(reviews, monkeypatch, name=None)
    assert "Type your name" in texts(at, "info")
    assert not [s for s in at.subheader if s.value.startswith("Document ")]
    at.text_input(key="reviewer_input").input("Asha").run()
    doc = shown_document(at)
    item = ledger_of(reviews).review_item(row_of(ledger_of(reviews), doc), POLICY)
    assert item.claimed_by == "Asha" and item.state == S.TO_REVIEW
    labels = [t.label for t in at.text_input if t.key and t.key.startswith("review_field_")]
    assert len(labels) == len(item.fields)
    weak = [f for f in item.fields if f.weak]
    assert weak, "a document in the queue below the threshold has a weak field"
    assert sum("**weak**" in label for label in labels) == len(weak)
    values = [t.value for t in at.text_input if t.key and t.key.startswith("review_field_")]
    assert values[0] == str(item.fields[0].value)
    # The cursor is put in the first weak field when the document appears.
    first_weak = next(i for i, f in enumerate(item.fields) if f.weak)
    (script,) = [e.proto.body for e in at.get("html") if e.proto.body.startswith("<script")]
    assert f'"review_field_{item.document}_{first_weak}"' in script


def test_every_decision_key_is_on_its_button_and_in_the_legend(reviews, monkeypatch):
    at = open_review(reviews, monkeypatch)
    shortcuts = {
        key: at.button(key=key).proto.shortcut
        for key in ("review_confirm", "review_reject", "review_next", "review_previous")
    }
    assert shortcuts == {
        "review_confirm": normalize_shortcut(review_keys.CONFIRM),
        "review_reject": normalize_shortcut(review_keys.REJECT),
        "review_next": normalize_shortcut(review_keys.NEXT),
        "review_previous": normalize_shortcut(review_keys.PREVIOUS),
    }
    legend = texts(at, "caption")
    for key, _ in review_keys.LEGEND:
        assert key in legend


def test_confirm_correct_and_reject_are_stored_beside_atlas_answer(reviews, monkeypatch):
    at = open_review(reviews, monkeypatch)
    ledger = ledger_of(reviews)
    first = shown_document(at)
    at.button(key="review_confirm").click().run()
    assert f"Confirmed document {first}" in texts(at, "success")

    second = shown_document(at)
    assert second != first
    box = next(t for t in at.text_input if t.key and t.key.startswith("review_field_"))
    field_name = ledger.review_item(row_of(ledger, second), POLICY).fields[0].name
    atlas_value = box.value
    box.input("CORRECTED VALUE")
    at.button(key="review_confirm").click().run()
    assert f"Saved 1 correction to document {second}" in texts(at, "success")

    third = shown_document(at)
    at.button(key="review_reject").click().run()
    assert f"Rejected document {third}" in texts(at, "success")

    states = {d: ledger.review_item(row_of(ledger, d), POLICY) for d in (first, second, third)}
    assert states[first].state == S.CONFIRMED and states[first].decided_by == "Asha"
    assert states[second].state == S.CORRECTED
    assert states[second].corrections == {field_name: "CORRECTED VALUE"}
    assert str(states[second].fields[0].value) == atlas_value  # Atlas's answer, verbatim
    assert states[third].state == S.REVIEW_REJECTED
    assert "3" in [m.value for m in at.metric if m.label == "Done today by you"][0]


def test_next_skips_and_lets_go_previous_goes_back_to_a_decided_one(reviews, monkeypatch):
    at = open_review(reviews, monkeypatch)
    ledger = ledger_of(reviews)
    first = shown_document(at)
    at.button(key="review_confirm").click().run()
    skipped = shown_document(at)
    at.button(key="review_next").click().run()
    after_skip = shown_document(at)
    assert after_skip not in (first, skipped)
    assert ledger.review_item(row_of(ledger, skipped), POLICY).claimed_by is None  # others may take it
    at.button(key="review_previous").click().run()
    assert shown_document(at) == first  # the decided one, not the skipped one
    assert "Confirmed by Asha" in texts(at, "info")
    at.button(key="review_next").click().run()
    assert shown_document(at) == after_skip


def test_two_reviewers_never_get_the_same_document(reviews, monkeypatch):
    asha = open_review(reviews, monkeypatch, "Asha")
    ravi = open_review(reviews, monkeypatch, "Ravi")
    asha.run()
    assert shown_document(asha) != shown_document(ravi)
    held = {c["claimed_by"]: c["document_id"] for c in ledger_of(reviews).review_claims()}
    assert held == {"Asha": shown_document(asha), "Ravi": shown_document(ravi)}


def test_a_document_decided_by_someone_else_meanwhile_is_not_overwritten(reviews, monkeypatch):
    at = open_review(reviews, monkeypatch)
    ledger = ledger_of(reviews)
    doc = shown_document(at)
    row = row_of(ledger, doc)
    # Asha walked away; her hold lapsed, and Ravi took the document and confirmed it.
    later = ledger.review_item(row, POLICY).claim_expires_at + 1
    taken = ledger.claim_next_review("Ravi", POLICY, now=later)
    assert taken.document == row
    ledger.decide_review(row, "Ravi", "confirm", version=taken.version, now=later)
    box = next(t for t in at.text_input if t.key and t.key.startswith("review_field_"))
    box.input("ASHA'S LATE CORRECTION")
    at.button(key="review_confirm").click().run()
    assert f"Ravi decided document {doc} meanwhile" in texts(at, "warning")
    assert shown_document(at) != doc
    item = ledger.review_item(row, POLICY)
    assert (item.state, item.decided_by, item.corrections) == (S.CONFIRMED, "Ravi", {})
    assert not at.exception


def test_a_document_another_reviewer_holds_is_refused_plainly(reviews, monkeypatch):
    at = open_review(reviews, monkeypatch)
    ledger = ledger_of(reviews)
    doc = shown_document(at)
    row = row_of(ledger, doc)
    later = ledger.review_item(row, POLICY).claim_expires_at + 1
    assert ledger.claim_next_review("Ravi", POLICY, now=later).document == row  # Ravi holds it now
    # Asha's page still shows it; her decision is refused, in words.
    at.button(key="review_reject").click().run()
    assert f"Ravi is reviewing document {doc} right now" in texts(at, "warning")
    assert ledger.review_item(row, POLICY).state == S.TO_REVIEW


def test_a_busy_ledger_says_so_and_saves_nothing(reviews, monkeypatch):
    at = open_review(reviews, monkeypatch)
    doc = shown_document(at)
    blocker = sqlite3.connect(reviews / "atlas.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the busy timeout
    try:
        at.button(key="review_confirm").click().run(timeout=120)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "The ledger is busy" in texts(at, "error")
    assert not at.exception
    ledger = ledger_of(reviews)
    assert ledger.review_item(row_of(ledger, doc), POLICY).state == S.TO_REVIEW
    at.run()
    assert shown_document(at) == doc  # still Asha's, to decide again


def test_an_expired_image_link_is_said_to_be_expired(tmp_path, monkeypatch):
    signed = datetime.now(UTC) - timedelta(days=2)
    fill_reviews(
        tmp_path / "atlas.db", 12,
        url_for=lambda doc: presigned("https://kyc.s3.amazonaws.com", f"{doc}.jpg", signed=signed),
    ).close()  # fmt: skip
    at = open_review(tmp_path, monkeypatch)
    assert "The link to this image expired at" in texts(at, "info")
    assert not images(at)  # no <img> the browser would fail on


def test_a_fresh_image_link_goes_to_the_browser_as_it_is(tmp_path, monkeypatch):
    signed = datetime.now(UTC) - timedelta(minutes=1)
    fill_reviews(
        tmp_path / "atlas.db", 12,
        url_for=lambda doc: presigned("https://kyc.s3.amazonaws.com", f"{doc}.jpg", signed=signed),
    ).close()  # fmt: skip
    at = open_review(tmp_path, monkeypatch)
    (body,) = images(at)
    assert body.startswith('<img src="https://kyc.s3.amazonaws.com/') and "X-Amz-Expires=3600" in body


def test_the_threshold_is_shared_and_changes_the_queue(reviews, monkeypatch):
    at = open_review(reviews, monkeypatch)
    before = int(at.metric[0].value.replace(",", ""))
    at.slider(key="review_page_threshold").set_value(0.0).run()
    at.slider(key="review_qc_rate").set_value(0.0).run()
    # Nothing is below 0 and nothing is sampled; only the document Asha holds stays.
    assert int(at.metric[0].value.replace(",", "")) < before
    ravi = open_review(reviews, monkeypatch, "Ravi")
    assert ravi.slider(key="review_page_threshold").value == 0.0  # the same rule for everyone
    assert "Nothing left to review" in texts(ravi, "success")


BEACON = "http://beacon.invalid/b.png"
HOSTILE_ID = f"![x]({BEACON}) <img src={BEACON}> :red[ID]"


def hostile_answer(document_id: str) -> Interpreted:
    """Atlas answering with markup in the type, a field's name and its value (and a NaN-free score)."""
    file_data = {
        "document_type": f"PAN [t]({BEACON})",
        f"name <img src={BEACON}>": {"value": f"**A** ![v]({BEACON})", "confidence_score": 0.41},
        "pan_number": {"value": "ABCDE1234F", "confidence_score": 0.99},
    }
    return Interpreted(document_id, S.EXTRACTED, file_data["document_type"], None, file_data, 0.41)


def test_markup_from_atlas_or_the_sheet_is_shown_as_text(tmp_path, monkeypatch):
    fill_reviews(
        tmp_path / "atlas.db", 1, ids=[HOSTILE_ID], answer=hostile_answer,
        url_for=lambda doc: f'https://kyc.example/a.jpg?x="><img src={BEACON}>',
    ).close()  # fmt: skip
    at = open_review(tmp_path, monkeypatch)
    bodies = [(kind, str(e.value)) for kind in MARKDOWN_ELEMENTS for e in getattr(at, kind)]
    bodies += [("label", t.label.removeprefix(WEAK_MARK)) for t in at.text_input]
    bodies += [("help", t.help or "") for t in at.text_input]
    assert [(kind, live_markup(b)) for kind, b in bodies if live_markup(b)] == []
    assert any("beacon" in b for _, b in bodies)  # the hostile text is there, as text
    (tag,) = images(at)
    assert tag.count("<") == 1  # the link stays inside the attribute
    (script,) = [e.proto.body for e in at.get("html") if e.proto.body.startswith("<script")]
    assert "beacon" not in script  # only our widget key goes into the script
    box = next(t for t in at.text_input if t.key and t.key.startswith("review_field_"))
    assert box.value == f"**A** ![v]({BEACON})"  # a value in a box is shown exactly as Atlas sent it
    box.input("A SHARMA")
    at.button(key="review_confirm").click().run()
    ledger = ledger_of(tmp_path)
    (row,) = ledger.documents_page(upload_id=1)[0]
    assert ledger.review_item(int(row["id"])).corrections == {f"name <img src={BEACON}>": "A SHARMA"}


def frame_with(at, column: str):
    """The first table on the page with that column, or None."""
    return next((d.value for d in at.dataframe if column in d.value.columns), None)


def _edited_queue(data: bytes, edits: dict[int, str], formula_row: int) -> tuple[bytes, dict[int, tuple[str, str]]]:
    """The downloaded queue with the first non-empty field of some rows changed, and a formula typed
    in another; returns the file and {sheet row: (document_id, field)} of the changed cells."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["review"]
    header = [c.value for c in sheet[1]]
    first_field = header.index("weak_fields") + 1
    changed = {}
    for row, value in {**edits, formula_row: "=HYPERLINK(\"http://x.invalid\")"}.items():
        cells = sheet[row]
        column = next(i for i in range(first_field, len(header) - 1) if cells[i].value not in (None, ""))
        cells[column].value = value
        changed[row] = (cells[header.index("document_id")].value, header[column])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), changed


def test_a_corrected_queue_file_is_shown_cell_by_cell_before_it_is_applied(reviews, monkeypatch):
    downloads = Downloads(monkeypatch)
    at = open_review(reviews, monkeypatch)
    ledger = ledger_of(reviews)
    data, changed = _edited_queue(downloads.data(at, "review_download"), {2: "ASHA RAO", 3: "MUMBAI"}, 4)
    at.file_uploader[0].set_value(("review-queue.xlsx", data, XLSX)).run()
    assert not at.exception, [e.value for e in at.exception]
    diff = frame_with(at, "Your file")
    assert list(diff.columns) == ["Row", "Document", "Field", "Now", "Your file"]
    assert sorted(diff["Your file"]) == ["ASHA RAO", "MUMBAI"]
    assert {(r.Document, r.Field) for r in diff.itertuples()} == {changed[2], changed[3]}
    refused = frame_with(at, "Why")
    assert list(refused["Row"]) == [4] and "formula" in refused["Why"][0]
    assert "Nothing is saved until you press Apply" in texts(at, "markdown")
    assert ledger.review_counts().done == 0  # checked, not applied
    # Meanwhile Ravi reviews the document of row 3: applying must not overwrite his decision.
    late = row_of(ledger, changed[3][0])
    ravi = ledger.claim_next_review("Ravi", POLICY, exclude=[d for d in range(1, DOCUMENTS + 1) if d != late])
    assert ravi is not None and ravi.document == late
    ledger.decide_review(late, "Ravi", "confirm", version=ravi.version)
    at.button(key="review_apply").click().run()
    assert "Applied 1 change(s) to 1 document(s)" in texts(at, "warning")
    assert "1 cell(s) were not applied" in texts(at, "warning")
    applied = ledger.review_item(row_of(ledger, changed[2][0]), POLICY)
    assert (applied.state, applied.decided_by, applied.corrections) == (S.CORRECTED, "Asha", {changed[2][1]: "ASHA RAO"})
    kept = ledger.review_item(late, POLICY)
    assert (kept.state, kept.decided_by, kept.corrections) == (S.CONFIRMED, "Ravi", {})
    assert frame_with(at, "Your file") is None  # a fresh uploader: the file is not offered again


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"document_id,file_url\nD1,https://x/1.jpg\n", "not an Excel workbook"),  # a CSV renamed .xlsx
        (None, "not a review queue export"),  # a workbook of something else
    ],
)
def test_a_file_that_is_not_a_review_queue_is_refused_in_words(reviews, monkeypatch, data, said):
    if data is None:
        book = openpyxl.Workbook()
        book.active.append(["Applicant Ref", "name"])
        book.active.append(["A-1", "ASHA"])
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    at = open_review(reviews, monkeypatch)
    at.file_uploader[0].set_value(("queue.xlsx", data, XLSX)).run()
    assert not at.exception, [e.value for e in at.exception]
    message = texts(at, "error")
    assert said in message and "Something went wrong" not in message
    assert frame_with(at, "Your file") is None


def test_a_signed_in_reviewer_decides_under_their_email(reviews, monkeypatch):
    email = "meera@bank.example"
    at = open_app(
        reviews, monkeypatch, "Review", user={"is_logged_in": True, "email": email},
        allowed_domains=["bank.example"],
    )  # fmt: skip
    assert not [t for t in at.text_input if t.key == "reviewer_input"]  # no name to type
    doc = shown_document(at)
    at.button(key="review_confirm").click().run()
    ledger = ledger_of(reviews)
    assert ledger.review_item(row_of(ledger, doc), POLICY).decided_by == email


def test_going_back_to_a_corrected_document_keeps_its_correction(reviews, monkeypatch):
    """Previous shows the corrected value; confirming again keeps it, Atlas's value back drops it."""
    at = open_review(reviews, monkeypatch)
    ledger = ledger_of(reviews)
    doc = shown_document(at)
    box = next(t for t in at.text_input if t.key and t.key.startswith("review_field_"))
    atlas_value, key = box.value, box.key
    box.input("FIXED BY ASHA")
    at.button(key="review_confirm").click().run()
    at.button(key="review_previous").click().run()
    assert shown_document(at) == doc
    assert at.text_input(key=key).value == "FIXED BY ASHA"
    at.button(key="review_confirm").click().run()  # confirmed again, nothing typed
    item = ledger.review_item(row_of(ledger, doc), POLICY)
    assert (item.state, list(item.corrections.values())) == (S.CORRECTED, ["FIXED BY ASHA"])
    at.button(key="review_previous").click().run()
    at.text_input(key=key).input(atlas_value)
    at.button(key="review_confirm").click().run()
    item = ledger.review_item(row_of(ledger, doc), POLICY)
    assert (item.state, item.corrections) == (S.CONFIRMED, {})
