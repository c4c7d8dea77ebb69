"""A NetSuite SOAP and REST async-job emulator: a real HTTP server on 127.0.0.1 speaking NetSuite's
SOAP and its REST web services' asynchronous jobs.

It serves ``/services/NetSuitePort_<V>`` for every endpoint version V (``2023_2``, ``2025_2``,
...) with token-based authentication (tokenPassport, HMAC-SHA256), the account's concurrency
limit, the async operations (``asyncAddList``, ``asyncUpdateList``, ``asyncUpsertList``,
``asyncDeleteList``, ``asyncGetList``, ``asyncInitializeList``, ``asyncSearch``,
``checkAsyncStatus``, ``getAsyncResult``) and ``getServerTime``; jobs move pending -> (retry) ->
processing -> finished / finishedWithErrors / failed on a timeline; faults and misbehaviour
(HTML error pages, slow answers, dropped connections, raw bodies) can be injected. Answers
validate against NetSuite's published 2023_2 schema.

Beside it, REST web services (``/services/rest/...``, see ``rest_routes``): record and batch
requests with ``Prefer: respond-async`` become jobs in the same store (one task per record),
read through the job / task list / task / result resources; idempotency keys; TBA (OAuth 1.0a,
HMAC-SHA256) and OAuth 2.0 client credentials (a token endpoint verifying the JWT assertion);
serverTime and governanceLimits. SOAP and REST share one concurrency limit.

In tests::

    from airflow_asyncjob.testing.emulator import Emulator, Scenario

    with Emulator(port=0, scenario=Scenario.example()) as emu:
        os.environ["AIRFLOW_CONN_NETSUITE_DEFAULT"] = emu.airflow_connection_json()
        job_id = emu.create_job({"operation": "asyncUpsertList", "records": [...]})
        emu.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus")
        os.environ["AIRFLOW_CONN_NETSUITE_REST_DEFAULT"] = emu.airflow_rest_connection_json("oauth2")
        emu.inject("rest_error", status=429, operation="job")

From a shell: ``python -m airflow_asyncjob.testing.emulator --port 8765`` (``--help``); it
prints its base URL on the first line. The shipped example scenario's job ids are in
``EXAMPLE_JOB_IDS``; the scenario format is described in ``scenario``.

Layout (moto's split of a service), one job per module:

- ``jobs``: the account's state (jobs, timelines, result pages); never sees HTTP or XML.
- ``auth``: the tokenPassport check and the nonces seen.
- ``injections``: ``Injection`` (a misbehaviour) and the queue that hands them out.
- ``service``: in-flight requests (the concurrency limit), stats and the request log.
- ``soap``: parses and builds SOAP; keeps no state. ``exceptions``: the faults.
- ``rest``: REST's wire format (JSON bodies, error bodies, job URLs); keeps no state.
- ``rest_auth``: the TBA header check, the OAuth 2.0 token endpoint and its bearer tokens.
- ``responses``: one function per SOAP action. ``rest_routes``: one function per REST resource.
- ``routes``: the HTTP paths and the admin API.
- ``asgi``: the layers around the app (dropping a connection, the server's Date).
- ``server``: ``Emulator``, its lifecycle (start, stop, run, reset). ``__main__``: the CLI.
"""

from airflow_asyncjob.testing.emulator.exceptions import ClientFault, EmulatedFault
from airflow_asyncjob.testing.emulator.injections import Injection
from airflow_asyncjob.testing.emulator.jobs import (
    JobFailure,
    JobSpec,
    JobStore,
    RecordResult,
    SubmitDefaults,
    SubmitRule,
    Timeline,
)
from airflow_asyncjob.testing.emulator.rest_auth import DEFAULT_REST_CLIENT, RestClient
from airflow_asyncjob.testing.emulator.scenario import EXAMPLE_JOB_IDS, Scenario, job_spec_from_dict
from airflow_asyncjob.testing.emulator.server import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_CONCURRENCY_LIMIT,
    DEFAULT_CREDENTIALS,
    REST_CONNECTION_TYPE,
    Emulator,
)

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_CONCURRENCY_LIMIT",
    "DEFAULT_CREDENTIALS",
    "DEFAULT_REST_CLIENT",
    "EXAMPLE_JOB_IDS",
    "REST_CONNECTION_TYPE",
    "ClientFault",
    "EmulatedFault",
    "Emulator",
    "Injection",
    "JobFailure",
    "JobSpec",
    "JobStore",
    "RecordResult",
    "RestClient",
    "Scenario",
    "SubmitDefaults",
    "SubmitRule",
    "Timeline",
    "job_spec_from_dict",
]
