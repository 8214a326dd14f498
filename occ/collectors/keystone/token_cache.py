"""Where and for how long a Keystone token is reused (doc/compatibility.rst, "Token cache").

A login (token, expiry, catalog) is stored as a small 0600 JSON state file, keyed by the
SHA-256 of the auth URL, user and project, so heat and zaqar configured with the same
credentials share one token. With ``[keystone] cache_dir`` set the file lives there; otherwise
in occ's state directory next to the sources' own state. A stored login is reused until
``min(expires_at - EXPIRY_MARGIN, stored_at + cache_ttl)``. Pure apart from ``token_cache``.
"""

from __future__ import annotations

import math

from occ.core.digest import sha256_hex
from occ.core.state import State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from occ.records import NamedTuple

# A token this close to its expiry is not reused: it could run out in the middle of a pass
# (a pass may take up to [DEFAULT] pass_timeout, 240 s by default).
EXPIRY_MARGIN = 300.0


class Credentials(NamedTuple):
    """The Keystone v3 password credentials of one source. ``repr`` hides the password."""

    auth_url: str
    user_id: str
    password: str
    project_id: str

    def __repr__(self) -> str:
        return f"Credentials({self.auth_url!r}, user {self.user_id!r}, project {self.project_id!r})"


class Login(NamedTuple):
    """A token with its catalog; ``expires_at`` in seconds since the epoch, if known."""

    token: str
    catalog: list[Any]
    expires_at: float | None
    cached: bool = False  # True when it came from the token cache


def cache_owner(credentials: Credentials) -> str:
    """Return the state owner name for ``credentials``: ``keystone-<sha256>``."""
    parts = (credentials.auth_url, credentials.user_id, credentials.project_id)
    # Each part ends in NUL, so "ab" + "c" and "a" + "bc" differ.
    return "keystone-" + sha256_hex(*(part.encode("utf-8") + b"\0" for part in parts))


def token_cache(state: State, cache_dir: str | None, credentials: Credentials) -> State:
    """Return the state that caches logins for ``credentials``: in ``cache_dir`` if set,
    else beside ``state``. It is read-only whenever ``state`` is (print mode)."""
    owner = cache_owner(credentials)
    if cache_dir:
        return State(cache_dir, owner, writable=state.writable)
    return state.child(owner)


def to_entry(login: Login, now: float) -> dict[str, Any]:
    """Return the stored form of a fresh ``login`` obtained at ``now``."""
    return {
        "token": login.token,
        "expires_at": login.expires_at,
        "stored_at": now,
        "catalog": login.catalog,
    }


def from_entry(entry: dict[str, Any], now: float, ttl: float) -> Login | None:
    """Return the login stored in ``entry`` if it may still be used at ``now``, else None.

    It may be used if it is well-formed, was stored no later than ``now`` (a clock that went
    backwards invalidates it), less than ``ttl`` seconds ago, and ``now`` is more than
    ``EXPIRY_MARGIN`` seconds before its expiry. A login without a known expiry is never reused.
    """
    token, catalog = entry.get("token"), entry.get("catalog")
    expires_at, stored_at = _number(entry.get("expires_at")), _number(entry.get("stored_at"))
    if not isinstance(token, str) or not token or not isinstance(catalog, list):
        return None
    if expires_at is None or stored_at is None:
        return None
    if not stored_at <= now < min(expires_at - EXPIRY_MARGIN, stored_at + ttl):
        return None
    return Login(token, catalog, expires_at, cached=True)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
