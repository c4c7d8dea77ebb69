"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

The connection form is declared here once: Airflow 3.2+ reads ``conn-fields`` and
``ui-field-behaviour`` from this metadata without importing the hook (the hook defines no
WTForms methods: Airflow calls them only for providers that declare neither). Plain data only:
this module is imported by Airflow's ProvidersManager in every component, so it imports nothing
heavy.
"""

from __future__ import annotations

from typing import Any

from airflow_asyncjob import __version__

CONNECTION_TYPE = "netsuite_soap"
HOOK_NAME = "NetSuite SOAP (async jobs)"
REST_CONNECTION_TYPE = "netsuite_rest"
REST_HOOK_NAME = "NetSuite REST (async jobs)"

_OPTIONAL_STRING: dict[str, Any] = {"type": ["string", "null"]}
_SECRET_STRING: dict[str, Any] = {"type": ["string", "null"], "format": "password"}

CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "account_id": {
        "label": "Account ID",
        "description": "Setup > Company > Company Information > Account ID: 1234567 for production, "
        "1234567_SB1 for a sandbox.",
        "schema": dict(_OPTIONAL_STRING),
    },
    "consumer_key": {
        "label": "Consumer key",
        "description": "From the integration record (Setup > Integration > Manage Integrations), "
        "with Token-Based Authentication checked.",
        "schema": dict(_OPTIONAL_STRING),
    },
    "consumer_secret": {
        "label": "Consumer secret",
        "description": "Shown once when the integration record is created.",
        "schema": dict(_SECRET_STRING),
    },
    "token_id": {
        "label": "Token ID",
        "description": "From the access token (Setup > Users/Roles > Access Tokens) of the user and role "
        "the jobs run as; the role needs the SOAP Web Services permission.",
        "schema": dict(_OPTIONAL_STRING),
    },
    "token_secret": {
        "label": "Token secret",
        "description": "Shown once when the access token is created.",
        "schema": dict(_SECRET_STRING),
    },
    "endpoint_version": {
        "label": "Endpoint version",
        "description": "SOAP endpoint as YYYY_N; 2025_2 is the last one NetSuite ships.",
        "schema": {"type": ["string", "null"], "default": "2025_2"},
    },
    "max_in_flight": {
        "label": "Max requests in flight",
        "description": "Optional: requests this account may have in flight at once from one triggerer "
        "(default 4). NetSuite's smallest account limit is 5, shared with other integrations.",
        "schema": {"type": ["integer", "null"], "minimum": 1},
    },
    "verify_tls": {
        "label": "Verify TLS",
        "description": "Check NetSuite's TLS certificate (default). Turn off only for an emulator or a "
        "trusted proxy: a machine in between could read the token passport and records.",
        "schema": {"type": "boolean", "default": True},
    },
    "wsdl": {
        "label": "WSDL (optional)",
        "description": "NetSuite's WSDL of the endpoint version, as a URL or a local path, for record "
        "types beyond the compact schema shipped here; empty for the compact schema.",
        "schema": dict(_OPTIONAL_STRING),
    },
}
"""The connection's extra keys, in Airflow's ``conn-fields`` shape (label, description, JSON schema).

The UI stores each under its own name in the connection's extra, which is what the hook reads.
``format: password`` makes the two secrets password fields, masked in the UI and the API."""

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "password", "port"],
    "relabeling": {"host": "Base URL (optional)"},
    "placeholders": {
        "host": "Empty for https://<account>.suitetalk.api.netsuite.com; http://127.0.0.1:8765 for "
        "the emulator, or a proxy",
    },
}
"""Airflow's ``ui-field-behaviour``: the standard fields this connection does not use are hidden;
the host field is the optional base URL (a port belongs in it). The extra JSON stays visible: it
shows what the fields above store, and any key an older connection holds."""

REST_CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "account_id": CONNECTION_FIELDS["account_id"],
    "auth_method": {
        "label": "Authentication",
        "description": "oauth2 (OAuth 2.0 client credentials, machine to machine: NetSuite's preferred "
        "method) or tba (token-based authentication, the same four values as a SOAP connection).",
        "schema": {"type": ["string", "null"], "default": "oauth2"},
    },
    "client_id": {
        "label": "Client ID (OAuth 2.0)",
        "description": "The integration record's client id (Setup > Integration > Manage Integrations), "
        "with Client Credentials (Machine to Machine) Grant checked.",
        "schema": dict(_OPTIONAL_STRING),
    },
    "certificate_id": {
        "label": "Certificate ID (OAuth 2.0)",
        "description": "Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup: the id NetSuite "
        "gives the certificate uploaded for this integration, entity and role.",
        "schema": dict(_OPTIONAL_STRING),
    },
    "private_key": {
        "label": "Private key, PEM (OAuth 2.0)",
        "description": "The private key of that certificate (-----BEGIN PRIVATE KEY----- ...): RSA for "
        "PS256/PS384/PS512, EC for ES256/ES384/ES512. Never leaves this machine: it signs the JWT.",
        "schema": dict(_SECRET_STRING),
    },
    "algorithm": {
        "label": "JWT algorithm (OAuth 2.0)",
        "description": "PS256 (default), PS384, PS512, ES256, ES384 or ES512; must fit the key.",
        "schema": {"type": ["string", "null"], "default": "PS256"},
    },
    "scope": {
        "label": "Scope (OAuth 2.0)",
        "description": "rest_webservices (default); a comma-separated list, e.g. rest_webservices,restlets.",
        "schema": {"type": ["string", "null"], "default": "rest_webservices"},
    },
    "consumer_key": {**CONNECTION_FIELDS["consumer_key"], "label": "Consumer key (TBA)"},
    "consumer_secret": {**CONNECTION_FIELDS["consumer_secret"], "label": "Consumer secret (TBA)"},
    "token_id": {
        **CONNECTION_FIELDS["token_id"],
        "label": "Token ID (TBA)",
        "description": "From the access token (Setup > Users/Roles > Access Tokens) of the user and role "
        "the jobs run as; the role needs the REST Web Services permission.",
    },
    "token_secret": {**CONNECTION_FIELDS["token_secret"], "label": "Token secret (TBA)"},
    "timeout": {
        "label": "Request timeout (s)",
        "description": "Optional: seconds allowed for one HTTP request (default 60).",
        "schema": {"type": ["number", "null"], "minimum": 1},
    },
    "max_in_flight": CONNECTION_FIELDS["max_in_flight"],
    "verify_tls": CONNECTION_FIELDS["verify_tls"],
}
"""The ``netsuite_rest`` connection's extra keys (``RestAsyncJobHook``): OAuth 2.0 client credentials or
TBA; the private key and the two TBA secrets are password fields."""

REST_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "password", "port"],
    "relabeling": {"host": "Base URL (optional)"},
    "placeholders": {
        "host": "Empty for https://<account>.suitetalk.api.netsuite.com; the emulator's base URL, or a proxy",
    },
}

ASSET_URIS: list[dict[str, Any]] = [
    {
        "schemes": ["netsuite"],
        "handler": "airflow_asyncjob.assets.normalize_netsuite_uri",
        "factory": "airflow_asyncjob.assets.create_asset",
        "to_openlineage_converter": "airflow_asyncjob.assets.convert_asset_to_openlineage",
    }
]
"""Airflow's ``asset-uris``: the ``netsuite://<account>/<recordType>`` scheme, its normaliser
(sandbox and case variants of one account and record type are one URI), the factory hook-level
lineage uses and the converter the OpenLineage provider uses (``airflow_asyncjob.assets``)."""


def get_provider_info() -> dict[str, Any]:
    """Package name, connection type with its form, the extra link and the ``netsuite`` asset URI
    scheme (Airflow's provider.yaml shape)."""
    return {
        "package-name": "airflow-provider-asyncjob",
        "name": "NetSuite SOAP async jobs",
        "description": "Run and watch NetSuite SOAP asynchronous jobs (asyncAddList, asyncSearch, ...) "
        "and REST asynchronous jobs (Prefer: respond-async).",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": CONNECTION_TYPE,
                "hook-class-name": "airflow_asyncjob.hooks.soap_async_job.SoapAsyncJobHook",
                "hook-name": HOOK_NAME,
                "conn-fields": CONNECTION_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            },
            {
                "connection-type": REST_CONNECTION_TYPE,
                "hook-class-name": "airflow_asyncjob.hooks.rest_async_job.RestAsyncJobHook",
                "hook-name": REST_HOOK_NAME,
                "conn-fields": REST_CONNECTION_FIELDS,
                "ui-field-behaviour": REST_UI_FIELD_BEHAVIOUR,
            },
        ],
        "triggers": [
            {
                "integration-name": "NetSuite",
                "python-modules": ["airflow_asyncjob.triggers.async_job_status"],
            }
        ],
        "extra-links": ["airflow_asyncjob.links.async_job.AsyncJobLink"],
        "asset-uris": ASSET_URIS,
        # The "NetSuite job" tab and "NetSuite jobs" page (airflow_asyncjob.ui; docs/ui.md).
        "plugins": [
            {"name": "netsuite_async_jobs", "plugin-class": "airflow_asyncjob.ui.plugin.NetSuiteJobsPlugin"}
        ],
    }
