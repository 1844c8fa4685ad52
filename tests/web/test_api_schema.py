"""schemathesis against the API's own OpenAPI schema: no request it can make gets a 5xx.

It runs as a reviewer with an API token (so the review action is exercised, not only refused) over
a store with items, on SQLite; the desk's own tests cover both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from govmatrix.clock import Clock
from govmatrix.storage.repo import Repo
from govmatrix.web.app import create_app
from govmatrix.web.auth import new_token, token_hash

from .conftest import NOW

TOKEN = new_token()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"


def test_no_request_gets_a_server_error(repo: Repo, items: dict[str, int], settings: Any) -> None:
    repo.users.change("reviewer", NOW, token_hash=token_hash(TOKEN))
    app = create_app(settings, repo, Clock(fixed=NOW), secret="schema-test")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6  # feed, review, statistics, reports, status, me
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status_code < 500, f"{case.method} {case.formatted_path} {case.query}: {response.text[:300]}"

        call()
