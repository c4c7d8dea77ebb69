"""Delete the submit ledger's Variables when their DAG run ends (Airflow < 3.3).

On Airflow 3.2, which has no ``task_state_store``, AsyncJobSubmitOperator keeps the job ids of a
task instance in an Airflow Variable (``airflow_asyncjob.operators.async_job.ledger_key``) so that
its retries do not submit again. Nothing retries once the DAG run has ended, so this listener,
registered by the plugin this package declares (entry point ``airflow.plugins``), deletes the
Variables of every task instance of the run when the run succeeds or fails. It runs where the
run's state changes (the scheduler, or ``dag.test()``), in the same database session. On Airflow
3.3 the operator writes no Variable; the listener then only removes what an earlier version left for that run.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)


def delete_ledger_variables(dag_run: Any) -> int:
    """Delete the ledger Variables of ``dag_run``'s task instances; return how many there were."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import delete
    from sqlalchemy.orm import object_session

    from airflow_asyncjob.operators.async_job import ledger_key

    session = object_session(dag_run)
    if session is None:
        with create_session() as own:
            return _delete(own, dag_run, delete, Variable, ledger_key)
    return _delete(session, dag_run, delete, Variable, ledger_key)


def _delete(session: Any, dag_run: Any, delete: Any, variable: Any, ledger_key: Any) -> int:
    keys = {
        ledger_key(dag_run.dag_id, ti.task_id, -1 if ti.map_index is None else ti.map_index, dag_run.run_id)
        for ti in dag_run.get_task_instances(session=session)
    }
    if not keys:
        return 0
    result = session.execute(delete(variable).where(variable.key.in_(sorted(keys))))
    return int(result.rowcount or 0)


def _on_run_end(dag_run: Any) -> None:
    try:
        deleted = delete_ledger_variables(dag_run)
    except Exception:  # a listener must never fail the scheduler's state change
        log.exception("Could not delete the NetSuite submit ledger Variables of %s", dag_run.run_id)
        return
    if deleted:
        log.info("Deleted %d NetSuite submit ledger Variable(s) of run %s.", deleted, dag_run.run_id)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    """The run succeeded: its submits will not be retried."""
    _on_run_end(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    """The run failed: its submits will not be retried."""
    _on_run_end(dag_run)


class SubmitLedgerCleanupPlugin(AirflowPlugin):
    """Registers this module as a listener."""

    name = "netsuite_submit_ledger_cleanup"
    listeners = [sys.modules[__name__]]
