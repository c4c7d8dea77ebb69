"""Which hook waits for a job: SoapAsyncJobHook for a ``netsuite_soap`` connection, RestAsyncJobHook
for a ``netsuite_rest`` one, chosen by the connection's type.

AsyncJobStatusSensor, AsyncJobStatusTrigger, ``AsyncJobSubmitOperator(wait_for_completion=True)``
and the NetSuite job tab call only what both hooks share: ``check_async_status(job_id) ->
AsyncJobStatus``, ``timeout``, ``get_settings()`` and ``async with get_async_conn() as client`` whose
client has ``check_async_status``. So a DAG moves from SOAP to REST by changing its connection
and its submit task; its sensor, branch and result task stay.

The REST hook is imported only for a REST connection, so a SOAP-only deployment never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from airflow.sdk import BaseHook

from airflow_asyncjob.get_provider_info import REST_CONNECTION_TYPE
from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_asyncjob.hooks.rest_async_job import RestAsyncJobHook

JobHook = Union[SoapAsyncJobHook, "RestAsyncJobHook"]
"""Either hook; both have ``check_async_status``, ``timeout``, ``get_settings`` and ``get_async_conn``."""

SOAP = "soap"
REST = "rest"


def api_of(conn: Connection) -> str:
    """``"rest"`` for a ``netsuite_rest`` connection, else ``"soap"`` (the SOAP hook names any other
    type's missing fields, as it always has)."""
    return REST if (conn.conn_type or "").strip().lower() == REST_CONNECTION_TYPE else SOAP


def _build(conn: Connection, conn_id: str, retry: RetryPolicy | None, timeout: float) -> JobHook:
    if api_of(conn) == REST:
        from airflow_asyncjob.hooks.rest_async_job import RestAsyncJobHook

        return RestAsyncJobHook(netsuite_conn_id=conn_id, retry=retry, timeout=timeout)
    return SoapAsyncJobHook(netsuite_conn_id=conn_id, retry=retry, timeout=timeout)


def job_hook(conn_id: str, *, retry: RetryPolicy | None = None, timeout: float = 60.0) -> JobHook:
    """The hook for connection ``conn_id`` (Airflow's sync connection API).

    Raises:
        AirflowNotFoundException: no such connection (as the hook itself would).
    """
    return _build(BaseHook.get_connection(conn_id), conn_id, retry, timeout)


async def ajob_hook(conn_id: str, *, retry: RetryPolicy | None = None, timeout: float = 60.0) -> JobHook:
    """``job_hook`` through Airflow's async connection API (the triggerer, the UI's live status)."""
    conn: Any = await BaseHook.aget_connection(conn_id)
    return _build(conn, conn_id, retry, timeout)


def is_rest(hook: Any) -> bool:
    """True for a RestAsyncJobHook (without importing it)."""
    return getattr(hook, "api", SOAP) == REST
