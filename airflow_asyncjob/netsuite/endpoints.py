"""Account ids, service URLs and namespaces of a NetSuite SOAP endpoint version.

Sources: NetSuite Help Center, "Web Services Endpoints" / account-specific domains
(mandatory from 2019.1), and the namespace layout of the published 2023_2 WSDL
(``urn:<name>_<V>.platform.webservices.netsuite.com``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from airflow_asyncjob.netsuite.faults import ConfigurationError

DEFAULT_ENDPOINT_VERSION = "2025_2"
"""The last SOAP endpoint NetSuite ships (2025.2); from 2027.1 it is the only one served."""

SOAP_ENVELOPE_NAMESPACE = "http://schemas.xmlsoap.org/soap/envelope/"
"""SOAP 1.1's envelope namespace (``soapenv:``), the one every NetSuite endpoint version uses."""

_ENDPOINT_VERSION = re.compile(r"^(20\d\d)_([12])$")
# ASCII only: a bare \d also matches other scripts' digits ("١٢٣"), which no host name carries.
_ACCOUNT_ID = re.compile(r"^[A-Za-z]*[0-9]+(?:_[A-Za-z]+[0-9]*)?$")


@dataclass(frozen=True)
class AccountId:
    """A NetSuite account id in its two spellings.

    ``passport`` is the form NetSuite shows and the tokenPassport ``account`` element needs
    (``1234567_SB1``); ``host`` is the account-specific domain label (``1234567-sb1``).
    """

    passport: str
    host: str

    def __str__(self) -> str:
        return self.passport


def normalize_account_id(raw: str) -> AccountId:
    """Normalise an account id as users paste it.

    Surrounding spaces and quotes are stripped; the sandbox/release-preview suffix is
    upper-cased for the passport and lower-cased with ``-`` for the host:
    ``' "1234567_sb1" '`` -> ``AccountId(passport="1234567_SB1", host="1234567-sb1")``.

    Raises:
        ConfigurationError: the id is empty or not of the form ``1234567`` or ``1234567_SB1``.
    """
    value = (raw or "").strip().strip("'\"").strip().replace("-", "_")
    if not _ACCOUNT_ID.match(value):
        raise ConfigurationError(
            f"account_id {value!r} is not a NetSuite account id: expected digits with an optional "
            "prefix or suffix such as '1234567', '1234567_SB1' or 'TSTDRV1234567' "
            "(Setup > Company > Company Information > Account ID)."
        )
    passport = value.upper()
    return AccountId(passport=passport, host=passport.lower().replace("_", "-"))


def validate_endpoint_version(version: str) -> str:
    """Return ``version`` (``YYYY_N``, e.g. ``2025_2``) or raise ConfigurationError naming it."""
    value = (version or "").strip()
    if not _ENDPOINT_VERSION.match(value):
        raise ConfigurationError(
            f"endpoint_version {version!r} is not a NetSuite SOAP endpoint version: "
            f"use the form YYYY_N, for example {DEFAULT_ENDPOINT_VERSION!r}."
        )
    return value


def service_path(endpoint_version: str) -> str:
    """The path of the SOAP port: ``/services/NetSuitePort_<V>``."""
    return f"/services/NetSuitePort_{validate_endpoint_version(endpoint_version)}"


def service_url(account: AccountId, endpoint_version: str, base_url: str | None = None) -> str:
    """The SOAP address for an account and endpoint version.

    ``https://<host>.suitetalk.api.netsuite.com/services/NetSuitePort_<V>``, or ``base_url``
    (an emulator or proxy, scheme included) followed by the same path when given.
    """
    root = (base_url or "").strip().rstrip("/")
    if not root:
        root = f"https://{account.host}.suitetalk.api.netsuite.com"
    elif root.split("://", 1)[0].lower() not in ("http", "https") or "://" not in root:
        raise ConfigurationError(
            f"base URL {root!r} is not an http(s) URL: write it as 'https://host' or 'http://127.0.0.1:PORT'."
        )
    return root + service_path(endpoint_version)


@dataclass(frozen=True)
class Namespaces:
    """The XML namespaces of one endpoint version (see the WSDL's ``definitions`` element)."""

    version: str
    messages: str
    core: str
    core_types: str
    faults: str
    fault_types: str
    common: str
    relationships: str
    wsdl: str


@lru_cache(maxsize=32)
def namespaces(endpoint_version: str) -> Namespaces:
    """The namespaces for ``endpoint_version``; raises ConfigurationError for a malformed one."""
    v = validate_endpoint_version(endpoint_version)
    platform = f"{v}.platform.webservices.netsuite.com"
    return Namespaces(
        version=v,
        messages=f"urn:messages_{platform}",
        core=f"urn:core_{platform}",
        core_types=f"urn:types.core_{platform}",
        faults=f"urn:faults_{platform}",
        fault_types=f"urn:types.faults_{platform}",
        common=f"urn:common_{platform}",
        relationships=f"urn:relationships_{v}.lists.webservices.netsuite.com",
        wsdl=f"urn:platform_{v}.webservices.netsuite.com",
    )


_VERSION_IN_NAMESPACE = re.compile(r"^urn:[a-z.]+_(20\d\d_[12])\.")


def version_of_namespace(namespace: str) -> str | None:
    """The endpoint version a NetSuite namespace belongs to, or None for a foreign one."""
    match = _VERSION_IN_NAMESPACE.match(namespace or "")
    return match.group(1) if match else None
