"""The emulator's HTTP routes (moto's ``urls.py``), one function each; each reads the emulator's
``Service`` from ``request.app.state.service``.

    POST /services/NetSuitePort_<V>          the SOAP port of endpoint version V (YYYY_N)
    GET  /services/NetSuitePort_<V>?wsdl     the compact WSDL for V, soap:address = this port
    GET  /wsdl/v<V>_0/netsuite.wsdl          the same WSDL at NetSuite's WSDL path
    POST /_emulator/jobs                     create a job from a JSON job spec -> {"job_id"}
    POST /_emulator/faults                   queue an injection (JSON, see Injection.from_dict)
    GET  /_emulator/stats                    counters (see Emulator.stats)
    GET  /_emulator/requests?limit=N         the last SOAP requests, raw
    POST /_emulator/reset                    forget jobs, nonces, injections, stats, requests
    GET  /_emulator/connections              Airflow connections for this emulator, by conn id
    /services/rest/...                       REST web services: see ``rest_routes``

A SOAP request goes: parse (soapenv:Client fault when malformed) -> concurrency admission
(ExceededConcurrentRequestLimitFault WS_REQUEST_BLOCKED when ``concurrency_limit`` requests are
already in flight; Help Center "Web Services and RESTlet Concurrency Governance") -> the latency
-> a queued injection for the operation, if any -> ``responses.answer`` (tokenPassport check,
then the operation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from airflow_asyncjob.netsuite.endpoints import validate_endpoint_version
from airflow_asyncjob.testing.emulator import responses, rest_routes, soap
from airflow_asyncjob.testing.emulator.exceptions import ClientFault, concurrency_limit_exceeded
from airflow_asyncjob.testing.emulator.injections import Injection
from airflow_asyncjob.testing.emulator.scenario import job_spec_from_dict
from airflow_asyncjob.testing.emulator.service import Service


def _service(request: Request) -> Service:
    return request.app.state.service


def _path_version(request: Request) -> str | None:
    try:
        return validate_endpoint_version(request.path_params["version"])
    except ValueError:
        return None


def _wsdl(request: Request, version: str) -> Response:
    location = f"{str(request.base_url).rstrip('/')}/services/NetSuitePort_{version}"
    return responses.xml(soap.render_wsdl(version, location))


# ---- NetSuite's paths -------------------------------------------------------------------------


async def soap_port(request: Request) -> Response:
    """``/services/NetSuitePort_<V>``: POST a SOAP request; GET with ``?wsdl`` the WSDL."""
    service, version = _service(request), _path_version(request)
    if version is None:
        return responses.not_found()
    if request.method == "GET":
        return _wsdl(request, version) if "wsdl" in request.query_params else responses.not_found()
    body = await request.body()
    soap_action = request.headers.get("soapaction")
    try:
        soap_request = soap.parse_request(body, version, soap_action)
    except ClientFault as error:
        service.record(None, version, soap_action, body)
        return responses.client_fault(service, error)
    service.record(soap_request.operation, version, soap_action, body)
    if not service.admit():
        return responses.fault(service, version, concurrency_limit_exceeded())
    try:
        if service.latency:  # NetSuite takes a while to answer; requests overlap meanwhile
            await asyncio.sleep(service.latency)
        injection = service.injections.take(soap_request.operation, "soap", request.url.path)
        replaced = await responses.injected(service, injection, version) if injection else None
        return responses.answer(service, soap_request) if replaced is None else replaced
    finally:
        service.release()


async def wsdl_file(request: Request) -> Response:
    """``/wsdl/v<V>_0/netsuite.wsdl``: the WSDL at NetSuite's own WSDL path."""
    version = _path_version(request)
    return responses.not_found() if version is None else _wsdl(request, version)


# ---- the admin API ----------------------------------------------------------------------------


async def _admin_json(request: Request, action: Callable[[Any], Any]) -> Response:
    """``action(the JSON body, {} when empty)`` as JSON; a ValueError/TypeError as 400 {"error"}."""
    try:
        return JSONResponse(action(await request.json() if await request.body() else {}))
    except (ValueError, TypeError) as error:  # JSONDecodeError is a ValueError
        return JSONResponse({"error": str(error)}, status_code=400)


async def create_job(request: Request) -> Response:
    """POST /_emulator/jobs: a job spec (see scenario.job_spec_from_dict) -> {"job_id"}."""
    jobs = _service(request).jobs
    return await _admin_json(request, lambda data: {"job_id": jobs.create_job(job_spec_from_dict(data))})


async def queue_fault(request: Request) -> Response:
    """POST /_emulator/faults: an injection (see Injection.from_dict) -> {"injections_pending"}."""
    service = _service(request)

    def queue(data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise ValueError("the injection must be a JSON object")
        service.injections.add(Injection.from_dict(data))
        return {"injections_pending": service.injections.pending}

    return await _admin_json(request, queue)


async def stats(request: Request) -> Response:
    """GET /_emulator/stats: see Emulator.stats."""
    return JSONResponse(_service(request).stats())


async def requests(request: Request) -> Response:
    """GET /_emulator/requests?limit=N: the last N SOAP and REST requests (all kept without limit)."""
    limit = request.query_params.get("limit")
    try:
        return JSONResponse(_service(request).requests(int(limit) if limit else None))
    except ValueError:
        return JSONResponse({"error": f"limit must be an integer, not {limit!r}"}, status_code=400)


async def reset(request: Request) -> Response:
    """POST /_emulator/reset: see Emulator.reset."""
    _service(request).reset()
    return JSONResponse({"reset": True})


async def airflow_connections(request: Request) -> Response:
    """GET /_emulator/connections: ``{conn id: connection dict}`` (see Emulator.airflow_connections),
    for a process that started the emulator from its command line."""
    return JSONResponse(request.app.state.connections())


ROUTES = [
    Route("/services/NetSuitePort_{version}", soap_port, methods=["GET", "POST"]),
    Route("/wsdl/v{version}_0/netsuite.wsdl", wsdl_file, methods=["GET"]),
    Route("/_emulator/jobs", create_job, methods=["POST"]),
    Route("/_emulator/faults", queue_fault, methods=["POST"]),
    Route("/_emulator/stats", stats, methods=["GET"]),
    Route("/_emulator/requests", requests, methods=["GET"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
    Route("/_emulator/connections", airflow_connections, methods=["GET"]),
    *rest_routes.ROUTES,
]


def build_app(service: Service, connections: Callable[[], Mapping[str, Any]] = dict) -> Starlette:
    """The Starlette app of one emulator, serving ROUTES over ``service``; ``connections()`` gives
    what ``GET /_emulator/connections`` answers."""
    app = Starlette(routes=ROUTES)
    app.state.service = service
    app.state.connections = connections
    return app
