"""AsyncJobLink: a task's button to the account's NetSuite UI, where its async job can be watched."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.sdk.execution_time.xcom import XCom  # the configured XCom backend, as tasks see it

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.endpoints import AccountId
from airflow_asyncjob.netsuite.faults import ConfigurationError

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

log = logging.getLogger(__name__)


def netsuite_ui_url(account: AccountId) -> str:
    """``https://<account host>.app.netsuite.com``: the account-specific domain of NetSuite's UI.

    Source: Help Center "URLs for Account-Specific Domains" and "The DataCenterUrls REST Service"
    (system domain ``https://<accountID>.app.netsuite.com``; a sandbox ``1234567_SB1`` is
    ``1234567-sb1``, as for the SuiteTalk domain).
    """
    return f"https://{account.host}.app.netsuite.com/"


def job_id_from(value: Any) -> str | None:
    """The job id in a task's XCom value: the string itself (a submit operator's return value), the
    first of a list of them (a split submit), or the ``"job_id"`` of a dict (the sensor's final
    status, the result summary); None for anything else."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, Mapping):
        value = value.get("job_id")
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def returned_value(ti_key: TaskInstanceKey) -> Any:
    """The task's XCom return value, or None when it has none (yet).

    Read without ``XCom.get_value``: Airflow's API client logs ``XCom not found`` at error level
    for every read of a value that does not exist, and a deferred or rescheduled try (the link is
    computed when the try ends) or a failed one has none. The slice read (every map index's
    value) answers an empty list instead. A mapped task's own value is then read by its map index.
    """
    values = XCom.get_all(
        key="return_value", dag_id=ti_key.dag_id, task_id=ti_key.task_id, run_id=ti_key.run_id
    )
    if not values:
        return None
    map_index = getattr(ti_key, "map_index", -1)
    if map_index is None or map_index < 0:
        return values[0]
    return XCom.get_value(ti_key=ti_key, key="return_value")


class AsyncJobLink(BaseOperatorLink):
    """ "NetSuite UI": opens the NetSuite account that runs the task's async job.

    NetSuite shows async SOAP jobs on Setup > Integration > SOAP Web Services Process Status
    (Help Center "Monitoring Asynchronous Jobs from the UI", section_N3445354): per job its id,
    status, percent complete, estimated remaining time, request, response and a Cancel box. The
    Help Center documents that page by its menu path only, not by URL, and documents no URL for
    one job; so the link opens the account's UI (the documented account-specific domain, see
    ``netsuite_ui_url``) and the job id is found on that page. A guessed page URL could break
    without notice; this one cannot.

    The link is shown once the task has a job id: its rendered ``job_id`` argument (the sensor,
    the result operator) or else its XCom return value (a job id string or a list of them, as the
    submit operator returns). The account id comes from the task's ``netsuite_conn_id``
    connection. Airflow 3 computes the link in the worker when the try ends (also when a sensor
    is rescheduled or deferred) and keeps it in XCom under ``xcom_key``; with no job id or no
    usable connection, the link is empty and the UI does not show it.
    """

    name = "NetSuite UI"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The URL, or "" when the task has no job id or its connection has no usable account id."""
        job_id = job_id_from(getattr(operator, "job_id", None)) or job_id_from(returned_value(ti_key))
        if job_id is None:
            return ""
        conn_id = getattr(operator, "netsuite_conn_id", None) or SoapAsyncJobHook.default_conn_name
        try:
            account = SoapAsyncJobHook(netsuite_conn_id=conn_id).get_account_id()
        except (ConfigurationError, AirflowNotFoundException) as error:
            log.warning("No NetSuite UI link for job %s: %s", job_id, error)
            return ""
        return netsuite_ui_url(account)
