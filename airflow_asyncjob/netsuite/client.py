"""NetSuiteClient: authenticated NetSuite SOAP calls from synchronous code (poke and reschedule
modes, operators), over zeep.

Every call uses the process-wide zeep service of its settings (``process_state``). Every HTTP
request gets a fresh tokenPassport (new nonce, timestamp and signature), retries included;
transient failures are retried per the RetryPolicy. The async client is in ``async_client``.

Imports nothing from Airflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from airflow_asyncjob.netsuite import operations
from airflow_asyncjob.netsuite.faults import NetSuiteError, SubmitOutcomeUnknownError
from airflow_asyncjob.netsuite.models import AsyncJobStatus, AsyncResultPage, parse_submit_status
from airflow_asyncjob.netsuite.process_state import PROCESS_STATE
from airflow_asyncjob.netsuite.records import RecordBuilder, build_request
from airflow_asyncjob.netsuite.resend import outcome_unknown
from airflow_asyncjob.netsuite.transports import translate

T = TypeVar("T")


class NetSuiteClient(operations.ClientBase):
    """Authenticated NetSuite SOAP calls for one account and endpoint version (sync).

    Args:
        settings: the account's ClientSettings (``max_in_flight`` does not apply here).
        retry: the RetryPolicy for transient failures (default ``RetryPolicy()``).
        on_signature: called with each tokenPassport signature before it is sent (the hook
            registers it with Airflow's secrets masker).

    Every method raises a NetSuiteError subclass (see faults.py) and nothing else.
    """

    def check_async_status(self, job_id: str) -> AsyncJobStatus:
        """checkAsyncStatus(jobId) -> AsyncJobStatus (Help Center: "checkAsyncStatus")."""
        return self._run(operations.check_async_status(job_id))

    def get_async_result(self, job_id: str, page_index: int = 1) -> AsyncResultPage:
        """getAsyncResult(jobId, pageIndex) -> one AsyncResultPage (pageIndex is 1-based).

        NetSuite allows 20 calls per job within 30 days; each call here is one of them.
        """
        return self._run(operations.get_async_result(job_id, page_index))

    def get_server_time(self) -> datetime:
        """getServerTime -> NetSuite's clock (a cheap authenticated call)."""
        return self._run(operations.get_server_time())

    def submit(
        self,
        operation: str,
        items: Any,
        *,
        record_type: str | None = None,
        deletion_reason: dict[str, Any] | None = None,
    ) -> AsyncJobStatus:
        """Submit one async job: asyncAddList / asyncUpdateList / asyncUpsertList (records),
        asyncDeleteList / asyncGetList (baseRefs), asyncInitializeList (initializeRecords) or
        asyncSearch (one search record). See records.py for the dict shapes.

        Returns the job's first status (``pending`` with its job id). The record count is checked
        before sending. Retried only where NetSuite cannot have created the job (the RetryPolicy's
        rule for submits): a fault answer (WS_REQUEST_BLOCKED, ...), HTTP 429/503, or no
        connection made.

        Raises:
            RecordCountError / ConfigurationError: bad items or over the operation's limit.
            SubmitOutcomeUnknownError: sent, but no usable answer (time-out, dropped connection,
                gateway error, cut-off body, an HTTP 200 answer that cannot be read): the job
                may exist; not retried.
            NetSuiteResponseError: the answer names no job (no jobId): the job may exist; not
                retried. Or another answer outside the protocol.
            NetSuiteError: any other failure.
        """
        body = build_request(
            self.record_builder(), operation, items, record_type=record_type, deletion_reason=deletion_reason
        )
        try:
            answer = self._call(operation, None, body)
        except NetSuiteError as error:
            if outcome_unknown(error):
                raise SubmitOutcomeUnknownError(operation, error) from error
            raise
        return parse_submit_status(answer, operation=operation)

    def record_builder(self) -> RecordBuilder:
        """The RecordBuilder over the schema this client sends with (compact or ``wsdl``)."""
        s = self.settings
        return PROCESS_STATE.record_builder(s.endpoint_version, s.url, s.timeout, s.verify_tls, s.wsdl)

    def _run(self, call: operations.Call[T]) -> T:
        return call.parse(self._call(call.operation, call.job_id, call.body, records=call.records))

    def _call(self, operation: str, job_id: str | None, body: dict[str, Any], *, records: bool = True) -> Any:
        """One operation with retries; returns the answer's SOAP body as zeep objects."""
        return self.retry.retrying(operation)(self._attempt, operation, job_id, body, records)

    def _attempt(self, operation: str, job_id: str | None, body: dict[str, Any], records: bool) -> Any:
        s = self.settings
        service = PROCESS_STATE.service(s.endpoint_version, s.url, s.timeout, s.verify_tls, s.wsdl, records)
        headers = operations.soap_headers(service, s.endpoint_version, s.credentials, self.on_signature)
        try:
            return getattr(service, operation)(**body, _soapheaders=headers).body
        except Exception as error:  # every failure leaves as a typed NetSuiteError
            raise translate(error, operation, job_id) from None
