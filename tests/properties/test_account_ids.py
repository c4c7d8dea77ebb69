"""Property: account ids as users paste them normalise to NetSuite's two spellings; anything
that is not an account id is refused with ConfigurationError (NETSUITE.md, "Endpoints and versions")."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_asyncjob.netsuite.endpoints import normalize_account_id, service_url
from airflow_asyncjob.netsuite.faults import ConfigurationError

from .strategies import canonical_account_ids, sloppy

SETTINGS = settings(max_examples=150)
ALLOWED = set(string.ascii_letters + string.digits + "_-")


@st.composite
def pasted_account_ids(draw) -> tuple[str, str]:
    canonical = draw(canonical_account_ids())
    return canonical, draw(sloppy(canonical))


@SETTINGS
@given(pasted_account_ids())
def test_a_pasted_account_id_gives_the_passport_and_host_spellings(ids):
    canonical, pasted = ids
    account = normalize_account_id(pasted)
    assert account.passport == canonical  # upper case, "_" (1234567_SB1, TSTDRV1234567)
    assert account.host == canonical.lower().replace("_", "-")  # 1234567-sb1
    assert service_url(account, "2025_2") == (
        f"https://{account.host}.suitetalk.api.netsuite.com/services/NetSuitePort_2025_2"
    )
    assert normalize_account_id(account.passport) == account  # idempotent
    assert normalize_account_id(account.host) == account


@st.composite
def broken_account_ids(draw) -> str:
    """Not an account id, however sloppily pasted: a stray character inside (a space, a dot, a
    letter or digit of another script, ...), no digits, a suffix without letters, two suffixes."""
    canonical = draw(canonical_account_ids())
    kinds = ["stray", "other script", "no digits", "bare suffix", "two suffixes", "empty", "edge"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("stray", "other script"):
        anything = st.characters(codec="utf-8")
        # Digits and letters of other scripts: str.isdigit() and a bare \d accept "٣".
        other_script = st.characters(categories=("Nd", "Lu", "Ll"))
        stray = draw((anything if kind == "stray" else other_script).filter(lambda c: c not in ALLOWED))
        position = draw(st.integers(1, len(canonical) - 1)) if len(canonical) > 1 else 1
        broken = canonical[:position] + stray + canonical[position:]
        if len(canonical) == 1:
            broken = canonical + stray + canonical
    elif kind == "no digits":
        broken = draw(st.text(st.sampled_from(string.ascii_letters + "_-"), min_size=1, max_size=12))
    elif kind == "bare suffix":
        broken = canonical.split("_")[0] + draw(st.sampled_from(["_", "_1", "_SB_", "__SB1", "_-SB1"]))
    elif kind == "two suffixes":
        broken = canonical.split("_")[0] + "_SB1" + draw(st.sampled_from(["_SB2", "_RP", "-sb2"]))
    elif kind == "empty":
        broken = draw(st.sampled_from(["", " ", "''", '""', "\t\n", "'  '"]))
    else:
        broken = draw(st.sampled_from(["_1234567", "-1234567", "1234567SB1X_", "SB1_1234567"]))
    return draw(sloppy(broken)) if draw(st.booleans()) else broken


@SETTINGS
@given(broken_account_ids())
def test_anything_else_is_refused_naming_the_setting(raw):
    with pytest.raises(ConfigurationError, match="account_id") as refused:
        normalize_account_id(raw)
    assert isinstance(refused.value, ValueError)  # callers validating input may catch ValueError
