"""Rate limits on failed authentication, per client IP and per token prefix.

Each API process counts the failures of the last `window` seconds in memory; over the
limit, every authentication from that IP (or with that token prefix) is refused with 429
and `Retry-After` until the oldest counted failure leaves the window. A legitimate caller
behind the same address waits as long: the price of not letting guesses through.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field

from soporte.services.errors import ServiceError

log = logging.getLogger("soporte.auth")

PREFIX_LENGTH = 8
MAX_KEYS = 10_000


class TooManyFailures(ServiceError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class FailureLimiter:
    per_ip: int = 20
    per_prefix: int = 10
    window: float = 60.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def check(self, ip: str, token: str, now: float | None = None) -> None:
        """Raise TooManyFailures while `ip` or the token's prefix is over its limit."""
        now = time.monotonic() if now is None else now
        for key, limit in ((f"ip:{ip}", self.per_ip), (_prefix_key(token), self.per_prefix)):
            recent = self._recent(key, now)
            if len(recent) >= limit:
                retry_after = max(1, math.ceil(recent[0] + self.window - now))
                log.warning(
                    "authentication refused for %s: %d failures in %.0fs (retry after %ds)",
                    key,
                    len(recent),
                    self.window,
                    retry_after,
                )
                raise TooManyFailures(
                    f"too many failed authentications from this {key.split(':')[0]}; "
                    f"retry after {retry_after}s",
                    retry_after,
                )

    def failed(self, ip: str, token: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        prefix = _prefix_key(token)
        log.warning("failed authentication from ip %s with token %s...", ip, prefix[7:])
        if len(self._failures) > MAX_KEYS:
            self._failures = {k: v for k, v in self._failures.items() if self._recent(k, now)}
        for key in (f"ip:{ip}", prefix):
            self._failures.setdefault(key, deque()).append(now)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.get(key, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent


def _prefix_key(token: str) -> str:
    return "prefix:" + token[:PREFIX_LENGTH].encode("unicode_escape").decode()
