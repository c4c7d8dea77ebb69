"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_asyncjob import __version__


def get_provider_info() -> dict[str, Any]:
    """Package name, connection type and the hook that serves it (Airflow's provider.yaml shape)."""
    return {
        "package-name": "airflow-provider-asyncjob",
        "name": "NetSuite SOAP async jobs",
        "description": "Run and watch NetSuite SOAP asynchronous jobs (asyncAddList, asyncSearch, ...).",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "netsuite_soap",
                "hook-class-name": "airflow_asyncjob.hooks.soap_async_job.SoapAsyncJobHook",
            }
        ],
        "triggers": [
            {
                "integration-name": "NetSuite",
                "python-modules": ["airflow_asyncjob.triggers.async_job_status"],
            }
        ],
    }
