"""The Airflow plugin (declared in the provider info under ``plugins``): installing the package
is all it takes.

- ``fastapi_apps``: the pages' FastAPI app, mounted by the API server at ``/netsuite-jobs``;
- ``external_views``: a "NetSuite job" tab on every task instance (``destination:
  "task_instance"``; the tab says so when a task runs no NetSuite job) and a "NetSuite jobs"
  entry in the navigation (Browse).

Every Airflow component imports plugins, so this module imports nothing heavy: the app is built
on first access to ``fastapi_apps``, which only the API server makes.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_asyncjob.ui.app_prefix import PREFIX


class _LazyApps:
    """``fastapi_apps``, built once when the API server first reads it."""

    def __init__(self) -> None:
        self._apps: list[dict[str, Any]] | None = None

    def __get__(self, instance: Any, owner: Any) -> list[dict[str, Any]]:
        if self._apps is None:
            from airflow_asyncjob.ui.app import create_app

            self._apps = [{"app": create_app(), "url_prefix": PREFIX, "name": "NetSuite jobs"}]
        return self._apps


class NetSuiteJobsPlugin(AirflowPlugin):
    """The "NetSuite job" tab and the "NetSuite jobs" page (see airflow_asyncjob.ui.app)."""

    name = "netsuite_async_jobs"
    fastapi_apps = _LazyApps()
    external_views = [
        {
            "name": "NetSuite job",
            "href": PREFIX + "/tab/{DAG_ID}/{RUN_ID}/{TASK_ID}?map_index={MAP_INDEX}",
            "destination": "task_instance",
            "url_route": "netsuite-job",
        },
        {
            "name": "NetSuite jobs",
            "href": PREFIX + "/jobs",
            "destination": "nav",
            "category": "browse",
            "url_route": "netsuite-jobs",
        },
    ]


def _entry_point_plugin() -> type[AirflowPlugin] | None:
    """The plugin for the ``airflow.plugins`` entry point, or None when the provider info loads it.

    Airflow loads the plugins of the provider info only with ``[core] lazy_discover_providers =
    False`` (``airflow.plugins_manager``); by default it loads entry-point plugins alone. Naming the
    plugin in both places would register it twice there (and report the second as an import
    error), so the entry point names it only when the provider info is not read: Airflow skips an
    entry point whose object is not a plugin class, silently.
    """
    from airflow import settings

    return NetSuiteJobsPlugin if getattr(settings, "LAZY_LOAD_PROVIDERS", True) else None


ENTRY_POINT_PLUGIN = _entry_point_plugin()
