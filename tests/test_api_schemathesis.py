"""Every operation of the OpenAPI document, driven by schemathesis through the real ASGI app over a
real database (tests/web_support.py): no 5xx, and every answer conforms to the document (status code
documented, content type, body schema), undeclared methods get 405 with Allow. Derandomized and
bounded (a few examples per operation), so a run is reproducible and takes seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckContext
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

import web_support as ws
from minerwatch.web.app import create_app

# The document does not depend on the data: it is read, over ASGI, from an app whose database does
# not exist (collection must not build one); each request then goes to the app over the real data.
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", create_app(Path("not-read-for-the-schema.duckdb")))

# Errors a request that fits the document can still get, because what is valid depends on another
# parameter or on the stored data, which OpenAPI cannot say: a cohort for a series that has none, a
# pool series without a pool cohort, a pool or label that nothing stored matches.
DEPENDENT_REFUSALS = ("has no cohorts", "this series needs a pool cohort", "no stored block is attributed to pool",
                      "no label names the entity")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(ws.shared_db(tmp_path_factory))


def positive_data_accepted(ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """schemathesis' positive_data_acceptance, except for the refusals in DEPENDENT_REFUSALS."""
    try:
        positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        error = response.json().get("error", "") if response.status_code == 400 else ""
        if not any(phrase in error for phrase in DEPENDENT_REFUSALS):
            raise


def hints_speak_http(ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A hint in an answer to a client's mistake names the parameter or path, never a command-line flag."""
    if 400 <= response.status_code < 500:
        hint = response.json().get("hint", "")
        assert " --" not in hint and not hint.startswith("--"), f"the hint names a command-line flag: {hint!r}"


@SCHEMA.parametrize()
@settings(max_examples=15, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented(case: schemathesis.Case, app: FastAPI) -> None:
    case.call_and_validate(app=app, excluded_checks=[positive_data_acceptance],
                           additional_checks=[positive_data_accepted, hints_speak_http])
