"""occ.urls answers as urllib.parse does, for any URL, and without it for plain ones."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse

import hypothesis
import hypothesis.strategies as st

from occ import urls
from tests.conftest import REPO

_SCHEMES = st.sampled_from(["http", "https", "HTTPS", "h2+x.y-z", "1http", "ht tp", "", "é"])
_SEPARATORS = st.sampled_from(["://", ":/", ":", "//", ":///", ""])
_HOST_CHARS = "abcXYZ019.-_:@[]%!~ \t\\é"
_REST_CHARS = "abz09/?#&=%;:@[]!$'()*+,-._~ \t\r\n\\\x00é"


@st.composite
def _urls(draw: st.DrawFn) -> str:
    host = draw(st.text(alphabet=_HOST_CHARS, max_size=12))
    port = draw(st.sampled_from(["", ":", ":80", ":8000", ":65535", ":65536", ":0", ":x", ":1:2"]))
    rest = draw(st.text(alphabet=_REST_CHARS, max_size=20))
    lead = draw(st.sampled_from(["", " ", "\t", "\x00"]))
    return lead + draw(_SCHEMES) + draw(_SEPARATORS) + host + port + rest


def _answers(parts: object) -> tuple[object, ...]:
    try:
        port: object = parts.port  # type: ignore[attr-defined]
    except ValueError as exc:
        port = ("ValueError", str(exc))
    return (
        parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment,  # type: ignore[attr-defined]
        parts.hostname, parts.username, parts.password, port,  # type: ignore[attr-defined]
    )  # fmt: skip


def _same_split(url: str) -> None:
    try:
        expected = _answers(urllib.parse.urlsplit(url))
    except ValueError as exc:
        try:
            urls.split(url)
        except ValueError as mine:
            assert str(mine) == str(exc)
            return
        raise AssertionError(f"{url!r}: urlsplit refuses it ({exc}), split does not") from None
    assert _answers(urls.split(url)) == expected, url


@hypothesis.settings(max_examples=2000, deadline=None)
@hypothesis.given(_urls())
def test_split_answers_as_urlsplit_for_generated_urls(url):
    _same_split(url)


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(st.text(max_size=30))
def test_split_answers_as_urlsplit_for_any_text(url):
    _same_split(url)


def test_split_answers_as_urlsplit_for_known_urls():
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://Heat.Example.COM:8004/v1/tenant/stacks/web/5c2a?x=1&y=%20#frag",
        "http://127.0.0.1:5000/v3/auth/tokens",
        "http://user:pw@host/", "http://[fe80::1%25eth0]:80/", "http://host:/p",
        "http://host:99999/", "http://host:８０/", "HTTP://HOST", "http://h/a?b#c?d",
        "http://h#?x", "http://h?#x", "mailto:x@y", "http:", "http://", "//host/path",
    ]:  # fmt: skip
        _same_split(url)


@hypothesis.settings(max_examples=1000, deadline=None)
@hypothesis.given(
    st.sampled_from(["http", "https", ""]),
    st.text(alphabet="ab:1[]@", max_size=6),
    st.text(alphabet="/ab?#%", max_size=8),
    st.text(alphabet="a=&?#", max_size=6),
    st.text(alphabet="ab#", max_size=4),
)
def test_join_answers_as_urlunsplit(scheme, netloc, path, query, fragment):
    expected = urllib.parse.urlunsplit((scheme, netloc, path, query, fragment))
    assert urls.join(scheme, netloc, path, query, fragment) == expected


@hypothesis.settings(max_examples=1000, deadline=None)
@hypothesis.given(st.text(max_size=20), st.sampled_from(["/", "", "!#$%&'()*+,/:;=?@[]~", "é"]))
def test_quote_answers_as_urllib_quote(text, safe):
    assert urls.quote(text, safe=safe) == urllib.parse.quote(text, safe=safe)


def test_plain_urls_are_split_joined_and_quoted_without_urllib_parse():
    code = (
        "import sys\n"
        "from occ import urls\n"
        "parts = urls.split('http://127.0.0.1:8004/v1/stacks/web?x=1')\n"
        "assert (parts.hostname, parts.port, parts.query) == ('127.0.0.1', 8004, 'x=1')\n"
        "assert urls.join('http', 'h:1', 'p', 'q', '') == 'http://h:1/p?q'\n"
        "assert urls.quote('web-stack_1') == 'web-stack_1'\n"
        "print(sorted({'urllib.parse', 're', 'ipaddress'} & set(sys.modules)))\n"
    )
    # -S: without site, whose hooks (an editable install's, coverage's) may load them first.
    run = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True, text=True, env={"PYTHONPATH": str(REPO)}, check=True,
    )  # fmt: skip
    assert run.stdout.strip() == "[]"
