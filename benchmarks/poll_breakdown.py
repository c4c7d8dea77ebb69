"""Benchmark (b), where a warm poll's CPU goes: each piece of one checkAsyncStatus timed on its
own, in one process, against the emulator in another (``warm_poll.py`` times whole polls).

    AIRFLOW_CONN_NETSUITE_DEFAULT='{...}' python benchmarks/poll_breakdown.py --job-id ID --out R.json

Pieces (CPU ms per call, ``time.process_time`` over ``--calls`` calls after a warm-up):
ours: tokenPassport (nonce + HMAC-SHA256), tenacity's Retrying around a no-op (sync and async),
the strict pre-parse (``check_answer``), ``parse_async_status``; zeep: building the envelope
(``binding._create`` + serialisation) and reading the answer (``binding.process_reply``);
HTTP: one POST of an already built envelope with requests (zeep's sync transport), httpx
(our async transport) and, for scale, the standard library's http.client; and what requests'
``trust_env`` (environment read per request) costs, as the median difference of interleaved rounds. zeep's private
``_create`` / ``process_reply`` are used because they are exactly the two halves of a call.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from support import ENDPOINT_VERSION, write_result


def cpu_ms(call: Callable[[], Any], calls: int) -> float:
    for _ in range(max(20, calls // 20)):
        call()
    started = time.process_time()
    for _ in range(calls):
        call()
    return 1000 * (time.process_time() - started) / calls


async def async_cpu_ms(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    for _ in range(max(20, calls // 20)):
        await call()
    started = time.process_time()
    for _ in range(calls):
        await call()
    return 1000 * (time.process_time() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--job-id", required=True)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import httpx
    import requests
    from lxml import etree

    from airflow_asyncjob.netsuite.auth import TokenCredentials, token_passport
    from airflow_asyncjob.netsuite.endpoints import normalize_account_id
    from airflow_asyncjob.netsuite.models import parse_async_status
    from airflow_asyncjob.netsuite.process_state import zeep_service
    from airflow_asyncjob.netsuite.retry import RetryPolicy
    from airflow_asyncjob.netsuite.transports import check_answer

    connection = json.loads(os.environ["AIRFLOW_CONN_NETSUITE_DEFAULT"])
    extra = connection["extra"]
    credentials = TokenCredentials(
        account=normalize_account_id(extra["account_id"]),
        consumer_key=extra["consumer_key"],
        consumer_secret=extra["consumer_secret"],
        token_id=extra["token_id"],
        token_secret=extra["token_secret"],
    )
    url = f"{connection['host']}/services/NetSuitePort_{ENDPOINT_VERSION}"
    job_id, calls = args.job_id, args.calls
    service = zeep_service(ENDPOINT_VERSION, url, 60.0)
    binding, zeep_client = service._binding, service._client
    operation = binding.get("checkAsyncStatus")

    def envelope() -> bytes:
        kwargs = {"jobId": job_id, "_soapheaders": {"tokenPassport": token_passport(credentials)}}
        message = binding._create(
            "checkAsyncStatus", (), kwargs, client=zeep_client, options={"address": url}
        )
        return etree.tostring(message[0])

    headers = {"SOAPAction": '"checkAsyncStatus"', "Content-Type": "text/xml; charset=utf-8"}
    session = requests.Session()
    answer = session.post(url, data=envelope(), headers=headers, timeout=60).content
    reply = SimpleNamespace(
        status_code=200, headers={"Content-Type": "text/xml"}, encoding=None, content=answer
    )
    body = binding.process_reply(zeep_client, operation, reply).body
    passport_ms = cpu_ms(lambda: token_passport(credentials), calls)
    pieces = {
        "ours: tokenPassport (nonce + HMAC)": passport_ms,
        "ours: tenacity Retrying per call (sync)": cpu_ms(
            lambda: RetryPolicy().retrying("checkAsyncStatus")(lambda: None), calls
        ),
        "ours: strict pre-parse (check_answer)": cpu_ms(lambda: check_answer(200, answer), calls),
        "ours: parse_async_status": cpu_ms(lambda: parse_async_status(body, requested_job_id=job_id), calls),
        "zeep: build envelope (minus tokenPassport)": cpu_ms(envelope, calls) - passport_ms,
        "zeep: read answer (process_reply)": cpu_ms(
            lambda: binding.process_reply(zeep_client, operation, reply), calls
        ),
    }
    built = envelope()
    pieces["HTTP: requests POST (zeep's sync transport)"] = cpu_ms(
        lambda: session.post(url, data=built, headers=headers, timeout=60).content, calls
    )
    # requests re-reads proxies, CA bundle and .netrc from the environment on every request
    # while trust_env is on (the default). Interleaved rounds, so that load swings hit both.
    bare = requests.Session()
    bare.trust_env = False
    rounds: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(10):
        for name, which in (("on", session), ("off", bare)):
            rounds[name].append(
                cpu_ms(
                    lambda which=which: which.post(url, data=built, headers=headers, timeout=60).content,
                    calls // 10,
                )
            )
    pieces["HTTP: requests POST, trust_env on - off (A/B)"] = statistics.median(
        on - off for on, off in zip(rounds["on"], rounds["off"])
    )
    target = urlsplit(url)
    raw = http.client.HTTPConnection(target.netloc, timeout=60)

    def raw_post() -> bytes:
        raw.request("POST", target.path, body=built, headers=headers)
        return raw.getresponse().read()

    pieces["HTTP: http.client POST (stdlib, for scale)"] = cpu_ms(raw_post, calls)

    async def async_pieces() -> None:
        async def noop() -> None:
            return None

        pieces["ours: tenacity AsyncRetrying per call"] = await async_cpu_ms(
            lambda: RetryPolicy().async_retrying("checkAsyncStatus")(noop), calls
        )
        async with httpx.AsyncClient() as http:

            async def post() -> bytes:
                response = await http.post(url, content=built, headers=headers, timeout=60.0)
                return response.content

            pieces["HTTP: httpx POST (our async transport)"] = await async_cpu_ms(post, calls)

    asyncio.run(async_pieces())
    write_result(args.out, {"pieces_ms": pieces, "request_bytes": len(built), "answer_bytes": len(answer)})


if __name__ == "__main__":
    main()
