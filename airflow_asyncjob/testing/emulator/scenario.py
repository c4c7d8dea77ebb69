"""Scenario files: the emulated account, its pre-created jobs and how submitted jobs turn out.

A scenario is JSON; every key is optional and unknown keys are refused (typos would otherwise
pass silently). ``description`` is allowed anywhere for notes.

    {
      "account_id": "1234567_SB1",
      "consumer_key": "<64 hex digits>", "consumer_secret": "<64 hex digits>",
      "token_id": "<64 hex digits>", "token_secret": "<64 hex digits>",
      "concurrency_limit": 5,
      "submit_defaults": {"pending_seconds": 0.5, "processing_seconds": 2.0, "retry_seconds": 0,
                          "page_size": 1000, "search_total_records": 0},
      "submit_rules": [
        {"external_id_prefix": "dup-", "code": "DUP_ENTITY", "message": "This entity already exists."},
        {"external_ids": ["cust-7"], "record_type": "customer", "code": "DUP_ENTITY",
         "message": "This entity already exists."},
        {"operation": "asyncDeleteList", "fails": "job", "code": "UNEXPECTED_ERROR", "message": "..."}
      ],
      "jobs": [
        {"job_id": "ASYNCWEBSERVICES_1234567_SB1_..._a1b2c3d4", "operation": "asyncUpsertList",
         "pending_seconds": 1, "processing_seconds": 2, "retry_seconds": 0, "status": "finishedWithErrors",
         "page_size": 1000, "start_on_first_request": true,
         "records": [{"externalId": "cust-1", "internalId": "1001", "type": "customer", "success": true},
                     {"externalId": "cust-2", "type": "customer", "success": false,
                      "code": "DUP_ENTITY", "message": "This entity already exists."}]},
        {"job_id": "...", "operation": "asyncAddList",
         "failure": {"code": "UNEXPECTED_ERROR", "message": "..."}},
        {"job_id": "...", "operation": "asyncSearch", "total_records": 2500, "page_size": 1000,
         "search_record_type": "customer"}
      ]
    }

A job with ``"api": "rest"`` is a REST async job (one task per record; operation one of
asyncAddList / asyncUpdateList / asyncUpsertList / asyncDeleteList; a generated id is decimal).
Job keys map onto ``JobSpec`` and ``Timeline``; record keys use NetSuite's names (externalId,
internalId, type) plus success, code and message; rule keys map onto ``SubmitRule``.
``example.json`` in ``scenarios/`` is the shipped example (see ``EXAMPLE_JOB_IDS``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from typing import Any

from airflow_asyncjob.testing.emulator.jobs import (
    DEFAULT_PAGE_SIZE,
    JobFailure,
    JobSpec,
    RecordResult,
    SubmitDefaults,
    SubmitRule,
    Timeline,
)

EXAMPLE_JOB_IDS = {
    "finished": "ASYNCWEBSERVICES_1234567_SB1_112920261015490000000001_a1b2c3d4",
    "finishedWithErrors": "ASYNCWEBSERVICES_1234567_SB1_112920261015490000000002_b2c3d4e5",
    "failed": "ASYNCWEBSERVICES_1234567_SB1_112920261015490000000003_c3d4e5f6",
    "search": "ASYNCWEBSERVICES_1234567_SB1_112920261015490000000004_d4e5f6a7",
}
"""The fixed job ids of the shipped example scenario, by what they end in: finished (asyncUpsertList,
3 records), finishedWithErrors (asyncUpsertList, 5 records, DUP_ENTITY and INVALID_KEY_OR_REF),
failed (asyncAddList, UNEXPECTED_ERROR), search (asyncSearch through retry, 2500 rows in 3 pages).
Their timelines start at the first request about them and take 2-4 seconds."""

_TIMELINE_KEYS = ("pending_seconds", "processing_seconds", "retry_seconds")
_CREDENTIAL_KEYS = ("account_id", "consumer_key", "consumer_secret", "token_id", "token_secret")


def _checked(data: Any, where: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be a JSON object, not {type(data).__name__}")
    unknown = sorted(set(data) - set(allowed) - {"description"})
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}; allowed: {sorted(allowed)}")
    return data


def _timeline(data: Mapping[str, Any], default: Timeline) -> Timeline:
    return Timeline(**{key: float(data.get(key, getattr(default, key))) for key in _TIMELINE_KEYS})


def record_result_from_dict(data: Any) -> RecordResult:
    """``{"externalId", "internalId", "type", "success", "code", "message"}`` -> RecordResult."""
    data = _checked(data, "a record", ("externalId", "internalId", "type", "success", "code", "message"))
    return RecordResult(
        external_id=data.get("externalId"),
        internal_id=data.get("internalId"),
        record_type=data.get("type"),
        success=bool(data.get("success", True)),
        code=data.get("code"),
        message=data.get("message"),
    )


def job_spec_from_dict(data: Any) -> JobSpec:
    """A job spec from its JSON form (a scenario's ``jobs`` item, or ``POST /_emulator/jobs``).

    Raises:
        ValueError: unknown keys or inconsistent values (see JobSpec).
    """
    data = _checked(
        data,
        "a job",
        (
            "job_id",
            "operation",
            *_TIMELINE_KEYS,
            "status",
            "records",
            "failure",
            "page_size",
            "total_records",
            "search_id",
            "start_on_first_request",
            "search_record_type",
            "api",
        ),
    )
    failure = data.get("failure")
    if failure is not None:
        failure = JobFailure(**_checked(failure, "a job failure", ("code", "message")))
    return JobSpec(
        operation=data.get("operation", "asyncUpsertList"),
        job_id=data.get("job_id"),
        timeline=_timeline(data, Timeline()),
        records=tuple(record_result_from_dict(r) for r in data.get("records", ())),
        failure=failure,
        status=data.get("status"),
        page_size=int(data.get("page_size", DEFAULT_PAGE_SIZE)),
        total_records=int(data.get("total_records", 0)),
        search_id=data.get("search_id"),
        start_on_first_request=bool(data.get("start_on_first_request", False)),
        search_record_type=data.get("search_record_type"),
        api=data.get("api", "soap"),
    )


@dataclass(frozen=True)
class Scenario:
    """An emulated account: credentials and concurrency limit (None = the emulator's default),
    jobs to pre-create with fixed ids, and defaults and rules for jobs clients submit."""

    account_id: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = field(default=None, repr=False)
    token_id: str | None = None
    token_secret: str | None = field(default=None, repr=False)
    concurrency_limit: int | None = None
    jobs: tuple[JobSpec, ...] = ()
    submit_defaults: SubmitDefaults = field(default_factory=SubmitDefaults)
    submit_rules: tuple[SubmitRule, ...] = ()

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        """Raises ValueError naming the first problem."""
        try:
            return cls._from_dict(data)
        except TypeError as error:  # a missing required key, e.g. a rule without "code"
            raise ValueError(str(error)) from None

    @classmethod
    def _from_dict(cls, data: Any) -> Scenario:
        data = _checked(
            data,
            "the scenario",
            (*_CREDENTIAL_KEYS, "concurrency_limit", "jobs", "submit_defaults", "submit_rules"),
        )
        defaults = _checked(
            data.get("submit_defaults", {}),
            "submit_defaults",
            (*_TIMELINE_KEYS, "page_size", "search_total_records"),
        )
        rule_keys = (
            "code",
            "message",
            "external_ids",
            "external_id_prefix",
            "record_type",
            "operation",
            "fails",
        )
        limit = data.get("concurrency_limit")
        return cls(
            **{key: data.get(key) for key in _CREDENTIAL_KEYS},
            concurrency_limit=None if limit is None else int(limit),
            jobs=tuple(job_spec_from_dict(job) for job in data.get("jobs", ())),
            submit_defaults=SubmitDefaults(
                timeline=_timeline(defaults, Timeline()),
                page_size=int(defaults.get("page_size", DEFAULT_PAGE_SIZE)),
                search_total_records=int(defaults.get("search_total_records", 0)),
            ),
            submit_rules=tuple(
                SubmitRule(**_checked(rule, "a submit rule", rule_keys))
                for rule in data.get("submit_rules", ())
            ),
        )

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Scenario:
        """Read a scenario file. Raises OSError, or ValueError for bad JSON or a bad scenario."""
        with open(path, encoding="utf-8") as handle:
            try:
                data = json.load(handle)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}: not JSON: {error}") from None
        try:
            return cls.from_dict(data)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None

    @classmethod
    def example(cls) -> Scenario:
        """The shipped example scenario (``scenarios/example.json``, job ids in EXAMPLE_JOB_IDS)."""
        text = resources.files(__package__).joinpath("scenarios").joinpath("example.json").read_text("utf-8")
        return cls.from_dict(json.loads(text))
