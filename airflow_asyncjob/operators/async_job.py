"""Submit NetSuite async jobs and read their results: AsyncJobSubmitOperator (here) and
GetAsyncResultOperator (``operators/results.py``, imported here too: this is the public path).

A batch integration submits records (AsyncJobSubmitOperator), waits for the job
(AsyncJobStatusSensor, which can branch on finishedWithErrors) and reads exactly which records
failed and why (GetAsyncResultOperator): every result page once, typed per-record results as
JSON lines in object storage, and a summary in XCom.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, ObjectStoragePath, Variable
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob import lineage
from airflow_asyncjob.assets import SubmitAssets, default_outlets
from airflow_asyncjob.errors import netsuite_error_rule
from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.links.async_job import AsyncJobLink
from airflow_asyncjob.netsuite.models import (
    AsyncJobStatus,
    AsyncStatus,
)
from airflow_asyncjob.netsuite.records import RECORD_LIMITS, SUBMIT_OPERATIONS, RecordCountError, chunked
from airflow_asyncjob.netsuite.retry import RetryPolicy
from airflow_asyncjob.operators.results import GetAsyncResultOperator
from airflow_asyncjob.triggers.async_job_status import TIMEOUT
from airflow_asyncjob.waiting import (
    deferral_timeout,
    final_status,
    read_event,
    status_trigger,
    wait_in_worker,
    wait_times,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["AsyncJobSubmitOperator", "GetAsyncResultOperator", "SubmitState", "ledger_key"]

SUBMIT_STATE_KEY = "netsuite_submit"
"""The ``task_state_store`` key under which a submit keeps the job ids it created."""
LEDGER_PREFIX = "netsuite_async_submit"
"""Prefix of the Airflow Variables that stand in for ``task_state_store`` on Airflow < 3.3."""
CANCEL_BY_HAND = (
    "NetSuite's SOAP API has no operation to cancel an async job: cancel it by hand in NetSuite, "
    "Setup > Integration > SOAP Web Services Process Status, the job's Cancel box"
)
SUBMIT_ON_FINISHED_WITH_ERRORS = ("fail", "succeed")


class AsyncJobSubmitOperator(BaseOperator):
    """Submit one NetSuite async job (or several, see ``split_over_limit``), push its job id and,
    with ``wait_for_completion=True``, wait for it as AsyncJobStatusSensor does.

    Operations and what ``records`` holds (dicts in NetSuite's field names; shapes in
    ``airflow_asyncjob.netsuite.records``):

    - ``asyncAddList``, ``asyncUpdateList``, ``asyncUpsertList``: records, each with ``@type``
      (``customer``, ``salesOrder``) unless ``record_type`` gives it for all;
    - ``asyncDeleteList``, ``asyncGetList``: baseRefs, ``{"type": "customer", "internalId": "42"}``
      or with ``externalId``; ``deletion_reason`` (asyncDeleteList) is a DeletionReason dict;
    - ``asyncInitializeList``: initializeRecords, ``{"type": "salesOrder", "reference": {...}}``;
    - ``asyncSearch``: ``search_record``, one dict such as ``{"@type": "customerSearchBasic",
      "email": {"operator": "contains", "searchValue": "@example.com"}}``.

    Records come from ``records`` (a list, an XComArg such as ``extract.output``, or a templated
    JSON string) or from ``records_path`` (a JSON list, or JSON lines when it ends in ``.jsonl``
    or ``.ndjson``; any Airflow ObjectStoragePath URL or local path). ``records`` is resolved
    when the task runs and kept out of the task's rendered fields (the UI's Rendered Template
    tab and ``rendered_task_instance_fields``), which show only a summary such as
    ``"<5 records: not kept in rendered fields>"``.

    Record limits per request (asyncAddList 400, asyncUpdateList 200, asyncUpsertList 200,
    asyncDeleteList 400, asyncGetList 2000; Governance Overview) are checked before sending.
    Over the limit the task fails without sending anything, unless ``split_over_limit=True``:
    then the records go out in consecutive jobs of at most the limit, in order.

    XCom: ``job_ids`` (a list) is pushed as soon as each job is created, and ``job_id`` (a
    string; not with ``split_over_limit=True``) before any waiting; the return value is the job
    id, or the list of job ids with ``split_over_limit=True``. With ``wait_for_completion=True``
    the final status is pushed as ``status``: ``{"job_id", "status", "percent_completed"
    (percent), "est_remaining_duration" (seconds)}``.

    Waiting (``wait_for_completion=True``; not with ``split_over_limit``): exactly as the
    sensor waits and decides (``airflow_asyncjob.waiting``): the job is polled with
    checkAsyncStatus at adaptive intervals within ``[poke_interval, max_poll_interval]``, in
    this worker, or with ``deferrable=True`` in the triggerer by AsyncJobStatusTrigger (no
    worker slot held). ``finished`` succeeds; ``failed`` fails without retry with NetSuite's
    detail; ``finishedWithErrors`` fails without retry (``on_finished_with_errors="fail"``) or
    succeeds (``"succeed"``); still running after ``timeout`` seconds fails without retry.

    A retry never submits again what an earlier try submitted (a worker killed, a transient
    error, the task cleared into a new try): each job id is written before anything else
    happens (before any waiting) to Airflow's ``task_state_store`` (Airflow 3.3; key
    ``netsuite_submit``: job ids, a hash of the request and the try number, never records),
    whose rows go with their DAG run and ``airflow db clean``. On Airflow 3.2, which has no
    ``task_state_store``, an Airflow Variable named
    ``netsuite_async_submit:<dag_id>:<task_id>:<map_index>:<run_id>`` stands in for it and is
    deleted when the DAG run ends. A retry that finds job ids there checks each job (one
    checkAsyncStatus call), reconnects to it (or, if it ended, takes its outcome at once) and
    submits only the jobs still missing. A job that ``failed`` is submitted again only with
    ``resubmit_on_failure=True``, and says so in the log either way: a failed asyncAddList may
    have written some of its records. A retry whose records differ from the earlier try's fails
    instead. Why not Airflow's ``ResumableJobMixin``: it keeps one external id per task (a
    split submit has several), resubmits every failed job, and its stand-in for Airflow < 3.3
    submits again on every try.

    Killing the task (``on_kill``: marked failed or success in the UI, a timeout) cancels
    nothing: NetSuite's SOAP API has no cancel operation (none in the WSDL). The log names the
    job ids and where to cancel them by hand: Setup > Integration > SOAP Web Services Process
    Status, the job's Cancel box.

    Assets (``airflow_asyncjob.assets``, docs/assets.md): a writing operation (asyncAddList,
    asyncUpdateList, asyncUpsertList, asyncDeleteList) without ``outlets`` declares the
    connection's ``AssetAlias`` and, on success, adds an event for each
    ``netsuite://<account>/<recordType>`` it wrote, whose extra holds the job ids, the operation
    and the records submitted; a DAG scheduled on ``netsuite_asset(account, record_type)`` runs
    after it. Declared ``netsuite://`` outlets must name the connection's account and the
    records' types (checked before sending). The other operations write no asset.

    Failures: bad records, over the limit, or a permanent NetSuite error fail the task without
    retry; a submit sent without a usable answer (the job may exist) fails without retry too,
    saying what to check; a transient error that outlived the hook's retries fails the try, so
    the task's ``retries`` apply.

    Args:
        operation: one of the seven async submit operations.
        records: the records (not for asyncSearch): a list, an XComArg or a JSON string.
        records_path: or a file of them (JSON list or JSON lines; an ObjectStoragePath URL).
        search_record: asyncSearch's search record.
        record_type: record type for records without ``@type`` / baseRefs without ``type``.
        deletion_reason: asyncDeleteList only.
        split_over_limit: split over-limit records into several jobs instead of failing.
        wait_for_completion: wait for the job to end and apply the sensor's outcome rules.
        deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
        poke_interval: seconds (or a timedelta, as for every time here); the shortest wait
            between status polls (default 60).
        max_poll_interval: seconds; the longest wait between polls (default 300, or
            ``poke_interval`` if that is longer).
        timeout: seconds to wait for the job to end (default 7 days; at most
            ``polling.MAX_WAIT``, 365 days, as for the sensor).
        on_finished_with_errors: ``"fail"`` (default) or ``"succeed"``.
        resubmit_on_failure: a retry submits again a job that ended ``failed`` (default False).
        netsuite_conn_id: the ``netsuite_soap`` connection.
        retry: the hook's retry policy for transient failures (default: ``RetryPolicy()``).

    Raises:
        ValueError: at DAG parse time, for arguments that do not fit together or bounds that are
            not positive finite seconds.
    """

    template_fields: Sequence[str] = (
        "records",
        "records_path",
        "search_record",
        "record_type",
        "netsuite_conn_id",
    )
    template_fields_renderers = {"search_record": "json"}
    ui_color = "#f2e6d9"
    operator_extra_links = (AsyncJobLink(),)

    def __init__(
        self,
        *,
        operation: str,
        records: Any = None,
        records_path: str | None = None,
        search_record: Any = None,
        record_type: str | None = None,
        deletion_reason: Mapping[str, Any] | None = None,
        split_over_limit: bool = False,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float | timedelta = 60.0,
        max_poll_interval: float | timedelta | None = None,
        timeout: float | timedelta = 7 * 24 * 3600.0,
        on_finished_with_errors: str = "fail",
        resubmit_on_failure: bool = False,
        netsuite_conn_id: str = SoapAsyncJobHook.default_conn_name,
        retry: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        # Assets (airflow_asyncjob.assets): without outlets, a writing submit declares its
        # connection's AssetAlias and adds the netsuite:// assets it wrote at run time.
        if kwargs.get("outlets") is None:
            kwargs["outlets"] = default_outlets(operation, netsuite_conn_id)
        super().__init__(**kwargs)
        where = f"task {self.task_id!r}"
        if operation not in SUBMIT_OPERATIONS:
            raise ValueError(f"{where}: operation={operation!r} is none of {', '.join(SUBMIT_OPERATIONS)}.")
        if operation == "asyncSearch":
            if search_record is None or records is not None or records_path is not None:
                raise ValueError(f"{where}: asyncSearch takes search_record (one dict), not records.")
        elif (records is None) == (records_path is None) or search_record is not None:
            raise ValueError(f"{where}: {operation} takes either records or records_path.")
        if deletion_reason is not None and operation != "asyncDeleteList":
            raise ValueError(f"{where}: deletion_reason is for asyncDeleteList only.")
        if on_finished_with_errors not in SUBMIT_ON_FINISHED_WITH_ERRORS:
            raise ValueError(
                f"{where}: on_finished_with_errors={on_finished_with_errors!r}: use 'fail' or 'succeed' "
                "(to branch on finishedWithErrors, wait with AsyncJobStatusSensor)."
            )
        if wait_for_completion and split_over_limit:
            raise ValueError(
                f"{where}: wait_for_completion waits for one job; with split_over_limit=True wait with "
                "AsyncJobStatusSensor mapped over the job ids: .expand(job_id=submit.output)."
            )
        # Seconds, or a timedelta as Airflow's sensors take; anything else is refused naming it.
        poke, self.max_poll_interval, seconds = wait_times(where, poke_interval, max_poll_interval, timeout)
        self.operation = operation
        self.records = records
        self.records_path = records_path
        self.search_record = search_record
        self.record_type = record_type
        self.deletion_reason = deletion_reason
        self.split_over_limit = split_over_limit
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poke_interval = poke
        self.timeout = seconds
        self.on_finished_with_errors = on_finished_with_errors
        self.resubmit_on_failure = resubmit_on_failure
        self.netsuite_conn_id = netsuite_conn_id
        self.retry = retry
        self.records_source = lineage.upstream_xcom(records)  # OpenLineage input (lineage.py)
        self.submit_assets: SubmitAssets | None = None
        self._records: Any = None
        self._job_ids: list[str] = []

    @cached_property
    def hook(self) -> SoapAsyncJobHook:
        return SoapAsyncJobHook(netsuite_conn_id=self.netsuite_conn_id, retry=self.retry)

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        """Render as Airflow does, then keep the records themselves out of the rendered fields.

        Airflow stores every template field's rendered value (``rendered_task_instance_fields``,
        shown in the UI's Rendered Template tab): for ``records`` that would be every customer's
        name and e-mail address. The rendered records (an XComArg resolved, a template rendered)
        are kept on the task for ``execute`` only; ``records`` becomes a summary.
        """
        records = self.records
        self.records = None
        super().render_template_fields(context, jinja_env)
        if records is None:
            return
        self._records = self.render_template(records, context, jinja_env)
        self.records = _records_summary(self._records)

    def execute(self, context: Context) -> str | list[str]:
        batches = self._batches(self._items())
        # Assets (airflow_asyncjob.assets): declared netsuite:// outlets checked before sending.
        self.submit_assets = SubmitAssets.plan(self, batches)
        state = SubmitState(context)
        fingerprint = self._fingerprint(batches)
        job_ids, last = self._reconnect(state, fingerprint, batches)
        for index in range(len(job_ids), len(batches)):
            job_id, last = self._submit(batches[index], index, len(batches))
            job_ids.append(job_id)
            state.record(job_ids, fingerprint)
            self._job_ids = list(job_ids)
            context["ti"].xcom_push(key="job_ids", value=list(job_ids))
        self._job_ids = list(job_ids)
        if self.split_over_limit:
            self.submit_assets.emit(context, job_ids)  # the asset events' extra (airflow_asyncjob.assets)
            return list(job_ids)
        context["ti"].xcom_push(key="job_id", value=job_ids[0])
        if not self.wait_for_completion:
            self.submit_assets.emit(context, job_ids)
            return job_ids[0]
        return self._wait(context, job_ids[0], last)

    # OpenLineage (airflow_asyncjob.lineage): facets only when the OpenLineage provider asks.
    def get_openlineage_facets_on_start(self) -> Any:
        return lineage.submit_facets(self, complete=False)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return lineage.submit_facets(self, complete=True)

    def _reconnect(
        self, state: SubmitState, fingerprint: str, batches: list[Any]
    ) -> tuple[list[str], AsyncJobStatus | None]:
        """The job ids an earlier try created, checked, with the last one's status; the failed
        ones that ``resubmit_on_failure`` submits again are replaced by their new jobs."""
        job_ids = state.submitted(fingerprint)
        if not job_ids:
            return [], None
        self.log.info(
            "Try %s of this task already submitted job(s) %s: not submitting them again; reconnecting.",
            state.recorded_try,
            ", ".join(job_ids),
        )
        last: AsyncJobStatus | None = None
        for index, job_id in enumerate(job_ids):
            with netsuite_error_rule(f"job {job_id} of an earlier try"):
                last = self.hook.check_async_status(job_id)
            self.log.info("NetSuite async %s", last.describe())
            if last.status is not AsyncStatus.FAILED:
                continue
            if not self.resubmit_on_failure:
                self.log.warning(
                    "Job %s of an earlier try failed; not submitting it again (resubmit_on_failure=False).",
                    job_id,
                )
                continue
            self.log.warning(
                "Job %s of an earlier try failed; submitting its records again (resubmit_on_failure=True). "
                "A failed job may have written some of its records: check them in NetSuite.",
                job_id,
            )
            job_ids[index], last = self._submit(batches[index], index, len(batches))
            state.record(job_ids, fingerprint)
        return job_ids, last

    def _submit(self, batch: Any, index: int, count: int) -> tuple[str, AsyncJobStatus]:
        # ConfigurationError and SubmitOutcomeUnknownError are permanent: no retry.
        with netsuite_error_rule():
            status = self.hook.submit(
                self.operation,
                batch,
                record_type=self.record_type,
                deletion_reason=dict(self.deletion_reason) if self.deletion_reason else None,
            )
        size = "" if self.operation == "asyncSearch" else f" with {len(batch)} records"
        part = f" (job {index + 1} of {count})" if count > 1 else ""
        self.log.info("Submitted %s%s%s: NetSuite async %s", self.operation, size, part, status.describe())
        return status.job_id, status

    def _wait(self, context: Context, job_id: str, last: AsyncJobStatus | None) -> str:
        """Wait for ``job_id`` as the sensor does; ``last`` is its latest status, if one is known."""
        if last is not None and last.status.is_terminal:
            return self.execute_complete(
                context, {"status": last.status.value, "job_id": job_id, "job": last.to_dict()}
            )
        trigger = status_trigger(
            job_id=job_id,
            netsuite_conn_id=self.netsuite_conn_id,
            poke_interval=self.poke_interval,
            max_poll_interval=self.max_poll_interval,
            end_time=time.time() + self.timeout,
            timeout=self.hook.timeout,
            retry=self.retry,
            last=last if last is not None and last.job_id == job_id else None,  # no second poll at once
        )
        if self.deferrable:
            self.defer(
                trigger=trigger, method_name="execute_complete", timeout=deferral_timeout(self.timeout)
            )
        return self.execute_complete(context, wait_in_worker(self.hook, trigger))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Decide on the job's end (the trigger's event) as AsyncJobStatusSensor does; push the
        final status as XCom ``status``; return the job id.

        Raises:
            AirflowFailException: failed, finishedWithErrors with ``on_finished_with_errors="fail"``,
                the timeout, a permanent error, an event this operator does not read.
            NetSuiteError: a transient error that outlived the trigger's polls (the task's
                ``retries`` apply; the retry reconnects to the job).
        """
        job_id = str((event or {}).get("job_id", "")) if isinstance(event, Mapping) else ""
        ended = read_event(event, job_id, "operator")
        if ended.status == TIMEOUT:
            message = (
                f"NetSuite job {ended.job_id} had not ended within the task's timeout ({self.timeout:g} s)."
            )
            if ended.job is not None:
                message += f" Last seen: {ended.job.describe()}."
            raise AirflowFailException(
                f"{message} {CANCEL_BY_HAND}, or wait for it with AsyncJobStatusSensor."
            )
        if ended.job is None:  # from_payload gives every terminal event its job
            raise AirflowFailException(f"the trigger's event for job {ended.job_id} has no status.")
        self.log.info("NetSuite async %s", ended.job.describe())
        final = final_status(self.hook, ended.job, self.on_finished_with_errors)
        context["ti"].xcom_push(key="status", value=final)
        # After a deferral this is a new task object: the assets are planned again.
        assets = self.submit_assets or SubmitAssets.plan(self, self._batches(self._items()))
        assets.emit(context, [ended.job_id], outcome=final)
        return ended.job_id

    def on_kill(self) -> None:
        """Cancel nothing (NetSuite SOAP has no cancel operation); log the job ids and where to
        cancel them by hand."""
        if self._job_ids:
            self.log.warning(
                "Task killed; NetSuite job(s) %s go on running. %s.", ", ".join(self._job_ids), CANCEL_BY_HAND
            )
        else:
            self.log.info("Task killed before NetSuite created a job: nothing to cancel.")

    def _items(self) -> Any:
        if self.operation == "asyncSearch":
            search = _json_value(self.search_record, "search_record")
            if not isinstance(search, Mapping):
                raise AirflowFailException(f"search_record must be one dict, got {type(search).__name__}.")
            return search
        if self.records_path is not None:
            items = _read_records(self.records_path)
        else:
            items = _json_value(self._records if self._records is not None else self.records, "records")
        if isinstance(items, Mapping) or not isinstance(items, Sequence) or isinstance(items, str):
            raise AirflowFailException(
                f"{self.operation} takes a list of dicts; records are a {type(items).__name__}."
            )
        if not items:
            raise AirflowFailException(f"{self.operation}: there are no records to submit.")
        return list(items)

    def _batches(self, items: Any) -> list[Any]:
        if self.operation == "asyncSearch":
            return [items]
        limit = RECORD_LIMITS.get(self.operation)
        if limit is None or len(items) <= limit:
            return [items]
        if not self.split_over_limit:
            error = RecordCountError(self.operation, len(items), limit)
            raise AirflowFailException(f"{error} Nothing was sent.")
        return chunked(items, limit)

    def _fingerprint(self, batches: list[Any]) -> str:
        request = {
            "operation": self.operation,
            "batches": batches,
            "record_type": self.record_type,
            "deletion_reason": self.deletion_reason,
        }
        text = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


class SubmitState:
    """The job ids a submit task instance created, kept for its retries.

    In Airflow's ``task_state_store`` (Airflow 3.3; key ``netsuite_submit``), scoped to the task
    instance (dag id, run id, task id, map index): it outlives tries and clears, and goes with
    the DAG run and ``airflow db clean``. Airflow 3.2 has no ``task_state_store``: an Airflow
    Variable (``ledger_key``) stands in, deleted when the DAG run ends
    (``airflow_asyncjob.listeners``). Either holds ``{"job_ids": [...], "fingerprint": <sha256
    of the request>, "try_number": n}``, never records.
    """

    def __init__(self, context: Context) -> None:
        ti = context["ti"]
        self.try_number = int(ti.try_number)
        self.store = context.get("task_state_store")
        map_index = getattr(ti, "map_index", -1)
        self.key = ledger_key(ti.dag_id, ti.task_id, -1 if map_index is None else map_index, ti.run_id)
        self.recorded_try: int | None = None

    def _read(self) -> Any:
        if self.store is not None:
            return self.store.get(SUBMIT_STATE_KEY)
        return Variable.get(self.key, default=None, deserialize_json=True)

    def submitted(self, fingerprint: str) -> list[str]:
        """Job ids an earlier try created for the same request ([] when none).

        Raises:
            AirflowFailException: an earlier try submitted a different request.
        """
        entry = self._read()
        if not isinstance(entry, Mapping):
            return []
        job_ids = [str(j) for j in entry.get("job_ids") or []]
        if job_ids and entry.get("fingerprint") != fingerprint:
            where = (
                f"task_state_store key {SUBMIT_STATE_KEY!r}"
                if self.store is not None
                else f"Variable {self.key!r}"
            )
            raise AirflowFailException(
                f"try {entry.get('try_number')} of this task already submitted job(s) {', '.join(job_ids)} "
                f"for different records. Not submitting again: to submit these records as new jobs, "
                f"trigger a new DAG run, or delete {where} of this task instance first."
            )
        self.recorded_try = entry.get("try_number")
        return job_ids

    def record(self, job_ids: list[str], fingerprint: str) -> None:
        """Write the job ids (before anything else happens), or fail without retry, naming them."""
        entry: dict[str, Any] = {
            "try_number": self.try_number,
            "fingerprint": fingerprint,
            "job_ids": list(job_ids),
        }
        try:
            if self.store is not None:
                self.store.set(SUBMIT_STATE_KEY, entry)
            else:
                Variable.set(
                    self.key,
                    entry,
                    description="Job ids of a NetSuite async submit (airflow-provider-asyncjob), so that "
                    "its retries do not submit again. Deleted when the DAG run ends.",
                    serialize_json=True,
                )
        except Exception as error:
            raise AirflowFailException(
                f"NetSuite created job(s) {', '.join(job_ids)}, but they could not be recorded for "
                f"retries ({type(error).__name__}: {error}); failing without retry so that they are "
                "not submitted twice."
            ) from error


def ledger_key(dag_id: str, task_id: str, map_index: int, run_id: str) -> str:
    """The Variable that stands in for ``task_state_store`` on Airflow < 3.3:
    ``netsuite_async_submit:<dag_id>:<task_id>:<map_index>:<run_id>``, or, over the Variable key
    column's 250 characters, ``netsuite_async_submit:<dag_id[:80]>:<task_id[:80]>:<sha256[:40]>``."""
    key = f"{LEDGER_PREFIX}:{dag_id}:{task_id}:{map_index}:{run_id}"
    if len(key) > 250:
        digest = hashlib.sha256(key.encode()).hexdigest()[:40]
        key = f"{LEDGER_PREFIX}:{dag_id[:80]}:{task_id[:80]}:{digest}"
    return key


def _records_summary(records: Any) -> str:
    """What the rendered fields show instead of the records."""
    if isinstance(records, str):
        return f"<a JSON string of {len(records)} characters: not kept in rendered fields>"
    if isinstance(records, Sequence):
        return f"<{len(records)} records: not kept in rendered fields>"
    return f"<{type(records).__name__}: not kept in rendered fields>"


def _json_value(value: Any, name: str) -> Any:
    """A templated JSON string -> its value; anything else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise AirflowFailException(f"{name} is a string that is not JSON: {error}") from None
    return value


def _read_records(location: str) -> list[Any]:
    """Records from a JSON list or a JSON-lines file (``.jsonl``/``.ndjson``) at ``location``."""
    path = ObjectStoragePath(location)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AirflowFailException(f"cannot read records_path {location!r}: {error}") from error
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise AirflowFailException(f"records_path {location!r} is not valid JSON: {error}") from None
    if not isinstance(data, list):
        raise AirflowFailException(f"records_path {location!r} must hold a JSON list of records.")
    return data
