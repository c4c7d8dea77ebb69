"""A cookie the server sets is sent back on the next request by both transports, as requests'
Session and httpx's client do (the transports prepare URLs and headers once per address)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from airflow_asyncjob.netsuite.transports import AsyncTransport, SyncTransport, async_http_client

ANSWER = (
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body><answer/></soapenv:Body></soapenv:Envelope>"
)
HEADERS = {"SOAPAction": '"checkAsyncStatus"', "Content-Type": "text/xml; charset=utf-8"}


@pytest.fixture
def server() -> Iterator[tuple[str, list[str | None]]]:
    received: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802  # http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append(self.headers.get("Cookie"))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(ANSWER)))
            if len(received) == 1:
                self.send_header("Set-Cookie", "NS_ROUTING=node7; Path=/")
            self.end_headers()
            self.wfile.write(ANSWER)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/services/NetSuitePort_2023_2", received
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_sync_transport_sends_back_the_cookie_it_was_given(server):
    url, received = server
    transport = SyncTransport(timeout=10, operation_timeout=10)
    transport.settle_environment(url)
    for _ in range(3):
        assert transport.post(url, b"<request/>", HEADERS).content == ANSWER
    assert received == [None, "NS_ROUTING=node7", "NS_ROUTING=node7"]


async def test_async_transport_sends_back_the_cookie_it_was_given(server):
    url, received = server
    http = async_http_client(2)
    try:
        transport = AsyncTransport(http, 10.0)
        for _ in range(3):
            assert (await transport.post(url, b"<request/>", HEADERS)).content == ANSWER
    finally:
        await http.aclose()
    assert received == [None, "NS_ROUTING=node7", "NS_ROUTING=node7"]
