"""Airflow's own API server app (with this provider's plugin mounted, as `airflow api-server`
builds it), SimpleAuthManager with two users, and real task rows made by dag.test()."""

from __future__ import annotations

from typing import Any

import pytest

HIDDEN_DAG = "sensor_succeed_poke"
"""The DAG the user "outsider" may not read (SimpleAuthManager has no per-DAG rules: one is added)."""


@pytest.fixture(scope="module")
def api(airflow_db, tmp_path_factory):
    """``(TestClient of Airflow's API server app, tokens by user name, the plugin's app state)``."""
    from fastapi.testclient import TestClient

    mp = pytest.MonkeyPatch()
    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,outsider:viewer")
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    mp.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "x" * 64)
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    purge_cached_app()
    app = create_app()
    manager = app.state.auth_manager
    allowed = manager.is_authorized_dag

    def is_authorized_dag(*, method, user, access_entity=None, details=None):
        if user.get_name() == "outsider" and details is not None and details.id == HIDDEN_DAG:
            return False
        return allowed(method=method, user=user, access_entity=access_entity, details=details)

    mp.setattr(manager, "is_authorized_dag", is_authorized_dag)
    tokens = {
        name: manager.generate_jwt(SimpleAuthManagerUser(username=name, role=role))
        for name, role in (("admin", "admin"), ("outsider", "viewer"))
    }
    mount: Any = next(r for r in app.routes if getattr(r, "path", None) == "/netsuite-jobs")
    with TestClient(app) as client:
        yield client, tokens, mount.app.state.netsuite
    purge_cached_app()
    mp.undo()
