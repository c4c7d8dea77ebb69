"""Conformance with NetSuite's published 2023_2 schema (../shared/netsuite-wsdl/2023_2).

What the hook sends (as the emulator received it) validates against the real XSDs, and plain
zeep on the real, full 2023_2 WSDL talks to the emulator.
"""

from __future__ import annotations

import time

import pytest
import zeep
from lxml import etree

from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
from airflow_asyncjob.netsuite.auth import token_passport
from airflow_asyncjob.netsuite.faults import InvalidJobIdError
from airflow_asyncjob.testing.emulator import EXAMPLE_JOB_IDS

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MSGS = "urn:messages_2023_2.platform.webservices.netsuite.com"


@pytest.fixture(scope="module")
def messages_schema(real_schema_dir):
    return etree.XMLSchema(etree.parse(str(real_schema_dir / "xsd" / "platform.messages.xsd")))


@pytest.fixture
def hook_2023_2(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator.airflow_connection_json("2023_2"))
    return SoapAsyncJobHook()


def wait_terminal(hook, job_id):
    for _ in range(100):
        if hook.check_async_status(job_id).status.is_terminal:
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


def test_every_envelope_the_hook_sends_validates(emulator, hook_2023_2, messages_schema):
    job_id = EXAMPLE_JOB_IDS["finishedWithErrors"]
    wait_terminal(hook_2023_2, job_id)
    hook_2023_2.get_async_result(job_id, 1)
    assert hook_2023_2.test_connection()[0]
    with pytest.raises(InvalidJobIdError):
        hook_2023_2.get_async_result("ASYNCWEBSERVICES_UNKNOWN", 2)

    seen = set()
    for request in emulator.requests():
        envelope = etree.fromstring(request["body"].encode())
        assert request["endpoint_version"] == "2023_2"
        header = envelope.find(f"{{{SOAP_ENV}}}Header")
        header_children = [child for child in header if isinstance(child.tag, str)]
        assert [etree.QName(c).localname for c in header_children] == ["tokenPassport"]  # no applicationInfo
        body_child = next(c for c in envelope.find(f"{{{SOAP_ENV}}}Body") if isinstance(c.tag, str))
        for element in (header_children[0], body_child):
            assert etree.QName(element).namespace == MSGS
            messages_schema.assertValid(etree.ElementTree(etree.fromstring(etree.tostring(element))))
        seen.add(request["operation"])
    assert seen == {"checkAsyncStatus", "getAsyncResult", "getServerTime"}


def test_plain_zeep_on_the_real_wsdl_reads_the_emulators_answers(emulator, real_schema_dir):
    client = zeep.Client(str(real_schema_dir / "netsuite.wsdl"))
    service = client.create_service(
        "{urn:platform_2023_2.webservices.netsuite.com}NetSuiteBinding", emulator.service_url("2023_2")
    )
    credentials = emulator.credentials

    def call(operation, **kwargs):
        return getattr(service, operation)(
            **kwargs, _soapheaders={"tokenPassport": token_passport(credentials)}
        )

    job_id = EXAMPLE_JOB_IDS["finishedWithErrors"]
    first = call("checkAsyncStatus", jobId=job_id)
    assert first.body.asyncStatusResult.jobId == job_id
    assert first.body.asyncStatusResult.status in ("pending", "processing", "finishedWithErrors")
    for _ in range(100):
        status = call("checkAsyncStatus", jobId=job_id).body.asyncStatusResult
        if status.status == "finishedWithErrors":
            break
        time.sleep(0.1)
    assert (status.status, status.percentCompleted) == ("finishedWithErrors", 100.0)

    result = call("getAsyncResult", jobId=job_id, pageIndex=1).body.asyncResult
    assert type(result).__name__ == "AsyncUpsertListResult"
    responses = result.writeResponseList.writeResponse
    failed = sorted(
        (r.baseRef.externalId, r.status.statusDetail[0].code) for r in responses if not r.status.isSuccess
    )
    assert failed == [("cust-0102", "DUP_ENTITY"), ("cust-0104", "INVALID_KEY_OR_REF")]
    assert type(responses[0].baseRef).__name__ == "RecordRef"


async def test_the_governance_requests_and_answers_validate(
    emulator, hook_2023_2, messages_schema, real_schema_dir
):
    """getIntegrationGovernanceInfo / getAccountGovernanceInfo as the async client sends them, and
    the emulator's answers as plain zeep on NetSuite's own WSDL reads them."""
    emulator.set_governance(account_limit=10, integration_limit=3)
    async with hook_2023_2.get_async_conn() as client:
        assert client.channel.limiter.ceiling == 3
    sent = [r for r in emulator.requests() if "Governance" in (r["operation"] or "")]
    assert [r["operation"] for r in sent] == ["getIntegrationGovernanceInfo", "getAccountGovernanceInfo"]
    for request in sent:
        envelope = etree.fromstring(request["body"].encode())
        body_child = next(c for c in envelope.find(f"{{{SOAP_ENV}}}Body") if isinstance(c.tag, str))
        assert etree.QName(body_child).namespace == MSGS
        messages_schema.assertValid(etree.ElementTree(etree.fromstring(etree.tostring(body_child))))

    client = zeep.Client(str(real_schema_dir / "netsuite.wsdl"))
    service = client.create_service(
        "{urn:platform_2023_2.webservices.netsuite.com}NetSuiteBinding", emulator.service_url("2023_2")
    )
    headers = {"tokenPassport": token_passport(emulator.credentials)}
    account = service.getAccountGovernanceInfo(_soapheaders=headers).body.getAccountGovernanceInfoResult
    assert (
        account.status.isSuccess,
        account.accountConcurrencyLimit,
        account.unallocatedConcurrencyLimit,
    ) == (
        True,
        10,
        7,
    )
    headers = {"tokenPassport": token_passport(emulator.credentials)}
    integration = service.getIntegrationGovernanceInfo(
        _soapheaders=headers
    ).body.getIntegrationGovernanceInfoResult
    assert (integration.integrationConcurrencyLimit, integration.limitType) == (3, "_integrationSpecific")
    emulator.set_governance()
    headers = {"tokenPassport": token_passport(emulator.credentials)}
    shared = service.getIntegrationGovernanceInfo(
        _soapheaders=headers
    ).body.getIntegrationGovernanceInfoResult
    assert (shared.integrationConcurrencyLimit, shared.limitType) == (None, "_account")
