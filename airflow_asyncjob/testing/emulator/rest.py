"""NetSuite's REST web services wire format for the emulator: JSON bodies, error bodies with
``o:errorDetails``, job URLs for ``Location``, and reading record requests. Keeps no state (the
REST half of moto's ``responses``; ``soap`` is the SOAP half).

Sources: Help Center "Asynchronous Request Processing" (chapter_161251386312.html and its
subsections 161278579295, 161252896355, 161252889998: the job, task list, task and result
resources), "Idempotency" (subsect_164494900632.html), "Error Responses" (section_156570709583.html:
``{"type", "title", "status", "o:errorDetails": [{"detail", "o:errorCode", ...}]}``), batch
requests (article_0127092747.html). Where Oracle is silent the shapes follow the project's
REST contract (REST_CONTRACT.md) and say so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from airflow_asyncjob.testing.emulator.jobs import RecordRef, RecordResult, RestJobView, RestTaskView

JSON_TYPE = "application/json"
COLLECTION_TYPE = "application/vnd.oracle.resource+json; type=collection"
RECORD_PATH = "/services/rest/record/v1"
JOB_PATH = "/services/rest/async/v1/job"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
PAGE_LIMIT = 1000
"""The task list's default and largest ``limit`` (our choice; Oracle's REST collections use 1000)."""

LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)
IDEMPOTENCY_DETAIL = (
    "A request with the same idempotency key is already submitted. See the Location header for the "
    "URL of the previously submitted asynchronous job."
)
DEFAULT_DETAILS = {
    "INVALID_LOGIN": LOGIN_DETAIL,
    "INSUFFICIENT_PERMISSION": (
        "Permission Violation: you need the Administrator role to read governance limits."
    ),
    "NONEXISTENT_ID": "The record instance does not exist.",
    "CONCURRENCY_LIMIT_EXCEEDED": (
        "Concurrent request limit exceeded. The request was blocked: the account's concurrency limit is "
        "reached. Retry later."
    ),
    "IDEMPOTENCY_ERROR": IDEMPOTENCY_DETAIL,
    "UNEXPECTED_ERROR": "An unexpected error occurred. Error ID: emulator0000000000000000",
    "TASK_NOT_COMPLETED": "The task has not completed yet: its result is not available.",
}
"""Texts modelled on NetSuite's where Oracle quotes none (INVALID_LOGIN's and IDEMPOTENCY_ERROR's
follow the Help Center)."""
DEFAULT_CODES = {
    401: "INVALID_LOGIN",
    403: "INSUFFICIENT_PERMISSION",
    404: "NONEXISTENT_ID",
    429: "CONCURRENCY_LIMIT_EXCEEDED",
}
"""The ``o:errorCode`` a ``rest_error`` injection gives a status when it names none (else
UNEXPECTED_ERROR for 5xx, INVALID_REQUEST otherwise)."""


class RestError(Exception):
    """A REST error answer: HTTP ``status`` with NetSuite's error body (``code`` is its
    ``o:errorCode``). ``location``: a ``Location`` header to send along (IDEMPOTENCY_ERROR)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        title: str | None = None,
        error_path: str | None = None,
        location: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail or DEFAULT_DETAILS.get(code, HTTPStatus(status).phrase)
        self.title = title or HTTPStatus(status).phrase
        self.error_path = error_path
        self.location = location
        super().__init__(f"{status} {code}: {self.detail}")


def default_code(status: int) -> str:
    return DEFAULT_CODES.get(status, "UNEXPECTED_ERROR" if status >= 500 else "INVALID_REQUEST")


def error_body(
    status: int, code: str, detail: str, *, title: str | None = None, error_path: str | None = None
) -> dict[str, Any]:
    """NetSuite's error body (section_156570709583.html)."""
    item: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if error_path is not None:
        item["o:errorPath"] = error_path
    section = f"15.{status // 100 + 1}.{status % 100 + 1}"
    return {
        "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-{section}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "o:errorDetails": [item],
    }


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={"content-type": JSON_TYPE, **(headers or {})},
    )


def error_response(error: RestError) -> Response:
    headers = {"location": error.location} if error.location else None
    body = error_body(error.status, error.code, error.detail, title=error.title, error_path=error.error_path)
    return json_response(body, error.status, headers)


def iso(seconds: float) -> str:
    """Unix seconds -> ``2020-12-09T12:04:40Z`` (Oracle's task times)."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_time(seconds: float) -> dict[str, str]:
    """``{"serverTime": "2025-03-26T16:21:00.000Z"}`` (article_0528010158.html)."""
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return {"serverTime": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"}


# ---- the async job resources ------------------------------------------------------------------


def job_url(root: str, job_id: str) -> str:
    """``<root>/services/rest/async/v1/job/<id>``; ``root`` "" gives the relative form."""
    return f"{root}{JOB_PATH}/{job_id}"


def _link(rel: str, href: str) -> dict[str, str]:
    return {"rel": rel, "href": href}


def job_body(root: str, job: RestJobView) -> dict[str, Any]:
    """The job resource: links, completed, id, progress, task link (subsect_161278579295.html)."""
    url = job_url(root, job.job_id)
    return {
        "links": [_link("self", url)],
        "completed": job.completed,
        "id": job.job_id,
        "progress": job.progress,
        "task": {"links": [_link("self", f"{url}/task")]},
    }


def task_list_body(root: str, job: RestJobView, offset: int, limit: int) -> dict[str, Any]:
    """The task collection, one page: ``count``, ``hasMore``, ``offset``, ``totalResults``, ``items``
    each with a self link to its task (shape from third-party client code; contract)."""
    url = f"{job_url(root, job.job_id)}/task"
    page = job.tasks[offset : offset + limit]
    return {
        "links": [_link("self", f"{url}?offset={offset}&limit={limit}")],
        "count": len(page),
        "hasMore": offset + len(page) < len(job.tasks),
        "offset": offset,
        "totalResults": len(job.tasks),
        "items": [{"links": [_link("self", f"{url}/{task.task_id}")]} for task in page],
    }


def task_body(root: str, job_id: str, task: RestTaskView) -> dict[str, Any]:
    """The task resource (subsect_161252896355.html); ``endTime`` only once it ended."""
    url = f"{job_url(root, job_id)}/task/{task.task_id}"
    body: dict[str, Any] = {
        "links": [_link("related", f"{url}/result"), _link("self", url)],
        "completed": task.completed,
        "id": task.task_id,
        "progress": task.progress,
    }
    if task.start_time is not None:
        body["startTime"] = iso(task.start_time)
    if task.end_time is not None:
        body["endTime"] = iso(task.end_time)
    return body


def result_body(root: str, record: RecordResult) -> dict[str, Any]:
    """What the synchronous request would have given: a success is the record's id and link
    (NetSuite's sync add answers 204 with a Location; the contract turns that into a body), a
    failure NetSuite's error body, status 400, under HTTP 200 (how Oracle returns a failed task's
    error is UNVERIFIED)."""
    if not record.success:
        assert record.code is not None and record.message is not None
        return error_body(400, record.code, record.message)
    body: dict[str, Any] = {"links": []}
    if record.internal_id is not None:
        body["id"] = record.internal_id
        if record.record_type:
            body["links"] = [_link("self", f"{root}{RECORD_PATH}/{record.record_type}/{record.internal_id}")]
    if record.external_id is not None:
        body["externalId"] = record.external_id
    return body


# ---- record requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordRequest:
    """A record or batch request as read: ``operation`` (add / update / upsert / delete), the
    record refs (one per task) and whether it was a batch."""

    operation: str
    refs: tuple[RecordRef, ...]
    batch: bool


_BATCH_OPERATIONS = {"POST": "add", "PATCH": "update", "PUT": "upsert", "DELETE": "delete"}


def is_collection(content_type: str | None) -> bool:
    """``application/vnd.oracle.resource+json; type=collection`` (parameters in any order/case)."""
    if not content_type:
        return False
    media, *params = (part.strip().lower() for part in content_type.split(";"))
    return media == "application/vnd.oracle.resource+json" and "type=collection" in [
        p.replace(" ", "") for p in params
    ]


def _json(body: bytes, required: bool) -> Any:
    if not body.strip():
        if required:
            raise RestError(400, "INVALID_CONTENT", "The request body is empty: send the record as JSON.")
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RestError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None


def _item_ref(item: Any, record_type: str, index: int | None) -> RecordRef:
    where = "the body" if index is None else f"items[{index}]"
    if not isinstance(item, Mapping):
        raise RestError(
            400, "INVALID_CONTENT", f"{where} must be a JSON object (a record).", error_path=where
        )
    internal_id, external_id = item.get("id"), item.get("externalId")
    return RecordRef(
        internal_id=None if internal_id is None else str(internal_id),
        external_id=None if external_id is None else str(external_id),
        record_type=record_type,
    )


def read_record_request(
    method: str, record_type: str, record_id: str | None, content_type: str | None, body: bytes
) -> RecordRequest:
    """Read ``METHOD /services/rest/record/v1/<record_type>[/<record_id>]``.

    One record: ``POST <type>`` (add, JSON body), ``PATCH <type>/<id>`` (update), ``PUT
    <type>/eid:<externalId>`` (upsert), ``DELETE <type>/<id>``. A batch: ``POST|PATCH|PUT|DELETE
    <type>`` with the collection content type and ``{"items": [...]}`` (1..100 records).

    Raises:
        RestError: 400 INVALID_CONTENT (not JSON, no items, over 100 items, an item not an
            object), 405 METHOD_NOT_ALLOWED (a method the path does not take). The codes for
            these are UNVERIFIED (our choice).
    """
    if record_id is None:
        if is_collection(content_type):
            data = _json(body, required=True)
            items = data.get("items") if isinstance(data, Mapping) else None
            if not isinstance(items, list) or not items:
                raise RestError(
                    400, "INVALID_CONTENT", 'A batch request body is {"items": [...]} with 1 to 100 records.'
                )
            if len(items) > 100:
                raise RestError(
                    400,
                    "INVALID_CONTENT",
                    f"A batch request can have at most 100 records; this one has {len(items)}.",
                )
            refs = tuple(_item_ref(item, record_type, index) for index, item in enumerate(items))
            return RecordRequest(_BATCH_OPERATIONS[method], refs, batch=True)
        if method != "POST":
            raise RestError(
                405,
                "METHOD_NOT_ALLOWED",
                f"{method} on a record type needs a record id in the path, or the collection content type "
                "for a batch.",
            )
        return RecordRequest("add", (_item_ref(_json(body, required=True), record_type, None),), batch=False)
    if method == "POST":
        raise RestError(405, "METHOD_NOT_ALLOWED", "POST takes a record type, not a record id.")
    data = _json(body, required=method != "DELETE")
    ref = _item_ref(data if data is not None else {}, record_type, None)
    if record_id.startswith("eid:"):
        ref = RecordRef(ref.internal_id, record_id[4:], record_type)
    else:
        ref = RecordRef(record_id, ref.external_id, record_type)
    if method == "PUT" and ref.external_id is None:
        raise RestError(
            405, "METHOD_NOT_ALLOWED", "PUT (upsert) takes an external id in the path: eid:<value>."
        )
    return RecordRequest(_BATCH_OPERATIONS[method], (ref,), batch=False)
