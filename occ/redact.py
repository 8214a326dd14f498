"""Keeping secrets out of logs and error messages.

Two layers. Known secret values (passwords and keys from the configuration, tokens obtained at
run time) are registered once and replaced wherever they appear in a log record. Secret-bearing
parts of URLs and headers (``Signature=``, ``AWSAccessKeyId=``, ``temp_url_sig=``,
``X-Auth-Token`` ...) are masked by pattern even when their value was never registered. Only the
logged copy is redacted; requests always carry the real values.
"""

from __future__ import annotations

MASK = "***"

# Query parameters that carry credentials or signatures (AWS SigV2/V4, Swift temp URLs).
SECRET_QUERY_PARAMETERS = (
    "Signature",
    "AWSAccessKeyId",
    "temp_url_sig",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "sig",
    "token",
)
# Headers whose values are credentials.
SECRET_HEADERS = frozenset(
    {
        "x-auth-token",
        "x-subject-token",
        "x-aws-ec2-metadata-token",
        "authorization",
        "x-amz-security-token",
        "cookie",
        "set-cookie",
    }
)

# Every name either pattern can match, lower-cased: text containing none of them (most URLs
# and messages) needs no regular expression, so a pass that never logs a secret-looking line
# never imports ``re`` or compiles a pattern (doc/performance.rst).
_NAMES = tuple(sorted({p.lower() for p in SECRET_QUERY_PARAMETERS} | SECRET_HEADERS))


_built: list[tuple[str, str]] = []


def _patterns() -> tuple[str, str]:
    """Return the query-parameter and header patterns, built once (``re`` caches them
    compiled)."""
    if _built:
        return _built[0]
    import re

    query = r"(?i)([?&;](?:{})=)[^&#\s'\"]*".format(
        "|".join(re.escape(p) for p in SECRET_QUERY_PARAMETERS)
    )
    header = r"(?i)\b({})(['\"]?\s*[:=]\s*['\"]?)[^\s'\",}}]+".format(
        "|".join(re.escape(h) for h in sorted(SECRET_HEADERS))
    )
    _built.append((query, header))
    return query, header


_registered: set[str] = set()


def register(secret: object) -> None:
    """Remember a secret value so that it is masked in every later log record.

    Values shorter than four characters are not registered: masking them would garble
    unrelated text, and they are not worth protecting by substitution anyway.
    """
    if isinstance(secret, str) and len(secret) >= 4:
        _registered.add(secret)


def redact(text: str) -> str:
    """Return ``text`` with registered secrets and secret URL/header values masked."""
    for secret in sorted(_registered, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    lowered = text.casefold()  # as wide as the patterns' (?i): "ſig" is "sig" to them
    if not any(name in lowered for name in _NAMES):
        return text
    import re

    query, header = _patterns()
    text = re.sub(query, lambda m: m.group(1) + MASK, text)
    return re.sub(header, lambda m: m.group(1) + m.group(2) + MASK, text)
