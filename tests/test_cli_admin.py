"""`soporte admin create-token`, run as an operator runs it on a cluster (a subprocess),
then the token used on the API: the first admin of a fresh database, and later tokens."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from temporalio.testing import WorkflowEnvironment

from soporte.db.migrate import sync_url
from soporte.settings import load_settings
from tests.api_support import backends, bearer, database, running_api

ADMIN_EMAIL = "primera.admin@btw.com.co"


@pytest.fixture(params=backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def soporte(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPORTE_")}
    env.update(SOPORTE_DATABASE_URL=url, SOPORTE_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "launcher.cli", "admin", "create-token", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr


def stored(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


async def test_first_admin_of_a_fresh_cluster_then_its_token_works(
    db_url: str, tmp_path: Path, dev_env: WorkflowEnvironment
):
    refused = soporte(db_url, tmp_path, ADMIN_EMAIL)
    one_line_refusal(refused, "not a staff member", "--create-admin")
    one_line_refusal(soporte(db_url, tmp_path, "--create-admin", ADMIN_EMAIL), "--name")

    created = soporte(db_url, tmp_path, "--create-admin", ADMIN_EMAIL, "--name", "Primera Admin")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert len(token) >= 40 and "\n" not in token
    assert "shown once" in created.stderr and "created" in created.stderr
    assert token not in created.stderr

    # Only the digest is kept.
    rows = stored(db_url, "SELECT digest, principal_email, kind FROM api_tokens")
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), ADMIN_EMAIL, "staff")]

    # A cluster's API has no bootstrap token: the new one is an admin's all the same.
    settings = load_settings(
        data_dir=tmp_path,
        database_url=db_url,
        temporal_address=dev_env.client.service_client.config.target_host,
        admin_token=None,
    )
    async with running_api(dev_env, settings, worker=False) as api:
        me = await api.ok("GET", "/api/v1/me", headers=bearer(token))
        assert me["email"] == ADMIN_EMAIL and me["roles"] == ["admin"]
        await api.ok(
            "POST", "/api/v1/staff", 201, headers=bearer(token),
            json={"name": "Ing", "email": "ing@btw.com.co", "roles": ["engineer"]},
        )
        audit = await api.ok("GET", "/api/v1/audit", headers=bearer(token))
        lines = [(e["action"], e["actor"].split(":")[0]) for e in reversed(audit["items"])]
        assert lines == [
            ("staff_created", "cli"),
            ("token_issued", "cli"),
            ("staff_created", ADMIN_EMAIL),
        ]

        # A second token for a staff member needs no flag; each one is new.
        second = soporte(db_url, tmp_path, "ing@btw.com.co")
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() != token
        me = await api.ok("GET", "/api/v1/me", headers=bearer(second.stdout.strip()))
        assert me["roles"] == ["engineer"]


def test_contacts_and_inactive_staff_get_no_token_here(db_url: str, tmp_path: Path):
    engine = create_engine(sync_url(db_url))
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO clients (nit, name, active, created_at) "
                 "VALUES ('900373115-8', 'C', true, CURRENT_TIMESTAMP)")
        )
        connection.execute(
            text("INSERT INTO contacts (email, client_nit, name, phone, active, created_at) "
                 "VALUES ('c@cliente.co', '900373115-8', 'C', '', true, CURRENT_TIMESTAMP)")
        )
        connection.execute(
            text("INSERT INTO staff (email, name, roles, active, created_at) "
                 "VALUES ('ido@btw.com.co', 'Ido', '[\"engineer\"]', false, CURRENT_TIMESTAMP)")
        )
    engine.dispose()
    one_line_refusal(soporte(db_url, tmp_path, "c@cliente.co"), "contact", "POST /api/v1/tokens")
    one_line_refusal(soporte(db_url, tmp_path, "ido@btw.com.co"), "inactive")
    assert stored(db_url, "SELECT count(*) FROM api_tokens") == [(0,)]


def test_an_unmigrated_database_is_said_in_one_line(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    one_line_refusal(soporte(url, tmp_path, ADMIN_EMAIL), "soporte migrate")


def test_create_admin_on_an_existing_engineer_adds_the_role(db_url: str, tmp_path: Path):
    engine = create_engine(sync_url(db_url))
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO staff (email, name, roles, active, created_at) "
                 "VALUES ('eng@btw.com.co', 'Eng', '[\"engineer\"]', true, CURRENT_TIMESTAMP)")
        )
    engine.dispose()
    made = soporte(db_url, tmp_path, "--create-admin", "eng@btw.com.co")
    assert made.returncode == 0, made.stderr
    assert "made admin" in made.stderr and "admin, engineer" in made.stderr
    [(roles,)] = stored(db_url, "SELECT roles FROM staff WHERE email = 'eng@btw.com.co'")
    assert (json.loads(roles) if isinstance(roles, str) else roles) == ["admin", "engineer"]
    actions = stored(db_url, "SELECT action, actor FROM audit_log ORDER BY id")
    assert [a for a, _ in actions] == ["staff_updated", "token_issued"]
    assert all(actor.startswith("cli") for _, actor in actions)
