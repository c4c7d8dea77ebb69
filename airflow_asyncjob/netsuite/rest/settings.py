"""RestSettings: what a REST client needs to know about one account's connection.

The hook reads them once from the Airflow connection; both REST clients are built from them.
Imports nothing from Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_asyncjob.netsuite.auth import TokenCredentials
from airflow_asyncjob.netsuite.endpoints import AccountId
from airflow_asyncjob.netsuite.faults import ConfigurationError
from airflow_asyncjob.netsuite.rest.auth import TOKEN_PATH, ClientCredentials
from airflow_asyncjob.netsuite.settings import DEFAULT_MAX_IN_FLIGHT


@dataclass(frozen=True)
class RestSettings:
    """One account's REST connection settings, checked on construction.

    Attributes:
        credentials: TokenCredentials (TBA) or ClientCredentials (OAuth 2.0 client credentials).
        base_url: replaces ``https://<account host>.suitetalk.api.netsuite.com`` (emulator, proxy).
        timeout: seconds for one HTTP request (connect and read), > 0.
        verify_tls: check the server's TLS certificate (default True).
        max_in_flight: the most requests this account may have in flight from one event loop,
            SOAP and REST together (the async clients share the account's channel and limiter).
        rest_url: derived: the root, ``https://1234567-sb1.suitetalk.api.netsuite.com`` or the base
            URL, without a trailing slash.
        token_url: derived: ``<rest_url>/services/rest/auth/oauth2/v1/token``.
        account: derived: the credentials' AccountId.

    Raises:
        ConfigurationError: credentials of another type, a base URL that is not http(s), a
            time-out that is not a positive number, a bad ``max_in_flight``.
    """

    credentials: TokenCredentials | ClientCredentials
    base_url: str | None = None
    timeout: float = 60.0
    verify_tls: bool = True
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    rest_url: str = field(init=False)
    token_url: str = field(init=False)
    account: AccountId = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.credentials, (TokenCredentials, ClientCredentials)):
            raise ConfigurationError(
                "REST credentials must be TokenCredentials (TBA) or ClientCredentials (OAuth 2.0), "
                f"not {type(self.credentials).__name__}."
            )
        account = self.credentials.account
        root = (self.base_url or "").strip().rstrip("/")
        if not root:
            root = f"https://{account.host}.suitetalk.api.netsuite.com"
        elif "://" not in root or root.split("://", 1)[0].lower() not in ("http", "https"):
            raise ConfigurationError(
                f"base URL {root[:80]!r} is not an http(s) URL: write it as 'https://host' or "
                "'http://127.0.0.1:PORT'."
            )
        if (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, (int, float))
            or not self.timeout > 0
        ):
            raise ConfigurationError(
                f"the REST timeout must be a number of seconds > 0, got {self.timeout!r}."
            )
        if (
            isinstance(self.max_in_flight, bool)
            or not isinstance(self.max_in_flight, int)
            or self.max_in_flight < 1
        ):
            raise ConfigurationError(
                f"the in-flight request limit must be an integer >= 1, got {self.max_in_flight!r}."
            )
        object.__setattr__(self, "rest_url", root)
        object.__setattr__(self, "token_url", root + TOKEN_PATH)
        object.__setattr__(self, "account", account)
