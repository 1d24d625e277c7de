"""Deterministic mutations of a node's JSON-RPC answers: the RPC client's fuzz cases.

A mutation takes the honest answer (as JSON, and as the bytes a node would send) and returns the
reply to send instead, with a readable description. Everything random comes from the
`random.Random` passed in, so case `i` of seed `s` is rebuilt from `Random(f"{s}:rpc:{i}")` alone.
Mutations aim where a hostile or broken node would: wrong types, missing and renamed keys, nulls,
huge and non-finite numbers, broken batch ids, truncated or invalid JSON, HTML error pages, HTTP
status codes, wrong hex lengths, other scripts' digits.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence

from fake_node import Reply

GENESIS = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
HOSTILE: tuple[object, ...] = (
    None, True, False, 0, -1, 1, 19, 2**31, 2**63, 2**64 + 1, 10**400, 1e308, float("inf"),
    float("nan"), -0.0, 0.5, "", "0", "19", "\u0661\u0662", "0" * 64, "f" * 63, "g" * 64, "F" * 64,
    "\x00" * 64, GENESIS, "x" * 100_000, [], [None], {}, {"result": 1}, [[[[[[[[1]]]]]]]],
)
BODIES: tuple[bytes, ...] = (
    b"", b"null", b"[]", b"{}", b"true", b"19", b'"19"', b"NaN", b"Infinity", b"-Infinity",
    b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    b"[" * 100_000, b"[" * 50_000 + b"]" * 50_000, b"1" * 5_000, b"\xff\xfe\x00{",
    b'{"result": 1, "error": null, "id": 1}' * 2, "{\"result\": \"\u0661\"}".encode("utf-16"),
)
Path = list[object]   # keys and indexes from the root of a JSON value


def _paths(value: object, path: Path | None = None) -> list[Path]:
    """Every position in a JSON value, the root first."""
    path = path or []
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, path + [k])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, path + [i])
    return out


def _get(value: object, path: Path) -> object:
    for key in path:
        value = value[key]  # type: ignore[index]
    return value


def _set(value: object, path: Path, new: object) -> object:
    if not path:
        return new
    _get(value, path[:-1])[path[-1]] = new  # type: ignore[index]
    return value


def _derived(rng: random.Random, old: object) -> object:
    """A value close to `old`: the kind of mistake a broken node makes with it."""
    if isinstance(old, str) and old:
        at = rng.randrange(len(old))
        return rng.choice([
            old[:-1], old + "0", old.upper(), old[:at] + " " + old[at:], old[:at] + "\u0661" + old[at + 1:],
            old[:at] + "\u00e9" + old[at + 1:], old[:at] + "\x00" + old[at + 1:], old * 2, old[:64], old[:at],
            old[:at] + "z" + old[at + 1:], " " + old, old + "\n",
        ])
    if isinstance(old, bool):
        return rng.choice([not old, int(old), str(old).lower()])
    if isinstance(old, (int, float)):
        return rng.choice([old + 1, old - 1, -old, old * 2**40, str(old), float(old), old + 0.5])
    return rng.choice(HOSTILE)


def _json_mutation(rng: random.Random, answer: object, hashes: Sequence[str]) -> tuple[object, str]:
    """The answer with one thing changed in it, and what."""
    answer = copy.deepcopy(answer)
    paths = _paths(answer)
    kind = rng.choice(["value", "value", "derive", "derive", "drop-key", "rename-key", "batch", "error",
                       "other-hash"])
    if kind == "other-hash" and hashes:
        # A well-formed answer about the wrong block: only the chain's own links can tell.
        spots = [p for p in paths if isinstance(_get(answer, p), str) and len(_get(answer, p)) == 64]  # type: ignore[arg-type]
        if spots:
            path = rng.choice(spots)
            return _set(answer, path, rng.choice(hashes)), f"another block's hash at {path}"
    if kind == "value":
        path = rng.choice(paths)
        new = rng.choice(HOSTILE)
        return _set(answer, path, new), f"value at {path} := {str(new)[:40]!r}"
    if kind == "derive":
        path = rng.choice(paths)
        return _set(answer, path, _derived(rng, _get(answer, path))), f"derived value at {path}"
    if kind in ("drop-key", "rename-key"):
        objects = [p for p in paths if isinstance(_get(answer, p), dict) and _get(answer, p)]
        if objects:
            obj = _get(answer, rng.choice(objects))
            key = rng.choice(sorted(obj))  # type: ignore[arg-type]
            value = obj.pop(key)  # type: ignore[union-attr]
            if kind == "rename-key":
                obj[rng.choice([key.upper(), key + "x", key[:-1], ""])] = value  # type: ignore[index]
            return answer, f"{kind} {key!r}"
    if kind == "batch" and isinstance(answer, list) and answer:
        how = rng.choice(["drop", "duplicate", "shuffle", "swap-ids", "swap-results", "hostile-id", "extra",
                          "empty", "unwrap"])
        i = rng.randrange(len(answer))
        if how == "drop":
            del answer[i]
        elif how == "duplicate":
            answer.insert(i, copy.deepcopy(answer[i]))
        elif how == "shuffle":
            rng.shuffle(answer)
        elif how == "swap-ids" and len(answer) > 1 and all(isinstance(a, dict) for a in answer):
            j = (i + 1) % len(answer)
            answer[i]["id"], answer[j]["id"] = answer[j].get("id"), answer[i].get("id")  # type: ignore[index]
        elif how == "swap-results" and len(answer) > 1 and all(isinstance(a, dict) for a in answer):
            j = (i + 1) % len(answer)
            answer[i]["result"], answer[j]["result"] = answer[j].get("result"), answer[i].get("result")  # type: ignore[index]
        elif how == "hostile-id" and isinstance(answer[i], dict):
            answer[i]["id"] = rng.choice(HOSTILE)  # type: ignore[index]
        elif how == "extra":
            answer.append({"result": rng.choice(HOSTILE), "error": None, "id": rng.choice(HOSTILE)})
        elif how == "empty":
            answer = []
        elif how == "unwrap":
            answer = answer[i]
        return answer, f"batch {how} at {i}"
    # An error object where the answer was fine, of any shape.
    targets = [p for p in paths if isinstance(_get(answer, p), dict) and "error" in _get(answer, p)]  # type: ignore[operator]
    if targets:
        obj = _get(answer, rng.choice(targets))
        obj["error"] = rng.choice([  # type: ignore[index]
            {"code": rng.choice(HOSTILE), "message": rng.choice(HOSTILE)},
            {"code": -28, "message": "Loading block index..."}, {"code": -8, "message": "x" * 10_000},
            rng.choice(HOSTILE), "\x1b[31mred\x1b[0m",
        ])
        return answer, "error injected"
    return rng.choice(HOSTILE), "whole answer replaced"


def _dumps(value: object) -> bytes:
    try:
        return json.dumps(value).encode()
    except ValueError:   # an int past 4,300 digits: json.dumps refuses to write it
        return b"1" * 5_000


def mutate(rng: random.Random, answer: object, hashes: Sequence[str] = ()) -> tuple[Reply, str]:
    """A reply in place of the honest `answer`, and a description of the change (`hashes`: the
    chain's block hashes, for well-formed answers about the wrong block)."""
    kind = rng.choices(["json", "bytes", "body", "http"], weights=[6, 2, 1, 1])[0]
    if kind == "json":
        changed, what = _json_mutation(rng, answer, hashes)
        return Reply(_dumps(changed)), what
    body = _dumps(answer)
    if kind == "bytes":
        at = rng.randrange(len(body) + 1)
        how = rng.choice(["truncate", "truncate-lie", "insert", "overwrite"])
        if how == "truncate":
            return Reply(body[:at]), f"body cut at {at} of {len(body)}"
        if how == "truncate-lie":
            return Reply(body[:at], content_length=len(body), close=True), f"body cut at {at}, length kept"
        junk = rng.choice([b"\xff", b"\x00", b"]", b"}", b",", b'"', b"\\", b"e999", "\u0661".encode()])
        if how == "insert":
            return Reply(body[:at] + junk + body[at:]), f"{junk!r} inserted at {at}"
        return Reply(body[:at] + junk + body[at + len(junk):]), f"{junk!r} written at {at}"
    if kind == "body":
        new = rng.choice(BODIES)
        return Reply(new, content_type=rng.choice(["application/json", "text/html"])), f"body := {new[:30]!r}"
    status = rng.choice([201, 204, 301, 400, 401, 403, 404, 500, 502, 503])
    ctype = rng.choice(["application/json", "text/html", ""])
    if status == 204:
        return Reply(b"", status, ctype), "HTTP 204"
    return Reply(rng.choice([body, b"<html>error</html>"]), status, ctype, no_length=rng.random() < 0.2), \
        f"HTTP {status} {ctype}"


def rewriter(rng: random.Random, at_request: int | None,
             hashes: Sequence[str] = ()) -> tuple[Callable[[object, object], Reply | None], list[str]]:
    """A FakeNode rewrite that mutates the answer to request number `at_request` (0-based), or to
    every request when it is None; the descriptions of what it did go into the returned list."""
    done: list[str] = []
    seen = [0]

    def rewrite(request: object, answer: object) -> Reply | None:
        n = seen[0]
        seen[0] += 1
        if at_request is not None and n != at_request:
            return None
        reply, what = mutate(rng, answer, hashes)
        done.append(f"request {n}: {what}")
        return reply

    return rewrite, done
