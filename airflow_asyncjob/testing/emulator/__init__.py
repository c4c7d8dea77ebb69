"""A NetSuite SOAP async-job emulator: a real HTTP server on 127.0.0.1 speaking NetSuite's SOAP.

It serves ``/services/NetSuitePort_<V>`` for every endpoint version V (``2023_2``, ``2025_2``,
...) with token-based authentication (tokenPassport, HMAC-SHA256), the account's concurrency
limit, the async operations (``asyncAddList``, ``asyncUpdateList``, ``asyncUpsertList``,
``asyncDeleteList``, ``asyncGetList``, ``asyncInitializeList``, ``asyncSearch``,
``checkAsyncStatus``, ``getAsyncResult``) and ``getServerTime``; jobs move pending -> (retry) ->
processing -> finished / finishedWithErrors / failed on a timeline; faults and misbehaviour
(HTML error pages, slow answers, dropped connections, raw bodies) can be injected. Answers
validate against NetSuite's published 2023_2 schema.

In tests::

    from airflow_asyncjob.testing.emulator import Emulator, Scenario

    with Emulator(port=0, scenario=Scenario.example()) as emu:
        os.environ["AIRFLOW_CONN_NETSUITE_DEFAULT"] = emu.airflow_connection_json()
        job_id = emu.create_job({"operation": "asyncUpsertList", "records": [...]})
        emu.inject("soap_fault", code="WS_REQUEST_BLOCKED", operation="checkAsyncStatus")

From a shell: ``python -m airflow_asyncjob.testing.emulator --port 8765`` (``--help``); it
prints its base URL on the first line. The shipped example scenario's job ids are in
``EXAMPLE_JOB_IDS``; the scenario format is described in ``scenario``.

Layout (moto's split of a service), one job per module:

- ``jobs``: the account's state (jobs, timelines, result pages); never sees HTTP or XML.
- ``auth``: the tokenPassport check and the nonces seen.
- ``injections``: ``Injection`` (a misbehaviour) and the queue that hands them out.
- ``service``: in-flight requests (the concurrency limit), stats and the request log.
- ``soap``: parses and builds SOAP; keeps no state. ``exceptions``: the faults.
- ``responses``: one function per SOAP action. ``routes``: the HTTP paths and the admin API.
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
from airflow_asyncjob.testing.emulator.scenario import EXAMPLE_JOB_IDS, Scenario, job_spec_from_dict
from airflow_asyncjob.testing.emulator.server import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_CONCURRENCY_LIMIT,
    DEFAULT_CREDENTIALS,
    Emulator,
)

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_CONCURRENCY_LIMIT",
    "DEFAULT_CREDENTIALS",
    "EXAMPLE_JOB_IDS",
    "ClientFault",
    "EmulatedFault",
    "Emulator",
    "Injection",
    "JobFailure",
    "JobSpec",
    "JobStore",
    "RecordResult",
    "Scenario",
    "SubmitDefaults",
    "SubmitRule",
    "Timeline",
    "job_spec_from_dict",
]
