"""Whether a failed submit can be sent again without the risk of a second job.

Imports nothing from Airflow.
"""

from __future__ import annotations

import requests
import zeep.exceptions
from urllib3.exceptions import NewConnectionError

from airflow_asyncjob.netsuite.faults import NetSuiteError, NetSuiteFault
from airflow_asyncjob.netsuite.transports import AnswerTooLarge, NotSoapAnswer, NotXsdDouble


def safe_to_resend(error: BaseException) -> bool:
    """True when a failed submit cannot have created a job, so sending it again is safe:
    NetSuite answered with a transient fault (it refused the request), HTTP 429 or 503 (the
    service refused it), or no connection was made at all."""
    if not isinstance(error, NetSuiteError) or not error.transient:
        return False
    if isinstance(error, NetSuiteFault):
        return True
    cause = error.__cause__ or error.__context__
    if isinstance(cause, NotSoapAnswer):
        return cause.status in (429, 503)
    return no_connection_made(cause)


def outcome_unknown(error: NetSuiteError) -> bool:
    """True when a failed submit may have created a job, so it must not be sent again: a
    transient failure that ``safe_to_resend`` does not clear (a time-out, a dropped connection,
    a gateway error, a cut-off body), or an HTTP 200 answer that came but cannot be read (not a
    usable SOAP answer, even one that would be refused again; a number that is not an
    xsd:double; too large). A fault, a 4xx answer or a failed TLS handshake means no job."""
    if safe_to_resend(error):
        return False
    if error.transient:
        return True
    cause = error.__cause__ or error.__context__
    if isinstance(cause, NotSoapAnswer):
        return cause.status == 200
    if isinstance(cause, zeep.exceptions.TransportError):
        return cause.status_code == 200
    return isinstance(cause, (NotXsdDouble, AnswerTooLarge))


def no_connection_made(error: BaseException | None) -> bool:
    """True when ``error`` says no TCP connection was made (nothing was sent).

    Walks requests' ConnectionError -> urllib3's MaxRetryError -> NewConnectionError (or a
    ConnectTimeout), at most eight causes deep.
    """
    for _ in range(8):
        if error is None:
            return False
        if isinstance(error, (requests.exceptions.ConnectTimeout, NewConnectionError)):
            return True
        reason = getattr(error, "reason", None)
        error = (
            reason
            if isinstance(reason, BaseException)
            else next((arg for arg in error.args if isinstance(arg, BaseException)), None)
        )
    return False
