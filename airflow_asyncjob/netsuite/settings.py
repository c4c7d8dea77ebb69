"""ClientSettings: what a NetSuite client needs to know about one account's connection.

The hook reads them once from the Airflow connection; both clients are built from them.
Imports nothing from Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_asyncjob.netsuite import endpoints
from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.faults import ConfigurationError

#: In-flight requests per account from one process, below NetSuite's smallest account limit (5).
DEFAULT_MAX_IN_FLIGHT = 4


@dataclass(frozen=True)
class ClientSettings:
    """One account's connection settings, checked on construction.

    Attributes:
        credentials: the TBA credentials (account id already normalised).
        endpoint_version: e.g. ``"2025_2"``; sets the namespaces and the service path.
        base_url: replaces ``https://<account host>.suitetalk.api.netsuite.com`` (emulator, proxy).
        timeout: seconds for one HTTP request (connect and read).
        verify_tls: check the server's TLS certificate (default True).
        wsdl: NetSuite's WSDL for ``endpoint_version`` (URL or local path) instead of the compact
            schema shipped here, for submits (the sync client); blank means none.
        max_in_flight: the most requests this account may have in flight from one event loop
            (the async client); clients that ask for different values share the lowest.
        url: derived: the SOAP service URL of the account and endpoint version.

    Raises:
        ConfigurationError: a bad endpoint version, base URL or ``max_in_flight``.
    """

    credentials: TokenCredentials
    endpoint_version: str = endpoints.DEFAULT_ENDPOINT_VERSION
    base_url: str | None = None
    timeout: float = 60.0
    verify_tls: bool = True
    wsdl: str | None = None
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    url: str = field(init=False)

    def __post_init__(self) -> None:
        version = endpoints.validate_endpoint_version(self.endpoint_version)
        object.__setattr__(self, "endpoint_version", version)
        object.__setattr__(self, "wsdl", (self.wsdl or "").strip() or None)
        object.__setattr__(
            self, "url", endpoints.service_url(self.credentials.account, version, self.base_url)
        )
        if (
            isinstance(self.max_in_flight, bool)
            or not isinstance(self.max_in_flight, int)
            or self.max_in_flight < 1
        ):
            raise ConfigurationError(
                f"the in-flight request limit must be an integer >= 1, got {self.max_in_flight!r}."
            )
