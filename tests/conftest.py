"""Test-wide set-up: a private AIRFLOW_HOME with SQLite, and the shared real-schema location.

Airflow reads its configuration when first imported, so the environment is set here, before
any test module imports it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="asyncjob-airflow-home-")
os.environ.update(
    AIRFLOW_HOME=_AIRFLOW_HOME,
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "tests" / "dags"),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
)

REAL_SCHEMA_DIR = Path(
    os.environ.get("NETSUITE_WSDL_DIR", ROOT.parent / "shared" / "netsuite-wsdl" / "2023_2")
)


@pytest.fixture(scope="session")
def real_schema_dir() -> Path:
    """NetSuite's published 2023_2 WSDL/XSD set (../shared/netsuite-wsdl/2023_2 or $NETSUITE_WSDL_DIR)."""
    if not (REAL_SCHEMA_DIR / "netsuite.wsdl").exists():
        pytest.skip(
            "needs NetSuite's published 2023_2 WSDL/XSD set, against which the shipped compact "
            "schema, the client's requests and the emulator's answers are validated; it is not at "
            f"{REAL_SCHEMA_DIR}. "
            "Put NetSuite's netsuite.wsdl and its xsd/ directory there, or point NETSUITE_WSDL_DIR at them."
        )
    return REAL_SCHEMA_DIR


REAL_SCHEMA_FILES = {
    "urn:messages_2023_2.platform.webservices.netsuite.com": "platform.messages.xsd",
    "urn:relationships_2023_2.lists.webservices.netsuite.com": "lists.relationships.xsd",
    "urn:sales_2023_2.transactions.webservices.netsuite.com": "transactions.sales.xsd",
}


@pytest.fixture(scope="session")
def netsuite_schema(real_schema_dir: Path):
    """One lxml XMLSchema over the real 2023_2 messages, lists.relationships and transactions.sales
    XSDs (and what they import), so that typed records (xsi:type listRel:Customer,
    tranSales:SalesOrder, platformCommon:CustomerSearchBasic) validate as NetSuite would."""
    from lxml import etree

    imports = "".join(
        f'<xsd:import namespace="{namespace}" schemaLocation="{(real_schema_dir / "xsd" / name).as_uri()}"/>'
        for namespace, name in REAL_SCHEMA_FILES.items()
    )
    wrapper = (
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:asyncjob-tests">'
        f"{imports}</xsd:schema>"
    )
    return etree.XMLSchema(etree.fromstring(wrapper))


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """An initialised Airflow metadata database (SQLite in a temporary AIRFLOW_HOME)."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture(scope="session")
def emulator_server():
    """One NetSuite emulator on loopback for the whole session (reset before each test using it)."""
    from airflow_asyncjob.testing.emulator import Emulator, Scenario

    with Emulator(port=0, scenario=Scenario.example()) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_governance():
    """Each test starts as a new process would: no account's governance read yet."""
    from airflow_asyncjob.netsuite.process_state import PROCESS_STATE

    PROCESS_STATE.forget_governance()


@pytest.fixture
def emulator(emulator_server, monkeypatch):
    """The emulator, reset, with ``netsuite_default`` pointing at it (endpoint version 2025_2)."""
    emulator_server.reset()
    monkeypatch.setenv("AIRFLOW_CONN_NETSUITE_DEFAULT", emulator_server.airflow_connection_json())
    return emulator_server
