"""NetSuite record types as Airflow assets: ``netsuite://<account>/<recordType>``.

One asset is one record type in one NetSuite account. Its URI has one canonical form,
``netsuite://1234567-sb1/salesOrder``:

- the account as the label of its account-specific domain (``1234567-sb1`` in
  ``https://1234567-sb1.suitetalk.api.netsuite.com``): lower case, ``-`` before the sandbox or
  release-preview suffix, as URI hosts are written. ``1234567_SB1``, ``1234567-SB1`` and
  ``1234567_sb1`` are the same account (``netsuite.endpoints.normalize_account_id``);
- the record type as NetSuite's schema spells it (platformCoreTyp:RecordType): ``customer``,
  ``salesOrder``, whatever case it was given in (``netsuite.record_types``).

The provider registers the scheme with Airflow (provider info ``asset-uris``), so
``Asset("netsuite://1234567_SB1/Customer")`` gets the canonical URI too. Build assets with
:func:`netsuite_asset`, which also makes the asset's *name* canonical: Airflow identifies an asset
by name and URI, and an ``Asset(uri=...)`` keeps the URI as given for its name.

Which asset a submit writes (AsyncJobSubmitOperator): asyncAddList, asyncUpdateList,
asyncUpsertList and asyncDeleteList write the record types of their records. asyncGetList,
asyncSearch and asyncInitializeList write nothing (initialize returns an unsaved record).

The account is known only when the task runs (it is in the connection), while Airflow needs a
task's outlets when it parses the DAG. So a writing submit without ``outlets`` declares an
``AssetAlias`` (:func:`writes_alias`, one per connection id) and, on success, adds an event for
each ``netsuite://`` asset it wrote to it; a DAG scheduled on ``netsuite_asset(account, type)``
runs after it. Declared ``netsuite://`` outlets are checked against the connection's account and
the records' types before anything is sent (a consumer must not run for data that was not
written) and get the same event extra.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetAlias
from airflow.sdk.exceptions import AirflowFailException

from airflow_asyncjob.netsuite.endpoints import normalize_account_id
from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.netsuite.record_types import canonical_record_type

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from airflow.sdk import Context

    from airflow_asyncjob.operators.async_job import AsyncJobSubmitOperator

log = logging.getLogger(__name__)

SCHEME = "netsuite"
"""The asset URI scheme this provider registers."""

RECORD_WRITE_OPERATIONS = ("asyncAddList", "asyncUpdateList", "asyncUpsertList")
"""The operations whose items are records (``netsuite.records.RECORD_OPERATIONS``)."""
WRITE_OPERATIONS = (*RECORD_WRITE_OPERATIONS, "asyncDeleteList")
"""The async operations that change records, so that their record types are assets written.
Spelt here, not imported from ``netsuite.records``: Airflow imports this module's URI handler
in every component, and ``records`` loads zeep."""

TYPE_KEY = "@type"
"""A record dict's type key (``netsuite.records.TYPE_KEY``)."""


class NetSuiteAssetUriError(ValueError):
    """A ``netsuite://`` URI that names no account and record type. A ValueError, as Airflow's
    asset URI handlers raise."""


def _account_label(raw: str) -> str:
    try:
        return normalize_account_id(raw).host
    except ConfigurationError as error:
        raise NetSuiteAssetUriError(f"netsuite:// asset: {error}") from None


def _record_type(raw: str) -> str:
    try:
        return canonical_record_type(raw)
    except ValueError as error:
        raise NetSuiteAssetUriError(f"netsuite:// asset: {error}") from None


def normalize_netsuite_uri(parts: SplitResult) -> SplitResult:
    """Airflow's asset URI handler for ``netsuite``: ``SplitResult`` -> its canonical form.

    ``netsuite://1234567_SB1/Customer`` -> ``netsuite://1234567-sb1/customer``.

    Raises:
        NetSuiteAssetUriError: no account, not exactly one record type in the path, a user,
            port, query or fragment, or an account id or record type NetSuite cannot have.
    """
    where = urllib.parse.urlunsplit(parts)
    if parts.username or parts.port is not None or parts.query or parts.fragment:
        raise NetSuiteAssetUriError(
            f"netsuite:// asset {where!r}: write it as netsuite://<account>/<recordType>, with no "
            "user, port, query or fragment."
        )
    segments = [s for s in parts.path.split("/") if s]
    if not parts.hostname or len(segments) != 1:
        raise NetSuiteAssetUriError(
            f"netsuite:// asset {where!r}: write it as netsuite://<account>/<recordType>, e.g. "
            "netsuite://1234567_SB1/customer."
        )
    return parts._replace(netloc=_account_label(parts.netloc), path="/" + _record_type(segments[0]))


def netsuite_uri(account_id: str, record_type: str) -> str:
    """The canonical URI: ``netsuite_uri("1234567_SB1", "SalesOrder")`` ->
    ``"netsuite://1234567-sb1/salesOrder"``. Raises NetSuiteAssetUriError for a bad account id or
    record type."""
    return f"{SCHEME}://{_account_label(account_id)}/{_record_type(record_type)}"


def netsuite_namespace(account_id: str) -> str:
    """``netsuite://<account>`` (``netsuite://1234567-sb1``): the account part of its assets'
    URIs, and their OpenLineage namespace."""
    return f"{SCHEME}://{_account_label(account_id)}"


def netsuite_asset(account_id: str, record_type: str, *, extra: Mapping[str, Any] | None = None) -> Asset:
    """The Airflow asset of a record type in an account, name and URI both canonical.

    ``netsuite_asset("1234567_SB1", "customer")`` is ``Asset(name=uri, uri=uri, group="netsuite")``
    with ``uri = "netsuite://1234567-sb1/customer"``; any spelling of the same account and record
    type gives an equal asset. Schedule a DAG on it, or declare it as a submit's outlet.

    Raises:
        NetSuiteAssetUriError: a bad account id or record type.
    """
    uri = netsuite_uri(account_id, record_type)
    return Asset(name=uri, uri=uri, group=SCHEME, extra=dict(extra or {}))


def create_asset(*, account_id: str, record_type: str, extra: Mapping[str, Any] | None = None) -> Asset:
    """Airflow's asset factory for ``netsuite`` (provider info ``asset-uris`` ``factory``, used by
    hook-level lineage): the same as :func:`netsuite_asset`."""
    return netsuite_asset(account_id, record_type, extra=extra)


def openlineage_name(uri: str) -> tuple[str, str]:
    """OpenLineage dataset (namespace, name) of a ``netsuite://`` URI: ``("netsuite://1234567-sb1",
    "customer")``. Namespace and name joined by ``/`` give the asset's canonical URI back."""
    parts = normalize_netsuite_uri(urllib.parse.urlsplit(uri))
    return f"{SCHEME}://{parts.netloc}", parts.path.lstrip("/")


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> Any:
    """Airflow's ``to_openlineage_converter`` for ``netsuite``: the asset as an OpenLineage
    Dataset (namespace ``netsuite://<account>``, name the record type). Imports OpenLineage only
    when called (by the OpenLineage provider, so it is installed)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    namespace, name = openlineage_name(asset.uri)
    return Dataset(namespace=namespace, name=name)


def writes_alias(netsuite_conn_id: str) -> AssetAlias:
    """The asset alias a writing submit without ``outlets`` declares: ``netsuite-writes:<conn id>``.

    At run time the submit adds to it an event for each ``netsuite://`` asset it wrote (the
    account is read from the connection then)."""
    return AssetAlias(name=f"netsuite-writes:{netsuite_conn_id}", group=SCHEME)


def default_outlets(operation: str, netsuite_conn_id: str) -> list[AssetAlias]:
    """The outlets of a submit that declares none: the connection's alias for a writing
    operation, none for asyncGetList, asyncSearch and asyncInitializeList."""
    return [writes_alias(netsuite_conn_id)] if operation in WRITE_OPERATIONS else []


def _item_record_type(operation: str, item: Any, record_type: str | None) -> str | None:
    if not isinstance(item, Mapping):
        return None
    if operation in RECORD_WRITE_OPERATIONS:
        name = item.get(TYPE_KEY) or record_type
    elif item.get("scriptId") or item.get("typeId"):  # a CustomRecordRef
        name = item.get("scriptId") or "customRecord"
    else:
        name = item.get("type") or record_type
    return str(name) if name else None


def records_by_type(operation: str, batches: Sequence[Any], record_type: str | None) -> Counter[str]:
    """Records per canonical record type that ``operation`` writes; empty for one that writes
    nothing. A record whose type is missing or malformed is left out (the submit itself rejects
    it with the record's position)."""
    counts: Counter[str] = Counter()
    if operation not in WRITE_OPERATIONS:
        return counts
    for batch in batches:
        for item in batch:
            name = _item_record_type(operation, item, record_type)
            if name is None:
                continue
            try:
                counts[canonical_record_type(name)] += 1
            except ValueError:
                continue
    return counts


def asset_event_extra(
    *,
    operation: str,
    job_ids: Sequence[str],
    account_id: str,
    record_type: str,
    records_submitted: int,
    outcome: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The extra of the asset event a submit emits for one record type.

    ``{"job_id": first job id, "job_ids": [...], "operation", "account_id": "1234567_SB1",
    "record_type": "customer", "records_submitted": records of this type}``, plus, when the job's
    end is known (``outcome``: a GetAsyncResultOperator summary or a final status), ``"status"``,
    ``"records"``, ``"succeeded"``, ``"failed"`` and ``"failures_by_code": {code: records}``
    (for the whole job; NetSuite's result pages give them).
    """
    extra: dict[str, Any] = {
        "job_id": job_ids[0] if job_ids else None,
        "job_ids": list(job_ids),
        "operation": operation,
        "account_id": account_id,
        "record_type": record_type,
        "records_submitted": records_submitted,
    }
    for key in ("status", "records", "succeeded", "failed", "failures_by_code"):
        if outcome and outcome.get(key) is not None:
            extra[key] = outcome[key]
    return extra


@dataclass
class SubmitAssets:
    """The ``netsuite://`` assets one submit writes, checked against its outlets before sending.

    Build with :meth:`plan` before the first request; call :meth:`emit` on success.
    """

    operation: str
    account_id: str
    counts: Counter[str]
    declared: list[Asset] = field(default_factory=list)
    aliases: list[AssetAlias] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    """URI -> the extra emitted, filled by :meth:`emit` (the OpenLineage facets read it)."""
    job_ids: list[str] = field(default_factory=list)
    """The job ids the submit created, set by :meth:`emit`."""
    log: Any = field(default=log, repr=False, compare=False)
    """Where :meth:`emit` says what it emitted: the task's log."""

    @classmethod
    def plan(cls, task: AsyncJobSubmitOperator, batches: Sequence[Any]) -> SubmitAssets:
        """Read the connection's account and the records' types; check declared outlets.

        Raises:
            AirflowFailException: a declared ``netsuite://`` outlet names another account than
                the connection's, or a record type these records do not have. Nothing was sent.
        """
        operation = task.operation
        counts = records_by_type(operation, batches, task.record_type)
        outlets = list(task.outlets or [])
        declared = [o for o in outlets if isinstance(o, Asset) and o.uri.startswith(f"{SCHEME}://")]
        aliases = [o for o in outlets if isinstance(o, AssetAlias)]
        account_id = ""
        if declared or (aliases and counts):
            try:
                account = task.hook.get_account_id()
            except ConfigurationError as error:
                raise AirflowFailException(str(error)) from error
            account_id = account.passport
        plan = cls(operation, account_id, counts, declared, aliases, log=task.log)
        written = set(plan.uris())
        for asset in declared:
            if asset.uri not in written:
                raise AirflowFailException(
                    f"outlet {asset.uri} is not written by this {operation} on connection "
                    f"{task.netsuite_conn_id!r} (account {account_id}), which writes "
                    f"{', '.join(sorted(written)) or 'no record type'}: nothing was sent. Declare "
                    "netsuite_asset(<the connection's account_id>, <record type>) or leave outlets unset."
                )
        return plan

    def uris(self) -> dict[str, str]:
        """Canonical URI -> record type, for each record type written."""
        if not self.account_id:
            return {}
        return {netsuite_uri(self.account_id, t): t for t in self.counts}

    def emit(
        self, context: Context, job_ids: Sequence[str], outcome: Mapping[str, Any] | None = None
    ) -> None:
        """Attach the event extra to each declared ``netsuite://`` outlet and add an event per
        written record type to each declared alias (Airflow records them when the task succeeds)."""
        outlet_events = context["outlet_events"]
        self.job_ids = list(job_ids)
        for uri, record_type in self.uris().items():
            self.events[uri] = asset_event_extra(
                operation=self.operation,
                job_ids=job_ids,
                account_id=self.account_id,
                record_type=record_type,
                records_submitted=self.counts[record_type],
                outcome=outcome,
            )
        for asset in self.declared:
            outlet_events[asset].extra.update(self.events[asset.uri])
        for alias in self.aliases:
            for uri, extra in self.events.items():
                outlet_events[alias].add(Asset(name=uri, uri=uri, group=SCHEME), extra=extra)
        for uri, extra in self.events.items():
            self.log.info("Asset event for %s on success: %s", uri, json.dumps(extra, sort_keys=True))
