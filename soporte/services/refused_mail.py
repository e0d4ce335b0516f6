"""Refused mail is kept for staff to look at, but not without bound: each message's raw
bytes are cut at `max_bytes` (a marker says how much was kept), and rows older than
`max_age` or beyond the newest `max_rows` are deleted whenever another is kept.

A refused message may be up to the SMTP limit (25 MB) and comes from anyone: kept whole
and forever, refusals alone could fill the disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from soporte.db.mail_models import RefusedMail


@dataclass(frozen=True)
class RefusedMailLimits:
    max_bytes: int = 256 * 1024
    max_age: timedelta = timedelta(days=90)
    max_rows: int = 10_000


LIMITS = RefusedMailLimits()


def kept_raw(raw: bytes, limit: int) -> bytes:
    if len(raw) <= limit:
        return raw
    marker = f"\r\n[soporte: refused message cut, {limit} of {len(raw)} bytes kept]\r\n"
    return raw[:limit] + marker.encode()


async def keep_refused(
    session: AsyncSession, row: RefusedMail, limits: RefusedMailLimits = LIMITS
) -> None:
    """Add `row` (its raw bytes capped) and expire what is too old or too many."""
    row.raw = kept_raw(row.raw, limits.max_bytes)
    await session.execute(
        delete(RefusedMail).where(RefusedMail.received_at < row.received_at - limits.max_age)
    )
    newest_kept = (
        select(RefusedMail.id)
        .order_by(RefusedMail.id.desc())
        .offset(limits.max_rows - 2)  # with `row`, `max_rows` remain
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(delete(RefusedMail).where(RefusedMail.id < newest_kept))
    session.add(row)
