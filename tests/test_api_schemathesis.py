"""Every operation of the OpenAPI document, driven by schemathesis through the real ASGI app over a
real database (tests/web_support.py): no 5xx, and every answer conforms to the document (status code
documented, content type, body schema), undeclared methods get 405 with Allow. Derandomized and
bounded (a few examples per operation), so a run is reproducible and takes seconds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

import web_support as ws
from minerwatch import store
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


@pytest.fixture(scope="module")
def empty_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app over a database that holds no block yet (as right after `minerwatch sync` starts)."""
    path = tmp_path_factory.mktemp("empty") / "minerwatch.duckdb"
    store.connect(path).close()
    return create_app(path)


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


@SCHEMA.parametrize()
@settings(max_examples=3, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_every_operation_over_an_empty_database_answers_as_documented(case: schemathesis.Case,
                                                                       empty_app: FastAPI) -> None:
    # Without blocks, what needs them is a documented 503 ("no blocks yet"): the one 5xx allowed here.
    response = case.call_and_validate(app=empty_app, excluded_checks=[positive_data_acceptance, not_a_server_error],
                                      additional_checks=[positive_data_accepted, hints_speak_http])
    assert response.status_code < 500 or (response.status_code, response.json()["error"]) == (503, "no blocks yet")


# Generated values mostly name nothing stored (a 404, or an empty list); these do, so that every
# operation's 200 answer is checked against its schema too. web_support writes height h with the
# hash printf('%064x', h).
STORED = {"name": "hashrate_ehs", "interval": "1w", "ref": "840000", "height": 840_000,
          "block_hash": f"{840_000:064x}", "start_height": 840_010}
MORE = [("/api/v1/series/{name}", {"name": "miner_reserve_btc"}, {"cohort": "pool:foundryusa", "interval": "all"}),
        ("/api/v1/series/{name}", {"name": "pool_share_pct"}, {"cohort": "pool:antpool", "max_points": 2}),
        ("/api/v1/series/{name}", {"name": "hashrate_ehs.csv"}, {}),
        ("/api/v1/series/{name}", {"name": "hashrate_ehs"}, {"format": "csv"}),
        ("/api/v1/chain/block/{ref}", {"ref": f"{857_279:064x}"}, {}),
        ("/api/v1/mining/pools/{interval}", {"interval": "all"}, {}),
        ("/api/v1/breakeven", {}, {"pue": 1.2, "pool_fee_pct": 2})]


# Answered from imported lake results, which the shared database has none of (a documented 404
# there): checked below over the constructed chain of tests/test_lake_entity_cohorts.py.
LAKE_PATHS = ("/api/v1/entities",)


def stored_cases() -> list[schemathesis.Case]:
    cases = []
    for result in SCHEMA.get_all_operations():
        op = result.ok()
        if op.path in LAKE_PATHS:
            continue
        cases.append(op.Case(path_parameters={k: STORED[k] for k in re.findall(r"{(\w+)}", op.path)}))
    cases += [SCHEMA[path]["GET"].Case(path_parameters=params, query=query) for path, params, query in MORE]
    return cases


@pytest.mark.parametrize("case", stored_cases(), ids=lambda c: f"{c.operation.path} {c.path_parameters} {c.query}")
def test_every_operation_answers_a_stored_thing_as_documented(case: schemathesis.Case, app: FastAPI) -> None:
    response = case.call_and_validate(app=app, additional_checks=[hints_speak_http])
    assert response.status_code == 200 and len(response.content) >= 6     # the shortest: a tip height


def test_lake_results_answer_as_documented(tmp_path_factory: pytest.TempPathFactory) -> None:
    from test_lake_entity_cohorts import build_imported

    app = create_app(build_imported(tmp_path_factory.mktemp("lake")))
    for path, params, query in [("/api/v1/entities", {}, {}), ("/api/v1/entities", {}, {"order": "scripts", "limit": 1}),
                                ("/api/v1/series/{name}", {"name": "miner_netflow_btc"}, {"cohort": "entity:1.0"})]:
        response = SCHEMA[path]["GET"].Case(path_parameters=params, query=query).call_and_validate(
            app=app, additional_checks=[hints_speak_http])
        assert response.status_code == 200, (path, query)
