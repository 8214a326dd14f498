"""IMDSv2 session tokens for the ec2 collector (doc/compatibility.rst, "IMDSv2").

``TokenSession`` fetches metadata nodes under one of three policies (``[ec2] imdsv2``):

* ``off``: plain GETs, as the original and Nova's EC2-compatible service expect;
* ``auto`` (default): ``PUT /latest/api/token`` once, with a short timeout and no retries,
  because a hop limit drops the answer and that looks like a hang; on any failure, fall back to
  plain GETs with one warning (``MESSAGE_IMDSV2_FALLBACK``), so Nova keeps working;
* ``required``: the token must be obtained; no fallback.

A 401 during the walk means the token expired (or the service started requiring one): the
token is requested again, once per walk, shared by all concurrent fetches. Tokens are
registered with ``occ.redact`` so they never appear in logs.
"""

from __future__ import annotations

import threading

from occ import redact, urls
from occ.errors import SourceUnavailable
from occ.http import headers
from occ.log import lazy, logfields

TYPE_CHECKING = False

if TYPE_CHECKING:  # occ.http.client imports requests: a cached ec2.json must not need it
    from occ.http.client import Http, Response

LOG = lazy.logger(__name__)

TOKEN_PATH = "/latest/api/token"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_TTL = 21600  # seconds; the maximum EC2 allows, and a token never outlives the pass
AUTO_TOKEN_TIMEOUT = 2.0  # seconds; a dropped answer must not delay Nova users by long
SOURCE = "ec2"


class TokenSession:
    """Metadata GETs with the IMDSv2 policy applied. ``fetch`` is safe to call from threads."""

    def __init__(self, http: Http, metadata_url: str, *, policy: str, timeout: float) -> None:
        parts = urls.split(metadata_url)
        self.token_url = urls.join(parts.scheme, parts.netloc, TOKEN_PATH, "", "")
        self.http = http
        self.policy = policy
        self.timeout = timeout
        self._lock = threading.Lock()
        self._token: str | None = None
        self._generation = 0  # bumped whenever the token is replaced
        self._renewed = False

    def start(self) -> None:
        """Obtain the first token as the policy says.

        Raise SourceUnavailable if the policy is ``required`` and no token can be had.
        """
        if self.policy == "off":
            return
        try:
            self._token = self._request_token()
        except SourceUnavailable as exc:
            if self.policy == "required":
                raise SourceUnavailable(
                    f"IMDSv2 is required ([ec2] imdsv2 = required) but no token was issued: {exc}",
                    http_status=exc.http_status,
                ) from None
            LOG.warning(
                "ec2: no IMDSv2 session token (%s); continuing without one (IMDSv1). "
                "Set [ec2] imdsv2 = off to skip the attempt.",
                exc,
                extra=logfields.fields(
                    collector=SOURCE,
                    http_status=exc.http_status,
                    message_id=logfields.MESSAGE_IMDSV2_FALLBACK,
                ),
            )

    def fetch(self, url: str) -> str:
        """Return the body of the metadata node at ``url`` as text.

        Raise SourceUnavailable on any failure, including a 401 that a new token does not cure.
        """
        with self._lock:
            token, generation = self._token, self._generation
        response = self._get(url, token)
        if response.status == 401 and self.policy != "off":
            response = self._get(url, self._renew(generation, response))
        if response.status == 401:
            raise SourceUnavailable(f"{response.what()}: HTTP 401 Unauthorized", http_status=401)
        if url.endswith("/") and "html" in response.headers.get("Content-Type", "").lower():
            # A web page is no listing: walking its lines would request nonsense paths.
            raise SourceUnavailable(
                f"{response.what()}: got an HTML page instead of a metadata listing",
                http_status=response.status,
            )
        return response.text

    def _get(self, url: str, token: str | None) -> Response:
        headers = {TOKEN_HEADER: token} if token else None
        return self.http.get(
            url, source=SOURCE, timeout=self.timeout, headers=headers, accept=(401,)
        )

    def _renew(self, generation: int, refused: Response) -> str:
        """Return a token newer than ``generation``, requesting one if nobody has yet."""
        with self._lock:
            if self._generation != generation and self._token:
                return self._token  # another fetch already renewed it
            if self._renewed:
                raise SourceUnavailable(
                    f"{refused.what()}: HTTP 401 Unauthorized even with a new IMDSv2 token",
                    http_status=401,
                )
            self._renewed = True
            try:
                self._token = self._request_token()
            except SourceUnavailable as exc:
                raise SourceUnavailable(
                    f"{refused.what()}: HTTP 401 Unauthorized, and no IMDSv2 token: {exc}",
                    http_status=401,
                ) from None
            self._generation += 1
            LOG.info("ec2: the metadata service refused the request; got a new IMDSv2 token")
            return self._token

    def _request_token(self) -> str:
        """Return a new token. Raise SourceUnavailable if the service does not issue one."""
        auto = self.policy == "auto"
        response = self.http.request(
            "PUT",
            self.token_url,
            source=SOURCE,
            timeout=min(self.timeout, AUTO_TOKEN_TIMEOUT) if auto else self.timeout,
            headers={TTL_HEADER: str(TOKEN_TTL)},
            retries=0 if auto else None,
        )
        token = response.text.strip()
        redact.register(token)  # before anything could show it
        if not token:
            raise SourceUnavailable(f"{response.what()}: no token in the answer")
        if not headers.valid_value(token):  # it goes into a header: \r or \n would split it
            raise SourceUnavailable(
                f"{response.what()}: the token in the answer holds control characters"
            )
        return token
