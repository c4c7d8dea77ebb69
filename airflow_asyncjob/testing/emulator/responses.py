"""One function per SOAP action (moto's ``responses.py``): a parsed request in, an HTTP answer
out, by asking the state (``Service``, ``JobStore``) and rendering with ``soap``. Also the
answers an injection puts in place of NetSuite's.

An admitted request is answered by ``answer``: the tokenPassport check, then the action; an
``EmulatedFault`` becomes NetSuite's SOAP fault (HTTP 500), a ``ClientFault`` a ``soapenv:Client``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus

from starlette.responses import HTMLResponse, Response

from airflow_asyncjob.testing.emulator import soap
from airflow_asyncjob.testing.emulator.asgi import DropConnection
from airflow_asyncjob.testing.emulator.exceptions import ClientFault, EmulatedFault, governance_not_permitted
from airflow_asyncjob.testing.emulator.injections import Injection
from airflow_asyncjob.testing.emulator.jobs import RESULT_TYPES
from airflow_asyncjob.testing.emulator.service import Service

Action = Callable[[Service, soap.SoapRequest], Response]


def xml(body: bytes, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type=soap.CONTENT_TYPE)


def html_page(status: int) -> str:
    """A bare error page like a load balancer's; the phrase comes from the stdlib, not a request."""
    phrase = HTTPStatus(status).phrase
    return (
        f"<!DOCTYPE html><html><head><title>{status} {phrase}</title></head>"
        f"<body><h1>{phrase}</h1><p>The server cannot serve this request right now.</p></body></html>"
    )


def not_found() -> Response:
    return HTMLResponse(html_page(404), status_code=404)


def fault(service: Service, endpoint_version: str, error: EmulatedFault) -> Response:
    """NetSuite's SOAP fault for ``error`` (HTTP 500), counted in the stats by its code."""
    service.count_fault(error.code)
    return xml(soap.fault_response(endpoint_version, error), 500)


def client_fault(service: Service, error: ClientFault) -> Response:
    """A ``soapenv:Client`` fault (HTTP 500) for a request that could not be read."""
    service.count_fault("Client")
    return xml(soap.client_fault_response(error), 500)


# ---- the actions ------------------------------------------------------------------------------


def get_server_time(service: Service, request: soap.SoapRequest) -> Response:
    """getServerTime: the emulator's clock."""
    return xml(soap.server_time_response(request.endpoint_version, service.jobs.clock()))


def get_account_governance_info(service: Service, request: soap.SoapRequest) -> Response:
    """getAccountGovernanceInfo: the emulated account's limit and its unallocated share; an
    InsufficientPermissionFault when the emulator plays a role that is no administrator."""
    governance = service.governance
    if not governance.permitted:
        raise governance_not_permitted(request.operation)
    return xml(
        soap.account_governance_response(
            request.endpoint_version, governance.account_limit, governance.unallocated_limit
        )
    )


def get_integration_governance_info(service: Service, request: soap.SoapRequest) -> Response:
    """getIntegrationGovernanceInfo: the integration's own allocation, if one is set."""
    governance = service.governance
    if not governance.permitted:
        raise governance_not_permitted(request.operation)
    return xml(soap.integration_governance_response(request.endpoint_version, governance.integration_limit))


def check_async_status(service: Service, request: soap.SoapRequest) -> Response:
    """checkAsyncStatus(jobId) -> the job's AsyncStatusResult."""
    status = service.jobs.check_status(soap.read_job_id(request))
    return xml(soap.async_status_response(request.endpoint_version, request.operation, status))


def get_async_result(service: Service, request: soap.SoapRequest) -> Response:
    """getAsyncResult(jobId, pageIndex) -> one page of the job's AsyncResult."""
    page = service.jobs.get_result(soap.read_job_id(request), soap.read_page_index(request))
    return xml(soap.async_result_response(request.endpoint_version, page))


def submit(service: Service, request: soap.SoapRequest) -> Response:
    """The seven async submit operations -> the new job's AsyncStatusResult (pending)."""
    status = service.jobs.submit(
        request.operation, soap.read_record_refs(request), soap.read_search_record_type(request)
    )
    return xml(soap.async_status_response(request.endpoint_version, request.operation, status))


ACTIONS: dict[str, Action] = {
    "getServerTime": get_server_time,
    "getAccountGovernanceInfo": get_account_governance_info,
    "getIntegrationGovernanceInfo": get_integration_governance_info,
    "checkAsyncStatus": check_async_status,
    "getAsyncResult": get_async_result,
    **dict.fromkeys(RESULT_TYPES, submit),
}
"""Operation name -> its action; the keys are ``soap.OPERATIONS``."""


def answer(service: Service, request: soap.SoapRequest) -> Response:
    """The answer to an admitted request: the tokenPassport check, then the operation's action."""
    try:
        service.checker.check(soap.read_token_passport(request))
        return ACTIONS[request.operation](service, request)
    except EmulatedFault as error:
        return fault(service, request.endpoint_version, error)
    except ClientFault as error:
        return client_fault(service, error)


# ---- injections -------------------------------------------------------------------------------


async def injected(service: Service, injection: Injection, endpoint_version: str) -> Response | None:
    """What ``injection`` answers instead of NetSuite; None when the request goes on to be
    answered normally (a delay, once waited)."""
    if injection.kind == "delay":
        await asyncio.sleep(injection.seconds)
        return None
    if injection.kind == "soap_fault":
        assert injection.fault is not None
        return fault(service, endpoint_version, injection.fault)
    if injection.kind == "drop":
        return DropConnection()
    if injection.kind == "http_error":
        return HTMLResponse(injection.body or html_page(injection.status), status_code=injection.status)
    # The content type goes in as a header so that Starlette adds no charset to it.
    return Response(
        injection.body, status_code=injection.status, headers={"content-type": injection.content_type}
    )
