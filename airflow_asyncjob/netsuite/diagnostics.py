"""Why a login was refused: clock skew or the credentials, told apart for a person to act on.

NetSuite answers every tokenPassport problem with the same fault (InvalidCredentialsFault
``USER_ERROR`` "Invalid login attempt."); the reason is only shown in the account's Login Audit
Trail (Setup > Users/Roles > View Login Audit Trail, column Detail; Help Center "Error Messages
for RESTlets, SOAP Web Services, and REST Web Services" and "Token-Based Authentication Errors in
SOAP Web Services"). One cause can be checked from here: a passport timestamp too far from
NetSuite's clock. NetSuite's clock is read from the HTTP ``Date`` header (RFC 9110, section
6.6.1) of a request that needs no authentication. Imports nothing from Airflow.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import requests

from airflow_asyncjob.netsuite.endpoints import AccountId
from airflow_asyncjob.netsuite.faults import NetSuiteFault

CLOCK_TOLERANCE = 300.0
"""Seconds a tokenPassport timestamp may be off NetSuite's clock ("within a few minutes" in the
Help Center; 5 minutes in practice, UNVERIFIED): beyond this, skew is the cause of a refusal."""
CLOCK_WARNING = 60.0
"""Seconds of skew worth a warning even when NetSuite still accepts the passport."""


def clock_offset(url: str, timeout: float = 10.0) -> float | None:
    """Seconds NetSuite's clock is ahead of this machine's (negative: behind), or None if unknown.

    Sends one unauthenticated HEAD request to ``url`` (the SOAP service URL: any answer, even an
    error page, carries the server's ``Date``) and compares that header with the local clock at
    the middle of the exchange. The header has a resolution of one second.
    """
    sent = time.time()
    try:
        response = requests.head(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException:
        return None
    received = time.time()
    try:
        server = parsedate_to_datetime(response.headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    # Date is truncated to the second: the server's clock was anywhere in [server, server + 1).
    return server + 0.5 - (sent + received) / 2


def describe_offset(offset: float) -> str:
    """``"12 s ahead of"`` / ``"12 s behind"``: where this machine's clock is relative to NetSuite's."""
    return f"{abs(offset):.0f} s {'behind' if offset > 0 else 'ahead of'}"


def explain_login_refusal(fault: NetSuiteFault, *, account: AccountId, offset: float | None) -> str:
    """A message for a refused login: NetSuite's fault code and text, then the likely cause.

    ``offset`` is ``clock_offset`` of the service URL. Clock skew beyond CLOCK_TOLERANCE is
    named as the cause; otherwise the credentials are, with where each one is found, starting
    with the account id (a production id where the token belongs to a sandbox is common).
    """
    refused = (
        f"NetSuite refused the login: fault {fault.fault_type}, code {fault.code or '(none)'}"
        + (f' ("{fault.netsuite_message}")' if fault.netsuite_message else "")
        + "."
    )
    if offset is not None and abs(offset) > CLOCK_TOLERANCE:
        return (
            f"{refused} Clock skew: this machine's clock is {describe_offset(offset)} NetSuite's "
            f"(from the Date header of its answer), and NetSuite refuses a tokenPassport whose "
            f"timestamp is more than about {CLOCK_TOLERANCE / 60:.0f} minutes off. Set this "
            "machine's clock right (NTP) and test again."
        )
    if offset is None:
        clock = (
            "NetSuite's clock could not be read, so clock skew is not ruled out (the tokenPassport "
            f"timestamp must be within about {CLOCK_TOLERANCE / 60:.0f} minutes of NetSuite's time)."
        )
    elif abs(offset) > CLOCK_WARNING:
        clock = (
            f"This machine's clock is {describe_offset(offset)} NetSuite's: within what NetSuite "
            "accepts, but set it right (NTP)."
        )
    else:
        clock = (
            f"This machine's clock agrees with NetSuite's (within {max(abs(offset), 1):.0f} s), "
            "so the credentials themselves were refused."
        )
    sandbox = (
        ""
        if "_" in account.passport
        else f" (if the token was made in a sandbox, the id is {account.passport}_SB1)"
    )
    return (
        f"{refused} {clock} Check the account id, sent as {account.passport}{sandbox}; the "
        "consumer key and secret of the integration record (Setup > Integration > Manage "
        "Integrations: State Enabled, Token-Based Authentication checked); and the token id and "
        "secret (Setup > Users/Roles > Access Tokens: made for that integration, this account and a "
        "role with the SOAP Web Services permission, not revoked). NetSuite names the exact reason "
        "in Setup > Users/Roles > View Login Audit Trail, column Detail."
    )
