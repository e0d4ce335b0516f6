"""What the receiving server verified about a sender (RFC 8601 Authentication-Results). Pure.

We believe only the results our own receiving server added: headers whose authserv-id is
`SOPORTE_TRUSTED_AUTHSERV_ID`, among those at the top of the message, above the first
`Received` line (the server prepends its results above its own hop; anything below came
with the message and may be forged). Unset: we believe none.

PASS: dmarc=pass, or dkim=pass signed by the From domain (or its parent: relaxed
alignment), or spf=pass for an envelope of the From domain. FAIL: no pass, and a dmarc,
dkim or spf result of fail. Otherwise NONE (nothing verified either way).
"""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from enum import StrEnum


class SenderCheck(StrEnum):
    PASS = "pass"  # nosec B105  # an authentication verdict (RFC 8601), not a password
    FAIL = "fail"
    NONE = "none"


_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)((?:[^;]*))", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.d|header\.i|header\.from|smtp\.mailfrom)\s*=\s*([^\s;]+)", re.I)
_COMMENT = re.compile(r"\([^()]*\)")


def trusted_results(raw: bytes, authserv_id: str | None) -> list[str]:
    """The Authentication-Results our receiving server added (their text after the id)."""
    if not authserv_id:
        return []
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:200_000]).items()
    found: list[str] = []
    for name, value in headers:
        lowered = name.strip().lower()
        if lowered == "received":
            break
        if lowered != "authentication-results":
            continue
        text = _COMMENT.sub(" ", " ".join(str(value).split()))
        serv, _, rest = text.partition(";")
        if serv.strip().split(" ")[0].lower() == authserv_id.strip().lower():
            found.append(rest)
    return found


def _domain_of(value: str) -> str:
    return value.strip().strip("<>\"'").rpartition("@")[2].lower().rstrip(".")


def _aligned(domain: str, from_domain: str) -> bool:
    return bool(domain) and (from_domain == domain or from_domain.endswith("." + domain))


def sender_check(raw: bytes, authserv_id: str | None, from_address: str) -> SenderCheck:
    """PASS, FAIL or NONE for the From address, by our receiving server's own results."""
    from_domain = _domain_of(from_address)
    failed = False
    for results in trusted_results(raw, authserv_id):
        for method, result, props in _RESULT.findall(results):
            method, result = method.lower(), result.lower()
            values = {key.lower(): _domain_of(value) for key, value in _PROPERTY.findall(props)}
            if result == "fail":
                failed = True
            if result != "pass" or not from_domain:
                continue
            if method == "dmarc" and values.get("header.from", from_domain) == from_domain:
                return SenderCheck.PASS
            signer = values.get("header.d") or values.get("header.i", "")
            if method == "dkim" and _aligned(signer, from_domain):
                return SenderCheck.PASS
            if method == "spf" and values.get("smtp.mailfrom") == from_domain:
                return SenderCheck.PASS
    return SenderCheck.FAIL if failed else SenderCheck.NONE
