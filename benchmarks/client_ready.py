"""Benchmark (a), one measurement: how long one client kind takes to be ready to call, and the
process's peak RSS. Run in a fresh interpreter per measurement (run.py does), so that nothing is
cached and the RSS is this client's alone.

    python benchmarks/client_ready.py ours|zeep --out RESULT.json

ours: the service proxy a first status poll builds (checkAsyncStatus: our compact schema
for 2023_2 without its record types, parsed once per process; see ``first_poll_service``).
zeep: ``zeep.Client`` on NetSuite's full 2023_2 WSDL (../shared/netsuite-wsdl/2023_2, 46 XSDs)
and ``create_service`` on its NetSuiteBinding.
Libraries are imported before the clock starts; their import time is reported apart.
"""

from __future__ import annotations

import argparse
import time

from support import ENDPOINT_VERSION, REAL_BINDING, REAL_WSDL, peak_rss_mib, write_result

URL = f"http://127.0.0.1:9/services/NetSuitePort_{ENDPOINT_VERSION}"  # never called


def first_poll_service() -> object:
    """What the client builds for the first checkAsyncStatus of a process: the sync service over
    the compact schema without record types (``records=False``, as for STATUS_OPERATIONS). The
    one place this benchmark reaches into the client's internals."""
    from airflow_asyncjob.netsuite.process_state import zeep_service

    return zeep_service(ENDPOINT_VERSION, URL, 60.0, records=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["ours", "zeep"])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    started = time.perf_counter()
    if args.kind == "ours":
        import airflow_asyncjob.netsuite.process_state  # noqa: F401 -- imported before the clock

        imported, imported_rss = time.perf_counter(), peak_rss_mib()
        service = first_poll_service()
    else:
        import zeep

        imported, imported_rss = time.perf_counter(), peak_rss_mib()
        service = zeep.Client(str(REAL_WSDL)).create_service(REAL_BINDING, URL)
    ready = time.perf_counter()
    assert callable(service.checkAsyncStatus)
    write_result(
        args.out,
        {
            "kind": args.kind,
            "import_s": imported - started,
            "ready_s": ready - imported,
            "max_rss_mib": peak_rss_mib(),
            "rss_after_import_mib": imported_rss,
        },
    )


if __name__ == "__main__":
    main()
