"""Test helpers for airflow_asyncjob users and its own tests: ``emulator``, a NetSuite SOAP
async-job emulator served on loopback."""
