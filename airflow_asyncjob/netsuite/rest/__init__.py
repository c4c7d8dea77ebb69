"""NetSuite REST web services: asynchronous jobs (``Prefer: respond-async``), their tasks and results.

Modules: ``auth`` (TBA and OAuth 2.0 client credentials as httpx.Auth), ``settings`` (RestSettings),
``models`` (RestJob, RestTask, RestTaskResult, RestSubmitted, Location parsing), ``errors`` (REST
error bodies -> the typed errors of ``netsuite.faults``), ``client`` (RestClient, AsyncRestClient).
Facts and their sources: Help Center chapter_161251386312 (async REST), subsect_164494900632
(idempotency), section_162755359851 (OAuth 2.0 client credentials), section_1534941295 (TBA).

Imports nothing from Airflow.
"""
