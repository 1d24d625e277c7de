"""The OpenAPI document: FastAPI's, with the error answers the server really gives and the metric
names the series route takes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from minerwatch.queries import series
from minerwatch.web.respond import ERROR_CONTENT, ERROR_MEANINGS, ErrorBody

# Every operation can meet these: the token gate runs before any route, and every route reads the
# database through the one data source, which answers 503 when there is none or a sync holds it.
EVERY_OPERATION = (401, 503)


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document for `app`, without the 422 answers it adds on its own (a request that fails
    validation is answered 400 with an ErrorBody) and with 401 and 503 on every operation."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for operations in doc["paths"].values():
        for op in operations.values():
            responses = op["responses"]
            responses.pop("422", None)
            for status in EVERY_OPERATION:
                responses.setdefault(str(status), {"description": ERROR_MEANINGS[status], "content": ERROR_CONTENT})
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}"))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _name_the_metrics(doc)
    return doc


def _name_the_metrics(doc: dict[str, Any]) -> None:
    """The series route's `name` takes the registered metrics (and their `.csv` forms), listed when the
    document is first asked for rather than when the routes are declared: reading the registry loads
    every metric module, which `import minerwatch.web` should not pay for."""
    names = [m.name for m in series.catalog()]
    op = doc["paths"].get("/api/v1/series/{name}", {}).get("get")
    for param in (op or {}).get("parameters", []):
        if param["in"] == "path" and param["name"] == "name":
            param["schema"]["enum"] = names + [n + ".csv" for n in names]
