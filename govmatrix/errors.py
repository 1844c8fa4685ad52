"""The exception tree. Third-party exceptions are translated into these at the edges.

MatrixError
 +-- ConfigError
 +-- StoreError
 +-- CrawlError
      +-- FetchError
      |    +-- RateLimited
      |    +-- LoginRequired
      +-- ParseError
"""

from __future__ import annotations


class MatrixError(Exception):
    """Base of every error govmatrix raises on purpose."""


class ConfigError(MatrixError):
    """A settings file or value is wrong; the message names the file and the key path."""


class StoreError(MatrixError):
    """The store cannot be read or written (locked, full, read-only, unreachable, not initialised).

    Not a crawl failure: a pass that meets it stops, releases what it holds and says why in one line.
    """


class CrawlError(MatrixError):
    """Something went wrong while crawling one account.

    Messages start with the platform and the account, for example
    ``weibo 1234567890: rate limited (HTTP 418), retry in 600 s``.
    """

    def __init__(self, message: str, *, platform: str = "", account: str = "") -> None:
        prefix = " ".join(p for p in (platform, account) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.platform = platform
        self.account = account
        self.reason = message


class FetchError(CrawlError):
    """The network or the remote server failed (timeouts, 5xx, truncated bodies)."""

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        account: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, platform=platform, account=account)
        self.status = status
        self.retry_after = retry_after


class RateLimited(FetchError):
    """The platform asked us to slow down (HTTP 418/429, quota errors); back off."""


class LoginRequired(FetchError):
    """The platform wants a login, a fresh cookie or a captcha solved (HTTP 432, ok:-100, 40001)."""


class ParseError(CrawlError):
    """A payload did not have the expected shape (malformed or truncated JSON, unknown HTML)."""
