"""Deliberate settings: Streamlit's XSRF protection and upload limit, loopback by default, a
local page icon, no raw HTML from data, sign-in in front of every page, secrets out of git, and
dependencies pinned to what is tested."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from streamlit import config as streamlit_config

from atlas_core.config import DEFAULT_MAX_FILE_MB
from ui.access import listens_beyond_loopback

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
DASHBOARD_FILES = sorted(
    [ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
)
REQUIREMENT_FILES = sorted(ROOT.glob("requirements*.txt"))


def test_every_option_in_config_toml_is_one_streamlit_knows():
    # A misspelt option is silently ignored by Streamlit: the protection would be off unnoticed.
    known = set(streamlit_config._config_options_template)
    options = {f"{section}.{name}" for section, table in CONFIG.items() for name in table}
    assert options and options <= known, sorted(options - known)


def test_xsrf_protection_stays_on():
    assert CONFIG["server"]["enableXsrfProtection"] is True
    # Streamlit switches XSRF off again when CORS is disabled; both must stay on together.
    assert CONFIG["server"].get("enableCORS", True) is True


def test_the_upload_limit_is_set_and_matches_what_intake_accepts():
    assert CONFIG["server"]["maxUploadSize"] == DEFAULT_MAX_FILE_MB


def test_the_server_listens_on_loopback_only():
    # Without [auth] nobody signs in: only this machine may connect. Sharing is a deliberate
    # --server.address together with [auth] and an allow-list (README, "Who can reach it").
    assert CONFIG["server"]["address"] == "127.0.0.1"
    assert not listens_beyond_loopback(CONFIG["server"]["address"])


def test_the_page_icon_is_a_file_of_this_repo():
    # A ":material/...:" or emoji page icon makes the browser fetch it from a CDN.
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    config = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                  and ast.unparse(n.func) == "st.set_page_config")  # fmt: skip
    icon = next(k.value for k in config.keywords if k.arg == "page_icon")
    assert not isinstance(icon, ast.Constant), ast.unparse(icon)
    assert (ROOT / "ui" / "assets" / "page_icon.png").read_bytes().startswith(b"\x89PNG")


def test_error_details_are_not_shown_to_users():
    # A traceback on screen can carry a URL or a header: users see plain messages only.
    assert CONFIG["client"]["showErrorDetails"] in ("none", False)


def test_secrets_stay_out_of_git():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".streamlit/secrets.toml" in ignored
    assert (ROOT / ".streamlit" / "secrets.toml.example").exists()


def raw_html_calls(source: str) -> list[str]:
    """Calls that render raw HTML from something other than a string literal written in the code."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        html_on = any(k.arg == "unsafe_allow_html" and not (
            isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords)
        html_call = name.endswith(("st.html", "components.html", "v1.html")) or name == "html"
        if not (html_on or html_call):
            continue
        args = [*node.args, *(k.value for k in node.keywords if k.arg in ("body", "html"))]
        if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:120]}")
    return found


# ui/untrusted.py is the one module that renders raw HTML: an escaped <img> and a focus script
# naming a checked widget key (tested in tests/test_review_image.py and below).
@pytest.mark.parametrize("path", [p for p in DASHBOARD_FILES if p.name != "untrusted.py"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_feeds_data_to_raw_html(path):
    assert raw_html_calls(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("snippet", [
    "st.markdown(f'<b>{name}</b>', unsafe_allow_html=True)",
    "st.markdown(row['document_id'], unsafe_allow_html=flag)",
    "st.html(detail['file_data'])",
    "components.html(value, height=200)",
    "st.write(body, unsafe_allow_html=True)",
])
def test_the_raw_html_check_catches_data_fed_to_html(snippet):
    assert raw_html_calls(snippet) != []


@pytest.mark.parametrize("snippet", [
    "st.markdown('**Confirm**')",
    "st.markdown(untrusted.text(x))",
    "st.markdown('<br>', unsafe_allow_html=True)",
    "st.markdown(text, unsafe_allow_html=False)",
])
def test_the_raw_html_check_lets_plain_markdown_and_literals_pass(snippet):
    assert raw_html_calls(snippet) == []


def test_sign_in_is_checked_before_any_page_runs():
    # app.py is the one entry: require_sign_in() runs before st.navigation and page.run().
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    calls = [ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    order = [c for c in calls if c in ("auth.require_sign_in", "st.navigation", "page.run")]
    assert order == ["auth.require_sign_in", "st.navigation", "page.run"]
    # A pages/ folder beside app.py would be served as extra pages, around the gate.
    assert not (ROOT / "pages").exists()


def pinned_lines(path: Path) -> list[str]:
    """The requirement lines of a file (no comments, blanks or -r includes)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            lines.append(line)
    return lines


@pytest.mark.parametrize("path", REQUIREMENT_FILES, ids=lambda p: p.name)
def test_every_requirement_is_pinned_to_the_installed_version(path):
    lines = pinned_lines(path)
    assert lines
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line)
        assert match, f"{path.name}: {line!r} is not pinned with =="
        name, version = match.groups()
        assert importlib.metadata.version(name) == version, (
            f"{path.name}: {name} is pinned to {version} but {importlib.metadata.version(name)} "
            "is installed (the suite ran with the installed one)"
        )


@pytest.mark.parametrize("key", ['a"; alert(1); "', "x y", "", "k" * 121, "</script>"])
def test_the_focus_script_takes_only_a_widget_key(key):
    from ui import untrusted

    with pytest.raises(ValueError):
        untrusted.focus_input(key)


def test_the_html_module_renders_raw_html_only_through_its_two_helpers():
    source = (ROOT / "ui" / "untrusted.py").read_text(encoding="utf-8")
    assert len(raw_html_calls(source)) == 2  # image and focus_input, nothing else
