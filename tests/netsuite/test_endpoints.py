"""Account id normalisation, service URLs and namespaces."""

from __future__ import annotations

import pytest

from airflow_asyncjob.netsuite.endpoints import namespaces, normalize_account_id, service_url
from airflow_asyncjob.netsuite.faults import ConfigurationError


@pytest.mark.parametrize(
    ("raw", "passport", "host"),
    [
        ("1234567", "1234567", "1234567"),
        ("1234567_SB1", "1234567_SB1", "1234567-sb1"),
        ("1234567_sb1", "1234567_SB1", "1234567-sb1"),
        (" 1234567_SB1 ", "1234567_SB1", "1234567-sb1"),
        ('"1234567"', "1234567", "1234567"),
        ("'1234567_sb2'", "1234567_SB2", "1234567-sb2"),
        ("1234567-sb1", "1234567_SB1", "1234567-sb1"),
        ("tstdrv1234567", "TSTDRV1234567", "tstdrv1234567"),
    ],
)
def test_account_id_is_normalised(raw, passport, host):
    account = normalize_account_id(raw)
    assert (account.passport, account.host) == (passport, host)


@pytest.mark.parametrize("raw", ["", "   ", "acme corp", "1234567_", "https://1234567.app.netsuite.com"])
def test_malformed_account_id_is_refused_with_guidance(raw):
    with pytest.raises(ConfigurationError, match="not a NetSuite account id"):
        normalize_account_id(raw)


def test_service_url_uses_account_specific_domain():
    url = service_url(normalize_account_id("1234567_sb1"), "2025_2")
    assert url == "https://1234567-sb1.suitetalk.api.netsuite.com/services/NetSuitePort_2025_2"


def test_base_url_replaces_the_account_host():
    url = service_url(normalize_account_id("1234567"), "2023_2", "http://127.0.0.1:8765/")
    assert url == "http://127.0.0.1:8765/services/NetSuitePort_2023_2"


@pytest.mark.parametrize("version", ["2025.2", "v2025_2_0", "25_2", "2025_3", ""])
def test_malformed_endpoint_version_is_refused(version):
    with pytest.raises(ConfigurationError, match="endpoint_version"):
        namespaces(version)


def test_namespaces_follow_the_endpoint_version():
    ns = namespaces("2023_2")
    assert ns.messages == "urn:messages_2023_2.platform.webservices.netsuite.com"
    assert ns.core == "urn:core_2023_2.platform.webservices.netsuite.com"
    assert ns.wsdl == "urn:platform_2023_2.webservices.netsuite.com"
