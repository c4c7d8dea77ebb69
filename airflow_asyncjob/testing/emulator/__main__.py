"""``python -m airflow_asyncjob.testing.emulator``: serve the emulator until SIGINT/SIGTERM.

The first line of stdout is the base URL (``http://127.0.0.1:PORT``), flushed at once, so a
parent process can read it; then the credentials it accepts (SOAP and REST TBA, the REST OAuth
2.0 client) and Airflow connections for it (``netsuite_soap``; ``netsuite_rest`` with OAuth 2.0
when the emulator holds the private key, and with TBA).
Logs go to stderr. Every setting has a flag and an environment variable (the flag wins, then the
variable, then the scenario, then the default).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys

from airflow_asyncjob.netsuite.endpoints import DEFAULT_ENDPOINT_VERSION
from airflow_asyncjob.testing.emulator.rest_auth import DEFAULT_REST_CLIENT, TOKEN_SECONDS
from airflow_asyncjob.testing.emulator.scenario import Scenario
from airflow_asyncjob.testing.emulator.server import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_CONCURRENCY_LIMIT,
    DEFAULT_CREDENTIALS,
    Emulator,
)

ENV_PREFIX = "NETSUITE_EMULATOR_"
EXAMPLE = "example"
NO_SCENARIO = "none"


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m airflow_asyncjob.testing.emulator",
        description="NetSuite SOAP and REST async-job emulator on 127.0.0.1 (token-based auth, any SOAP "
        "endpoint version; REST with TBA or OAuth 2.0 client credentials).",
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one (default 8765)")
    for name, default in (("account_id", DEFAULT_ACCOUNT_ID), *DEFAULT_CREDENTIALS.items()):
        variable = ENV_PREFIX + name.upper()
        parser.add_argument(
            "--" + name.replace("_", "-"),
            default=env(variable),
            help=f"${variable}; else the scenario's; else {default!r}",
        )
    parser.add_argument(
        "--oauth2-public-key",
        metavar="FILE",
        default=env(ENV_PREFIX + "OAUTH2_PUBLIC_KEY"),
        help="PEM public key or certificate that REST token requests' JWT assertions must verify with "
        f"(${ENV_PREFIX}OAUTH2_PUBLIC_KEY); default: a key pair generated at start, whose private key is in "
        "the printed netsuite_rest connection",
    )
    for name, default in (
        ("oauth2_client_id", DEFAULT_REST_CLIENT.client_id),
        ("oauth2_certificate_id", DEFAULT_REST_CLIENT.certificate_id),
    ):
        variable = ENV_PREFIX + name.upper()
        parser.add_argument(
            "--" + name.replace("_", "-"), default=env(variable), help=f"${variable}; else {default!r}"
        )
    parser.add_argument(
        "--rest-token-seconds",
        type=float,
        default=env(ENV_PREFIX + "REST_TOKEN_SECONDS", str(TOKEN_SECONDS)),
        help=f"validity of issued REST access tokens, seconds (${ENV_PREFIX}REST_TOKEN_SECONDS; "
        f"default {TOKEN_SECONDS})",
    )
    parser.add_argument(
        "--concurrency-limit",
        type=int,
        default=env(ENV_PREFIX + "CONCURRENCY_LIMIT"),
        help=f"in-flight SOAP and REST requests allowed, together (${ENV_PREFIX}CONCURRENCY_LIMIT; else the "
        f"scenario's; else {DEFAULT_CONCURRENCY_LIMIT})",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=env(ENV_PREFIX + "LATENCY", "0"),
        help=f"seconds each SOAP or REST request takes before its answer (${ENV_PREFIX}LATENCY; default 0)",
    )
    parser.add_argument(
        "--inject",
        action="append",
        metavar="JSON",
        help="queue an injection at start, as POST /_emulator/faults takes it (repeatable), e.g. "
        '\'{"kind": "soap_fault", "code": "WS_REQUEST_BLOCKED", "probability": 0.1, "seed": 7, '
        '"times": null}\' for one answer in ten until reset; '
        f"${ENV_PREFIX}INJECT holds one such object or a JSON list of them",
    )
    parser.add_argument(
        "--scenario",
        default=env(ENV_PREFIX + "SCENARIO", EXAMPLE),
        help=f"scenario JSON file, {EXAMPLE!r} for the shipped example (the default) or {NO_SCENARIO!r} "
        f"(${ENV_PREFIX}SCENARIO)",
    )
    parser.add_argument(
        "--endpoint-version",
        default=DEFAULT_ENDPOINT_VERSION,
        help=f"the version in the printed Airflow connection (default {DEFAULT_ENDPOINT_VERSION}); "
        "every version is served",
    )
    # No "trace": uvicorn's message logger would hide the transport a drop injection closes.
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def _injection_lines(emulator: Emulator) -> list[str]:
    stats = emulator.stats()
    pending, unlimited = stats["injections_pending"], stats["injections_unlimited"]
    if not (pending or unlimited):
        return []
    return [f"injections queued: {pending} answers to replace, {unlimited} without limit (until reset)"]


def _rest_lines(emulator: Emulator) -> list[str]:
    client = emulator.rest_client
    lines = [
        f"REST web services: {emulator.rest_url}/services/rest/record/v1/<type> (Prefer: respond-async), "
        f"{emulator.rest_url}/services/rest/async/v1/job/<id>, .../system/v1/serverTime",
        f"REST OAuth 2.0: token URL {emulator.rest_token_url}  client id: {client.client_id}  "
        f"certificate id: {client.certificate_id}  "
        + (
            f"algorithm: {client.algorithm} (key pair generated at start)"
            if client.private_key
            else "public key: the one given (--oauth2-public-key)"
        ),
    ]
    return lines


def _rest_connection_lines(emulator: Emulator) -> list[str]:
    lines = []
    if emulator.rest_client.private_key is not None:
        lines.append(
            f"  export AIRFLOW_CONN_NETSUITE_REST_DEFAULT='{emulator.airflow_rest_connection_json('oauth2')}'"
        )
    # Another conn id for TBA: a parent reading the banner finds one line per connection.
    lines.append(f"  export AIRFLOW_CONN_NETSUITE_REST_TBA='{emulator.airflow_rest_connection_json('tba')}'")
    return lines


def _print_banner(emulator: Emulator, scenario_name: str, scenario: Scenario) -> None:
    creds = emulator.credentials
    lines = [
        emulator.base_url,
        f"NetSuite SOAP and REST async-job emulator. SOAP port: "
        f"{emulator.base_url}/services/NetSuitePort_<V> (any V, e.g. {emulator.endpoint_version}); "
        f"WSDL: {emulator.wsdl_url()}",
        f"account id: {creds.account.passport}  consumer key: {creds.consumer_key}  consumer secret: "
        f"{creds.consumer_secret}  token id: {creds.token_id}  token secret: {creds.token_secret}",
        *_rest_lines(emulator),
        f"concurrency limit: {emulator.stats()['concurrency_limit']} (SOAP and REST together)",
        *_injection_lines(emulator),
        f"scenario: {scenario_name}",
        *(f"  job {spec.job_id}: {spec.operation} -> {spec.final_status.value}" for spec in scenario.jobs),
        "Airflow connection:",
        f"  export AIRFLOW_CONN_NETSUITE_DEFAULT='{emulator.airflow_connection_json()}'",
        "Airflow REST connection:",
        *_rest_connection_lines(emulator),
        "Admin API (JSON): POST /_emulator/jobs, POST /_emulator/faults, GET /_emulator/stats, "
        "GET /_emulator/requests, POST /_emulator/reset, GET /_emulator/connections",
        "Stop with Ctrl+C or SIGTERM.",
    ]
    print("\n".join(lines), flush=True)


def _injections(flags: list[str] | None, variable: str | None) -> list[dict]:
    """The injections to queue: the ``--inject`` flags, else the environment variable's.

    Raises:
        ValueError: not JSON, or not an object (a list of objects in the variable).
    """
    texts = flags or ([variable] if variable and variable.strip() else [])
    injections: list[dict] = []
    for text in texts:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"an injection is not JSON ({error}): {text[:80]!r}") from None
        for item in value if isinstance(value, list) and not flags else [value]:
            if not isinstance(item, dict) or "kind" not in item:
                raise ValueError(f"an injection must be a JSON object with a kind, not {item!r}"[:200])
            injections.append(item)
    return injections


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    try:
        if args.scenario == NO_SCENARIO:
            scenario = Scenario()
        elif args.scenario == EXAMPLE:
            scenario = Scenario.example()
        else:
            scenario = Scenario.load(args.scenario)
        injections = _injections(args.inject, os.environ.get(ENV_PREFIX + "INJECT"))
        public_key = None
        if args.oauth2_public_key:
            with open(args.oauth2_public_key, "rb") as handle:
                public_key = handle.read()
        emulator = Emulator(
            port=args.port,
            scenario=scenario,
            account_id=args.account_id,
            consumer_key=args.consumer_key,
            consumer_secret=args.consumer_secret,
            token_id=args.token_id,
            token_secret=args.token_secret,
            concurrency_limit=args.concurrency_limit,
            endpoint_version=args.endpoint_version,
            log_level=args.log_level,
            latency=args.latency,
            oauth2_public_key=public_key,
            oauth2_client_id=args.oauth2_client_id,
            oauth2_certificate_id=args.oauth2_certificate_id,
            rest_token_seconds=args.rest_token_seconds,
        )
        for injection in injections:
            emulator.inject(**injection)
    except (OSError, ValueError) as error:  # ConfigurationError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    # uvicorn handles SIGTERM while serving and re-raises it afterwards; exit 0 then, not -15.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        emulator.run(ready=lambda emu: _print_banner(emu, args.scenario, scenario))
    except KeyboardInterrupt:
        pass
    except OSError as error:  # e.g. the port is in use
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
