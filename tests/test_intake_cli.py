"""``python -m atlas_core validate``: the JSON shape, the summary, and exit codes 0 and 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import atlas_core.cli as cli
from atlas_core.cli import exitcodes

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def run(monkeypatch, capsys, tmp_path):
    """Run the real CLI entry point with only the validate command registered; (code, out, err)."""
    # Other rooms' command modules may not exist yet in this tree; validate needs none of them.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("validate",))
    monkeypatch.delenv("ATLAS_MAX_ROWS", raising=False)
    # No ledger file: no ID is already known (the default lookup never creates one).
    monkeypatch.setenv("ATLAS_DB_PATH", str(tmp_path / "no-ledger" / "ledger.sqlite"))

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_json_output(run):
    code, out, err = run("validate", str(CORPUS / "codes.csv"), "--json")
    assert code == exitcodes.OK == 0
    shape = json.loads(out)
    assert list(shape) == [
        "rows",
        "valid",
        "invalid",
        "warnings",
        "url_column",
        "id_column",
        "columns",
        "columns_guessed",
        "issues",
    ]
    assert shape["rows"] == shape["valid"] + shape["invalid"] == 23
    assert (shape["url_column"], shape["id_column"]) == ("url", "reference")
    assert {i["code"] for i in shape["issues"]} >= {"URL_MISSING", "ID_DUPLICATE", "URL_NOT_HTTP"}
    assert all(
        set(i) == {"row", "column", "value", "code", "severity", "message"} for i in shape["issues"]
    )
    assert err == ""


def test_summary_output(run):
    code, out, _ = run("validate", str(CORPUS / "title_rows.csv"))
    assert code == 0
    assert "header on row 4" in out
    assert "'S3 URL' (name)" in out and "'Doc ID' (name)" in out
    assert "3 rows:" in out


def test_summary_lists_the_first_problems(run):
    code, out, _ = run("validate", str(CORPUS / "codes.csv"))
    assert code == 0
    assert "URL_MISSING" in out and "ID_DUPLICATE" in out
    assert "... and" in out  # more problems than the table shows


def test_overrides_and_sheet(run):
    code, out, _ = run(
        "validate", str(CORPUS / "numbers_and_sheets.xlsx"), "--sheet", "Documents",
        "--url-column", "File URL", "--id-column", "Amount", "--json",
    )  # fmt: skip
    assert code == 0
    shape = json.loads(out)
    assert (shape["url_column"], shape["id_column"]) == ("File URL", "Amount")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("empty.csv",), "The file is empty."),
        (("password_protected.xlsx",), "password-protected"),
        (("binary_renamed.csv",), "binary data"),
        (("utf8_comma.csv", "--id-column", "nope"), "'document_id', 'file_url', 'customer'"),
        (("numbers_and_sheets.xlsx", "--sheet", "Missing"), "no sheet named 'Missing'"),
        (("does_not_exist.csv",), "cannot be opened"),
    ],
)
def test_unreadable_exits_2_with_the_reason_on_stderr(run, argv, words):
    code, out, err = run("validate", str(CORPUS / argv[0]), *argv[1:], "--json")
    assert code == exitcodes.UNREADABLE == 2
    assert out == ""
    assert err.startswith("error: ") and words in err
    assert "Traceback" not in err


def test_row_limit_from_settings(run, monkeypatch):
    monkeypatch.setenv("ATLAS_MAX_ROWS", "5")
    code, _, err = run("validate", str(CORPUS / "codes.csv"))
    assert code == 2 and "at most 5" in err


def test_problems_file_is_written(run, tmp_path):
    target = tmp_path / "fix-me.csv"
    code, _, _ = run("validate", str(CORPUS / "codes.csv"), "--problems-file", str(target))
    assert code == 0
    text = target.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == '"row","reference","url","expected_code","problems"'  # text quoted
    assert "[URL_MISSING]" in text


def test_known_ids_lookup_is_passed_in_and_adds_in_ledger_warnings(capsys, tmp_path, monkeypatch):
    from atlas_core.cli.validate import run_validate

    asked: list[list[str]] = []

    def known_ids_for(settings):
        assert settings.db_path == str(tmp_path / "ledger.sqlite")

        def known_ids(ids: list[str]) -> list[str]:
            asked.append(ids)
            return ["00124"]

        return known_ids

    monkeypatch.setenv("ATLAS_DB_PATH", str(tmp_path / "ledger.sqlite"))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("validate",))
    args = cli.build_parser().parse_args(["validate", str(CORPUS / "utf8_comma.csv"), "--json"])
    code = run_validate(args, known_ids_for=known_ids_for)
    out = capsys.readouterr().out
    assert code == 0
    in_ledger = [i for i in json.loads(out)["issues"] if i["code"] == "ID_IN_LEDGER"]
    assert [(i["row"], i["value"], i["severity"]) for i in in_ledger] == [(3, "00124", "warning")]
    assert sorted(asked[0]) == ["00123", "00124", "A-77", "R/2025/9"]


def test_json_says_how_each_column_was_found(run, tmp_path):
    sheet = tmp_path / "loans.csv"
    sheet.write_text(
        "Sr No,Applicant Ref,KYC Doc Link,Branch\n"
        "1,AP-77,https://x.example/1.jpg,Pune\n"
        "2,AP-12,https://x.example/2.jpg,Pune\n"
    )
    code, out, _ = run("validate", str(sheet), "--json")
    shape = json.loads(out)
    assert code == 0 and shape["columns_guessed"] is False
    assert shape["columns"]["id"]["column"] == "Applicant Ref"
    assert shape["columns"]["id"]["found_by"] == "name"
    assert shape["columns"]["url"] == {
        "column": "KYC Doc Link",
        "found_by": "name",
        "why": "its header 'KYC Doc Link' says it holds links",
    }
    serial_only = tmp_path / "serial.csv"
    serial_only.write_text("Sr No,where\n1,https://x.example/1.jpg\n2,https://x.example/2.jpg\n")
    shape = json.loads(run("validate", str(serial_only), "--json")[1])
    assert shape["columns_guessed"] is True
    assert shape["columns"]["id"]["found_by"] == "content"
    assert "serial number" in shape["columns"]["id"]["why"]
    assert shape["columns"]["url"]["found_by"] == "content"
    # The readable summary says so too.
    summary = run("validate", str(serial_only))[1]
    assert "guessed" in summary.lower() and "--id-column" in summary
