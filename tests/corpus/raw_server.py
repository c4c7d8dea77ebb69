"""A loopback HTTP server that answers byte for byte what a corpus case says, then good answers.

It answers any POST; GETs are counted (an external entity resolved by mistake would GET). The
governance reads an async channel makes when it opens (getIntegrationGovernanceInfo,
getAccountGovernanceInfo) get a 404 and are not counted: the cases are about checkAsyncStatus.
The case's answer is served ``times`` times (``None``: always); every later request gets a
well-formed ``finished`` checkAsyncStatus answer for the job the tests ask about.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field

JOB_ID = "ASYNCWEBSERVICES_1234567_SB1_CORPUS_0001"

GOOD_BODY = f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<checkAsyncStatusResponse xmlns="urn:messages_2025_2.platform.webservices.netsuite.com">
<platformCore:asyncStatusResult xmlns:platformCore="urn:core_2025_2.platform.webservices.netsuite.com">
<platformCore:jobId>{JOB_ID}</platformCore:jobId><platformCore:status>finished</platformCore:status>
<platformCore:percentCompleted>100.0</platformCore:percentCompleted>
<platformCore:estRemainingDuration>0.0</platformCore:estRemainingDuration>
</platformCore:asyncStatusResult></checkAsyncStatusResponse></soapenv:Body></soapenv:Envelope>""".encode()


def http_answer(status_line: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [status_line, *(f"{k}: {v}" for k, v in headers.items())]
    if not any(k.lower() == "content-length" for k in headers):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


GOOD_ANSWER = http_answer("HTTP/1.1 200 OK", {"Content-Type": "text/xml; charset=utf-8"}, GOOD_BODY)


@dataclass
class Delivery:
    """What to do with a request: send ``answer`` bytes, or act out ``special``.

    special: ``reset_mid_answer`` (half an answer, then a TCP reset), ``cut_off_unannounced``
    (half an answer without Content-Length, then a clean close), ``never_answer`` (read the
    request, say nothing), ``huge`` / ``huge_unannounced`` (a 50 MB answer, streamed, with or
    without its Content-Length).
    """

    answer: bytes = b""
    special: str | None = None
    times: int | None = 1


@dataclass
class RawServer:
    posts: int = 0
    gets: list[str] = field(default_factory=list)
    delivery: Delivery | None = None
    served: int = 0

    def __post_init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self, delivery: Delivery | None) -> None:
        with self._lock:
            self.delivery, self.served, self.posts, self.gets = delivery, 0, 0, []

    def close(self) -> None:
        self._stop.set()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _next(self) -> Delivery | None:
        with self._lock:
            delivery = self.delivery
            if delivery is not None and (delivery.times is None or self.served < delivery.times):
                self.served += 1
                return delivery
            return None

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                request_line, headers = self._read_request(conn)
            except (OSError, ValueError):
                return  # not HTTP (a TLS handshake) or gone
            if any(line.lower().startswith("soapaction:") and "GovernanceInfo" in line for line in headers):
                conn.sendall(http_answer("HTTP/1.1 404 Not Found", {}, b""))
                return
            if request_line.startswith("GET"):
                with self._lock:
                    self.gets.append(request_line)
                conn.sendall(http_answer("HTTP/1.1 404 Not Found", {}, b""))
                return
            with self._lock:
                self.posts += 1
            delivery = self._next()
            try:
                if delivery is None:
                    conn.sendall(GOOD_ANSWER)
                elif delivery.special == "reset_mid_answer":
                    conn.sendall(GOOD_ANSWER[: len(GOOD_ANSWER) // 2])
                    time.sleep(0.05)
                    # SO_LINGER 0: close() sends a TCP reset instead of a clean end
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif delivery.special == "cut_off_unannounced":  # the close ends the body
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n"
                    conn.sendall(head + GOOD_BODY[: len(GOOD_BODY) // 2])
                elif delivery.special == "never_answer":
                    self._stop.wait(5)
                elif delivery.special in ("huge", "huge_unannounced"):
                    self._send_huge(conn, announce=delivery.special == "huge")
                else:
                    conn.sendall(delivery.answer)
            except OSError:
                pass  # the client hung up first (a refused huge answer)

    @staticmethod
    def _read_request(conn: socket.socket) -> tuple[str, list[str]]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise ValueError("closed")
            if (
                not data and chunk[:1] == b"\x16"
            ):  # a TLS ClientHello: answer in plain HTTP, as such servers do
                conn.sendall(http_answer("HTTP/1.1 400 Bad Request", {}, b""))
                raise ValueError("TLS to a plain-HTTP server")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].split(" ")[0].isalpha():
            raise ValueError("not HTTP")
        length = next(
            (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0
        )
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return lines[0], lines[1:]

    @staticmethod
    def _send_huge(conn: socket.socket, *, announce: bool) -> None:
        size = 50 * 2**20
        head, _, tail = GOOD_BODY.partition(b"</platformCore:asyncStatusResult>")
        filler_size = size - len(GOOD_BODY) - len(b"<padding></padding>")
        headers = {"Content-Type": "text/xml; charset=utf-8", "Content-Length": str(size)}
        answer = http_answer("HTTP/1.1 200 OK", headers, head + b"<padding>")
        if not announce:  # the body then ends when the connection closes
            answer = answer.replace(f"Content-Length: {size}\r\n".encode(), b"")
        conn.sendall(answer)
        block = b"x" * 2**20
        for _ in range(filler_size // len(block)):
            conn.sendall(block)
        conn.sendall(
            b"x" * (filler_size % len(block)) + b"</padding>" + b"</platformCore:asyncStatusResult>" + tail
        )
