"""netsuite:// assets: one canonical URI per account and record type, registered with Airflow, and
the asset events a submit emits (run with dag.test() against the emulator, account 1234567_SB1).

The DAGs are in tests/dags/asset_dags.py.
"""

from __future__ import annotations

from typing import Any

import asset_dags
import pytest
from airflow.sdk import Asset

from airflow_asyncjob.assets import (
    WRITE_OPERATIONS,
    NetSuiteAssetUriError,
    netsuite_asset,
    normalize_netsuite_uri,
    records_by_type,
    writes_alias,
)
from airflow_asyncjob.netsuite import records as netsuite_records
from airflow_asyncjob.netsuite.record_types import canonical_record_type
from airflow_asyncjob.operators.async_job import AsyncJobSubmitOperator
from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS

CUSTOMERS: list[dict[str, Any]] = [
    {"externalId": "cust-1", "companyName": "Acme"},
    {"externalId": "dup-2", "companyName": "Globex"},
    {"externalId": "badref-3", "companyName": "Umbrella", "subsidiary": {"internalId": "99"}},
]


@pytest.mark.parametrize(
    "uri",
    [
        "netsuite://1234567_SB1/customer",
        "netsuite://1234567-sb1/Customer",
        "NETSUITE://1234567_sb1/CUSTOMER/",
        "netsuite://1234567-SB1/customer#section",
    ],
)
def test_sandbox_and_case_variants_are_one_uri(uri):
    assert Asset(uri=uri).uri == "netsuite://1234567-sb1/customer"


def test_record_types_take_the_schema_spelling():
    assert Asset(uri="netsuite://1234567/SALESORDER").uri == "netsuite://1234567/salesOrder"
    assert canonical_record_type("salesorder") == "salesOrder"
    assert canonical_record_type("CustomRecord_Invoice_Batch") == "customrecord_invoice_batch"
    assert canonical_record_type("NewerThan2023Record") == "newerThan2023Record"


def test_netsuite_asset_is_the_same_asset_for_every_spelling():
    asset = netsuite_asset("1234567_SB1", "salesOrder")
    assert asset == netsuite_asset(" '1234567-sb1' ", "SalesOrder")
    assert (asset.name, asset.uri, asset.group) == (
        "netsuite://1234567-sb1/salesOrder",
        "netsuite://1234567-sb1/salesOrder",
        "netsuite",
    )


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("netsuite://1234567_SB1", "netsuite://<account>/<recordType>"),
        ("netsuite://1234567/customer/42", "netsuite://<account>/<recordType>"),
        ("netsuite://acme/customer", "account_id 'acme' is not a NetSuite account id"),
        ("netsuite://1234567/sales-order", "record type 'sales-order' is not a NetSuite record type"),
        ("netsuite://1234567:443/customer", "no user, port, query or fragment"),
        ("netsuite://1234567/customer?page=2", "no user, port, query or fragment"),
    ],
)
def test_a_uri_that_names_no_account_and_record_type_is_refused(uri, says):
    with pytest.raises(NetSuiteAssetUriError, match=says.replace("?", r"\?")):
        Asset(uri=uri)


def test_airflow_registers_the_scheme_with_its_normaliser_factory_and_converter():
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManagerTaskRuntime()
    assert manager.asset_uri_handlers["netsuite"] is normalize_netsuite_uri
    assert manager.asset_factories["netsuite"](account_id="1234567_SB1", record_type="customer") == (
        netsuite_asset("1234567_SB1", "customer")
    )
    assert "netsuite" in manager.asset_to_openlineage_converters


def test_the_write_operations_match_the_protocol_modules():
    assert WRITE_OPERATIONS == (*netsuite_records.RECORD_OPERATIONS, "asyncDeleteList")


def test_records_are_counted_per_record_type_written():
    batches = [[{"@type": "customer"}, {"@type": "SalesOrder"}], [{}, {"@type": "Customer"}]]
    assert records_by_type("asyncAddList", batches, "customer") == {"customer": 3, "salesOrder": 1}
    refs = [[{"type": "customer", "internalId": "1"}, {"scriptId": "customrecord_x", "internalId": "2"}]]
    assert records_by_type("asyncDeleteList", refs, None) == {"customer": 1, "customrecord_x": 1}
    assert records_by_type("asyncGetList", refs, None) == {}


@pytest.mark.parametrize(
    ("operation", "kwargs", "outlets"),
    [
        ("asyncUpsertList", {"records": []}, [writes_alias("netsuite_default")]),
        ("asyncDeleteList", {"records": [], "netsuite_conn_id": "ns"}, [writes_alias("ns")]),
        ("asyncGetList", {"records": []}, []),
        ("asyncInitializeList", {"records": []}, []),
        ("asyncSearch", {"search_record": {}}, []),
        ("asyncAddList", {"records": [], "outlets": []}, []),
    ],
)
def test_a_submit_without_outlets_declares_its_connections_alias_only_when_it_writes(
    operation, kwargs, outlets
):
    assert AsyncJobSubmitOperator(task_id="t", operation=operation, **kwargs).outlets == outlets


def asset_events(dag_run) -> list[tuple[str, dict, list[str]]]:
    """(URI, extra, source aliases) of the asset events a DAG run's tasks emitted."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(select(AssetEvent).where(AssetEvent.source_run_id == dag_run.run_id)).all()
        return sorted(
            (event.asset.uri, dict(event.extra), sorted(a.name for a in event.source_aliases))
            for event in events
        )


def test_a_submit_without_outlets_emits_an_event_for_the_record_type_it_wrote(airflow_db, emulator, capfd):
    dag_run = asset_dags.DAGS["assets_upsert_then_results"].test(
        run_conf={"records": CUSTOMERS, "output_path": ""}
    )
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states == {"extract": "success", "submit": "success", "wait": "success", "results": "success"}
    (job_id,) = [j for j in emulator.jobs.job_ids() if j not in EXAMPLE_JOB_IDS.values()]
    assert asset_events(dag_run) == [
        (
            "netsuite://1234567-sb1/customer",
            {
                "job_id": job_id,
                "job_ids": [job_id],
                "operation": "asyncUpsertList",
                "account_id": "1234567_SB1",
                "record_type": "customer",
                "records_submitted": 3,
            },
            ["netsuite-writes:netsuite_default"],
        )
    ]
    assert "Asset event for netsuite://1234567-sb1/customer on success" in capfd.readouterr().out


def test_a_declared_outlet_in_another_spelling_gets_the_extra(airflow_db, emulator):
    records = [{"@type": "Customer", **c} for c in CUSTOMERS[:2]]
    dag_run = asset_dags.DAGS["assets_declared"].test(run_conf={"records": records})
    (job_id,) = [j for j in emulator.jobs.job_ids() if j not in EXAMPLE_JOB_IDS.values()]
    events = dict((uri, extra) for uri, extra, _ in asset_events(dag_run))
    assert events == {
        "netsuite://1234567-sb1/customer": {
            "job_id": job_id,
            "job_ids": [job_id],
            "operation": "asyncAddList",
            "account_id": "1234567_SB1",
            "record_type": "customer",
            "records_submitted": 2,
        },
        "s3://bucket/customers.json": {},  # another provider's asset: Airflow's own event
    }


def test_an_outlet_for_another_account_fails_before_anything_is_sent(airflow_db, emulator, capfd):
    dag_run = asset_dags.DAGS["assets_declared_for_another_account"].test(run_conf={"records": CUSTOMERS})
    (ti,) = dag_run.get_task_instances()
    assert ti.state == "failed" and ti.try_number == 1
    assert emulator.stats()["requests"].get("asyncAddList", 0) == 0
    assert asset_events(dag_run) == []
    out = capfd.readouterr().out
    assert "outlet netsuite://7654321/customer is not written by this asyncAddList" in out
    assert "(account 1234567_SB1), which writes netsuite://1234567-sb1/customer: nothing was sent" in out


def test_a_search_writes_no_asset_and_a_delete_writes_its_record_type(airflow_db, emulator, tmp_path):
    refs = tmp_path / "refs.jsonl"
    refs.write_text(
        '{"type": "salesOrder", "internalId": "7"}\n{"type": "SalesOrder", "externalId": "so-8"}\n'
    )
    search = {"@type": "customerSearchBasic", "email": {"operator": "contains", "searchValue": "@x.example"}}
    dag = asset_dags.DAGS["assets_search_from_file"]
    assert (dag.get_task("search").outlets, dag.get_task("delete").outlets) == (
        [],
        [writes_alias("netsuite_default")],
    )
    dag_run = dag.test(run_conf={"records_path": str(refs), "search": search})
    assert [
        (uri, extra["operation"], extra["records_submitted"]) for uri, extra, _ in asset_events(dag_run)
    ] == [("netsuite://1234567-sb1/salesOrder", "asyncDeleteList", 2)]
