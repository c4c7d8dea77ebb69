"""What Airflow's UI gets from this provider: the connection type, its form and the extra link.

Read through Airflow's own ProvidersManager and the API's connection-form metadata, with the
provider installed in the environment (the entry point ``apache_airflow_provider``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS

FIELDS = [
    "account_id",
    "consumer_key",
    "consumer_secret",
    "token_id",
    "token_secret",
    "endpoint_version",
    "max_in_flight",
    "verify_tls",
    "wsdl",
]
LABELS = {
    "account_id": "Account ID",
    "consumer_key": "Consumer key",
    "consumer_secret": "Consumer secret",
    "token_id": "Token ID",
    "token_secret": "Token secret",
    "endpoint_version": "Endpoint version",
    "max_in_flight": "Max requests in flight",
    "verify_tls": "Verify TLS",
    "wsdl": "WSDL (optional)",
}


@pytest.fixture(scope="module")
def providers_manager():
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


@pytest.fixture(scope="module")
def form_metadata():
    """The connection form the UI renders for netsuite_soap (GET /ui/connections/hook_meta)."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "netsuite_soap"]
    return meta


def test_airflow_finds_the_connection_type_and_its_hook():
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["netsuite_soap"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_asyncjob.hooks.soap_async_job.SoapAsyncJobHook"
    assert hook.connection_id_attribute_name == "netsuite_conn_id"
    assert hook.hook_name == "NetSuite SOAP (async jobs)"
    assert hook.connection_testable  # the Test button is offered


def test_form_has_a_labelled_field_per_extra_key_with_secrets_as_passwords(providers_manager):
    widgets = {
        info.field_name: info
        for key, info in providers_manager.connection_form_widgets.items()
        if key.startswith("extra__netsuite_soap__")
    }
    assert sorted(widgets) == sorted(FIELDS)
    assert {name: info.field["schema"]["title"] for name, info in widgets.items()} == LABELS
    assert {name for name, info in widgets.items() if info.is_sensitive} == {
        "consumer_secret",
        "token_secret",
    }
    assert widgets["endpoint_version"].field["value"] == "2025_2"
    assert widgets["verify_tls"].field["value"] is True
    assert widgets["max_in_flight"].field["schema"]["type"] == ["integer", "null"]


def test_every_extra_key_the_docs_list_is_a_form_field():
    """docs/connection.md says each extra is a labelled field of the connection form."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "connection.md").read_text()
    documented: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| extra "):
            documented.update(part.strip("` ") for part in line.split("|")[1][len(" extra ") :].split(","))
    assert documented == set(FIELDS)


def test_form_hides_unused_standard_fields_and_labels_host_as_base_url(providers_manager, form_metadata):
    behaviour = providers_manager.field_behaviours["netsuite_soap"]
    assert set(behaviour["hidden_fields"]) == {"schema", "login", "password", "port"}
    assert behaviour["relabeling"] == {"host": "Base URL (optional)"}
    standard = form_metadata.standard_fields
    assert standard.login.hidden and standard.password.hidden and standard.port.hidden
    assert standard.host.title == "Base URL (optional)" and not standard.host.hidden
    assert "suitetalk.api.netsuite.com" in standard.host.placeholder


def test_ui_form_metadata_keys_the_fields_by_the_names_the_hook_reads(form_metadata):
    assert form_metadata.hook_name == "NetSuite SOAP (async jobs)"
    assert sorted(form_metadata.extra_fields) == sorted(FIELDS)
    assert form_metadata.extra_fields["token_secret"]["schema"]["format"] == "password"


def test_extra_link_is_registered(providers_manager):
    assert "airflow_asyncjob.links.async_job.AsyncJobLink" in providers_manager.extra_links_class_names


def ui_stored_extra(emulator, form_metadata, **values: Any) -> str:
    """The extra JSON the UI form saves: every form field under its own name, null when left empty."""
    creds = emulator.airflow_connection()["extra"]
    extra = {name: spec["value"] for name, spec in form_metadata.extra_fields.items()}
    extra.update(
        {name: creds[name] for name in FIELDS if name in creds and name != "endpoint_version"}, **values
    )
    return json.dumps(extra)


def test_hook_reads_what_the_ui_form_stores(emulator, form_metadata, monkeypatch):
    extra = ui_stored_extra(emulator, form_metadata, endpoint_version=None)  # left empty: the default
    monkeypatch.setenv(
        "AIRFLOW_CONN_NETSUITE_DEFAULT",
        json.dumps({"conn_type": "netsuite_soap", "host": emulator.base_url, "extra": json.loads(extra)}),
    )
    status = SoapAsyncJobHook().check_async_status(EXAMPLE_JOB_IDS["finished"])
    assert status.job_id == EXAMPLE_JOB_IDS["finished"]
    assert emulator.requests()[-1]["endpoint_version"] == "2025_2"


def test_hook_reads_airflow_2_prefixed_extra_keys(emulator, monkeypatch):
    conn = emulator.airflow_connection("2024_2")
    conn["extra"] = {f"extra__netsuite_soap__{name}": value for name, value in conn["extra"].items()}
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    hook = SoapAsyncJobHook()
    assert hook.check_async_status(EXAMPLE_JOB_IDS["finished"]).job_id == EXAMPLE_JOB_IDS["finished"]
    assert hook.get_conn().url.endswith("/services/NetSuitePort_2024_2")
    assert str(hook.get_account_id()) == "1234567_SB1"


def test_plain_extra_key_wins_over_the_prefixed_one(emulator, monkeypatch):
    conn = emulator.airflow_connection()
    conn["extra"]["extra__netsuite_soap__token_secret"] = "stale"
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", json.dumps(conn))
    assert SoapAsyncJobHook().test_connection()[0]


def test_airflow_finds_the_rest_connection_type_with_its_secrets_as_passwords(providers_manager):
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["netsuite_rest"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_asyncjob.hooks.rest_async_job.RestAsyncJobHook"
    assert hook.connection_id_attribute_name == "netsuite_conn_id"
    assert hook.connection_testable
    widgets = {
        info.field_name: info
        for key, info in providers_manager.connection_form_widgets.items()
        if key.startswith("extra__netsuite_rest__")
    }
    assert {"account_id", "auth_method", "client_id", "certificate_id", "private_key", "algorithm"} <= set(
        widgets
    )
    assert {name for name, info in widgets.items() if info.is_sensitive} == {
        "private_key",
        "consumer_secret",
        "token_secret",
    }
    assert widgets["algorithm"].field["value"] == "PS256"
    assert widgets["auth_method"].field["value"] == "oauth2"
