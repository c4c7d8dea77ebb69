"""OpenLineage facets of the submit and result operators, for apache-airflow-providers-openlineage.

The OpenLineage provider calls the operators' ``get_openlineage_facets_on_start`` and
``get_openlineage_facets_on_complete`` (also on failure); they delegate here. OpenLineage is
imported only inside these functions, which only that provider calls: without it installed this
module and the operators import nothing of it.

What a run reports:

- AsyncJobSubmitOperator: outputs, one dataset per record type written, namespace
  ``netsuite://<account>`` and name the record type (``netsuite://1234567-sb1`` / ``customer``:
  the asset's URI, ``airflow_asyncjob.assets``); none for asyncGetList, asyncSearch and
  asyncInitializeList. Inputs: ``records_path`` as a dataset of its storage (``file`` / the
  path, ``s3://bucket`` / the key), or the upstream task's XCom the records come from
  (``xcom://<dag_id>`` / ``<task_id>/<key>``).
- GetAsyncResultOperator: inputs, the record types its result pages name in the account;
  output, the JSON-lines file (``output_path``).
- Both, on complete: the run facets ``externalQuery`` (OpenLineage's standard facet for a remote
  system's job id: ``externalQueryId`` = NetSuite's job id, ``source`` = ``netsuite://<account>``)
  and ``netsuite_async_job``: ``jobIds``, ``operation``, ``outcome`` (``submitted``, or for the
  result operator ``finished`` / ``finishedWithErrors`` / ``failed`` from the per-record results)
  and the counts known (``recordsSubmitted``; ``records``, ``succeeded``, ``failed``,
  ``failuresByCode``). The job id belongs to one run, not to the job definition, so these are run
  facets rather than job facets.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from airflow_asyncjob.assets import (
    WRITE_OPERATIONS,
    netsuite_namespace,
    netsuite_uri,
    openlineage_name,
    records_by_type,
)

if TYPE_CHECKING:
    from airflow_asyncjob.operators.async_job import AsyncJobSubmitOperator, GetAsyncResultOperator

FACET_NAME = "netsuite_async_job"
"""The run facet's key in an OpenLineage event's ``run.facets``."""

FACET_SCHEMA_URL = "urn:airflow-provider-asyncjob:NetSuiteAsyncJobRunFacet:1"
"""The facet's ``_schemaURL`` (OpenLineage facets name their schema by URI); docs/assets.md
describes its fields. A URN: the package publishes no JSON schema at a URL."""


def upstream_xcom(records: Any) -> tuple[str, str] | None:
    """``(task_id, key)`` of the task whose XCom ``records`` is (an XComArg such as
    ``extract.output``), else None. Read when the operator is built, before Airflow resolves it."""
    operator = getattr(records, "operator", None)
    key = getattr(records, "key", None)
    task_id = getattr(operator, "task_id", None)
    if task_id is None or key is None:
        return None
    return str(task_id), str(key)


@lru_cache(maxsize=1)
def _run_facet_class() -> type:
    import attr
    from openlineage.client.generated.base import RunFacet

    @attr.define
    class NetSuiteAsyncJobRunFacet(RunFacet):
        """NetSuite async job(s) of a task run: ids, operation, outcome and record counts."""

        jobIds: list[str]  # noqa: N815 -- OpenLineage facets use lowerCamel keys
        operation: str | None = None
        outcome: str | None = None
        recordsSubmitted: int | None = None  # noqa: N815
        records: int | None = None
        succeeded: int | None = None
        failed: int | None = None
        failuresByCode: dict[str, int] | None = None  # noqa: N815

        @staticmethod
        def _get_schema() -> str:
            return FACET_SCHEMA_URL

    return NetSuiteAsyncJobRunFacet


def _netsuite_dataset(account_id: str, record_type: str) -> Any:
    from airflow.providers.common.compat.openlineage.facet import Dataset

    namespace, name = openlineage_name(netsuite_uri(account_id, record_type))
    return Dataset(namespace=namespace, name=name)


def _storage_dataset(location: str) -> Any:
    from airflow.providers.common.compat.openlineage.facet import Dataset

    parts = urllib.parse.urlsplit(location)
    if parts.scheme in ("", "file"):
        return Dataset(namespace="file", name=parts.path or location)
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/"))


def _run_facets(
    account_id: str | None,
    job_ids: list[str],
    operation: str | None,
    outcome: str | None,
    counts: Mapping[str, Any],
) -> dict[str, Any]:
    from airflow.providers.common.compat.openlineage.facet import ExternalQueryRunFacet

    if not job_ids:
        return {}
    facets: dict[str, Any] = {}
    if account_id:
        facets["externalQuery"] = ExternalQueryRunFacet(
            externalQueryId=job_ids[0], source=netsuite_namespace(account_id)
        )
    facets[FACET_NAME] = _run_facet_class()(
        jobIds=list(job_ids),
        operation=operation,
        outcome=outcome,
        recordsSubmitted=counts.get("records_submitted"),
        records=counts.get("records"),
        succeeded=counts.get("succeeded"),
        failed=counts.get("failed"),
        failuresByCode=dict(counts["failures_by_code"]) if counts.get("failures_by_code") else None,
    )
    return facets


def _account_id(task: Any) -> str | None:
    try:
        return str(task.hook.get_account_id().passport)
    except Exception:  # lineage must never fail the task: no account, no NetSuite datasets
        return None


def submit_facets(task: AsyncJobSubmitOperator, *, complete: bool) -> Any:
    """The submit's OperatorLineage (see the module docstring). On start, the outputs come from
    ``record_type`` or the rendered records; on complete, from what the submit wrote."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    plan = task.submit_assets
    inputs: list[Any] = []
    if task.records_path:
        inputs.append(_storage_dataset(str(task.records_path)))
    elif task.records_source is not None:
        from airflow.providers.common.compat.openlineage.facet import Dataset

        task_id, key = task.records_source
        inputs.append(Dataset(namespace=f"xcom://{task.dag_id}", name=f"{task_id}/{key}"))
    if task.operation not in WRITE_OPERATIONS:
        record_types: list[str] = []
    elif plan is not None and plan.counts:
        record_types = sorted(plan.counts)
    elif isinstance(task.records, list):
        record_types = sorted(records_by_type(task.operation, [task.records], task.record_type))
    else:
        record_types = [task.record_type] if task.record_type else []
    account_id = plan.account_id if plan is not None and plan.account_id else None
    if record_types and account_id is None:
        account_id = _account_id(task)
    outputs = [_netsuite_dataset(account_id, t) for t in record_types] if account_id else []
    run_facets: dict[str, Any] = {}
    if complete and plan is not None and plan.job_ids:
        run_facets = _run_facets(
            account_id or _account_id(task),
            plan.job_ids,
            task.operation,
            "submitted",
            {"records_submitted": sum(plan.counts.values()) or None},
        )
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


def _result_outcome(outcome: Mapping[str, Any]) -> str:
    if outcome.get("job_errors") and not outcome.get("records"):
        return "failed"
    return "finishedWithErrors" if outcome.get("failed") else "finished"


def result_facets(task: GetAsyncResultOperator, *, complete: bool) -> Any:
    """The result operator's OperatorLineage (see the module docstring)."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    outcome = task.outcome if complete else None
    location = (outcome or {}).get("output_path") or task.output_path
    outputs = [_storage_dataset(str(location))] if location else []
    if not outcome:
        return OperatorLineage(outputs=outputs)
    account_id = _account_id(task)
    record_types = sorted(outcome.get("record_types") or {})
    inputs = [_netsuite_dataset(account_id, t) for t in record_types] if account_id else []
    run_facets = _run_facets(account_id, [str(outcome["job_id"])], None, _result_outcome(outcome), outcome)
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)
