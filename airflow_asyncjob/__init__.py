"""Apache Airflow provider for NetSuite SOAP asynchronous jobs.

Layers: ``netsuite/`` is the protocol (no Airflow import); ``hooks/``, ``sensors/`` and the
other Airflow modules are a thin layer on top; ``testing/emulator/`` is a NetSuite async-job
emulator for tests and CI.
"""

__version__ = "0.1.0"
