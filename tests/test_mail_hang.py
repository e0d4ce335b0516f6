"""An SMTP server that takes connections and never answers (hung, or a firewall swallowing
the session) does not hold commands: they are answered by the workflow within
COMMAND_BOUND (200, not 202), and the mail stays owed, retried in a queued activity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from soporte.db.models import OutboundMail
from soporte.db.session import create_engine, create_sessionmaker
from tests.api_support import Api, eventually, module_api
from tests.stack_support import black_hole


@pytest.fixture(scope="module", params=["sqlite"])
async def hung(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Api]:
    with ExitStack() as hole:
        smtp_url = f"smtp://127.0.0.1:{hole.enter_context(black_hole())}"
        async with module_api(request, dev_env, tmp_path_factory, smtp_url=smtp_url) as api:
            try:
                yield api
            finally:
                hole.close()  # its connections reset: the worker's retries end at once


async def unsent(api: Api, number: int) -> list[str]:
    engine = create_engine(api.settings.effective_database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(OutboundMail.id).where(
                    OutboundMail.number == number, OutboundMail.sent_at.is_(None)
                )
            )
            return list(rows)
    finally:
        await engine.dispose()


async def test_commands_are_answered_while_the_smtp_server_hangs(hung: Api) -> None:
    api = hung
    nit = await api.client("900777001", "Cerámicas del Sur")
    contact = await api.contact(nit, "eva@ceramicas.co", "Eva")
    engineer = await api.staff("hugo@btw.com.co", ["engineer"], "Hugo")
    number = (await api.open_ticket(contact))["number"]
    path = f"/api/v1/tickets/{number}"
    await eventually(
        lambda: api.ok("GET", path, headers=engineer), lambda t: t["assignee"] is not None
    )
    # Each command's step owes mail to the client; the SMTP server never answers it.
    asked = await api.ok(
        "POST", f"{path}/request-info", json={"body": "¿Qué versión usa?"}, headers=engineer
    )
    assert asked["status"] == "waiting_on_client"
    answered = await api.ok("POST", f"{path}/messages", json={"body": "La 8.2"}, headers=contact)
    assert answered["number"] == number
    owed = " ".join(await unsent(api, number))
    assert "acknowledgement" in owed and "request_info" in owed, owed
