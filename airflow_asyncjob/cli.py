"""``python -m airflow_asyncjob``: a NetSuite async job's status and results, from a terminal.

    python -m airflow_asyncjob status JOB_ID [--conn-id ID] [--json]
    python -m airflow_asyncjob result JOB_ID [--page N | --all] [--output FILE] [--conn-id ID]

``status`` calls checkAsyncStatus and prints one line: job id, status, percent completed and
the estimated seconds remaining (``--json``: the sensor's XCom shape instead). ``result`` calls
getAsyncResult for page N (default 1) or, with ``--all``, for every page NetSuite reports (an
asyncSearch's totalPages; a list operation's result has no paging fields and is read as one
page, as in the Help Center's example); it prints each record's outcome and, with ``--output``,
writes the pages as JSON to FILE. Each page read is one of the 20 getAsyncResult calls NetSuite
allows per job within 30 days (Help Center "Checking for Detailed Results of an Asynchronous
Job").

The connection (default ``netsuite_default``) is read by SoapAsyncJobHook as in a task, from
``AIRFLOW_CONN_<ID>`` variables, the configured secrets backends and, as ``airflow connections
get`` does, the metadata database. Errors are the hook's (typed, with a hint) on stderr; a
refused login also says whether this machine's clock or the credentials are the cause.

Exit codes:
    0  the status or the results were printed
    1  NetSuite answered with another fault, or with an answer that could not be read
    2  wrong command line, or a JOB_ID that is none ("None", "null", empty: nothing is sent)
    3  the connection is missing or malformed (account id, endpoint version, base URL, a
       credential), or NetSuite does not serve its endpoint version
    4  NetSuite refused the login or the permission (credentials, clock, role)
    5  the job id is unknown, purged (after 30 days) or out of getAsyncResult calls (20)
    6  the job has not finished yet (JOB_NOT_COMPLETE): ask for its results later
    7  a transient failure outlived the retries (concurrency limit, maintenance, network):
       try again later
    8  the --output file could not be written (the results were printed)

A reader that closes stdout early (``| head``) ends the printing quietly, without changing the
exit code. ``--output`` is written page by page as the pages arrive, and with ``--output`` every
page is still read and written after the reader has gone; without it no further page is read.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
    from airflow_asyncjob.netsuite.faults import NetSuiteError
    from airflow_asyncjob.netsuite.models import AsyncResultPage

EXIT_OK = 0
EXIT_NETSUITE = 1
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3
EXIT_REFUSED = 4
EXIT_INVALID_JOB_ID = 5
EXIT_NOT_COMPLETE = 6
EXIT_TRANSIENT = 7
EXIT_OUTPUT = 8


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_asyncjob",
        description="Status and results of a NetSuite SOAP asynchronous job, through an Airflow connection.",
        epilog="Exit codes: 0 done, 1 NetSuite error, 2 usage, 3 connection, 4 login or permission "
        "refused, 5 invalid job id, 6 job not complete, 7 transient (try later), 8 output file.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{status,result}")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("job_id", metavar="JOB_ID", help="NetSuite's jobId from an async* call")
        command.add_argument(
            "--conn-id",
            default="netsuite_default",
            help="the netsuite_soap Airflow connection (default: %(default)s)",
        )
        return command

    status = add("status", "checkAsyncStatus: status, percent completed, estimated seconds remaining")
    status.add_argument("--json", action="store_true", help="print the status as one JSON object")

    result = add("result", "getAsyncResult: the per-record results (each page is one of 20 calls)")
    pages = result.add_mutually_exclusive_group()
    pages.add_argument("--page", type=int, metavar="N", help="the 1-based page (default: 1)")
    pages.add_argument("--all", action="store_true", help="every page NetSuite reports")
    result.add_argument("--output", metavar="FILE", help="also write the pages as JSON to FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    args = build_parser().parse_args(argv)
    if args.command == "result" and args.page is not None and args.page < 1:
        print("error: --page must be 1 or more (pages are 1-based)", file=sys.stderr)
        return EXIT_USAGE
    from airflow_asyncjob.netsuite.faults import ConfigurationError
    from airflow_asyncjob.netsuite.job_ids import require_job_id

    try:  # before the connection is read: "None" from a script is a usage error, not a connection one
        args.job_id = require_job_id(args.job_id, name="JOB_ID", origin="the command or task that gave it")
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    # Read connections from the metadata database too, as `airflow connections get` does;
    # outside a task Airflow's SDK would otherwise look only at variables and secrets backends.
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    # Airflow sets up its logging when first used, writing to the stdout of that moment; this
    # command's stdout is its output (--json, pipes), so Airflow's log lines go to stderr.
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        return _run(args, out)


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from airflow.sdk.exceptions import AirflowNotFoundException

    from airflow_asyncjob.hooks.soap_async_job import SoapAsyncJobHook
    from airflow_asyncjob.netsuite.faults import NetSuiteError

    hook = SoapAsyncJobHook(netsuite_conn_id=args.conn_id)
    try:
        if args.command == "status":
            status = hook.check_async_status(args.job_id)
            line = json.dumps(status.to_dict()) if args.json else status.describe()
            ClosablePipe(out).write_with(lambda out: print(line, file=out))
            return EXIT_OK
        return _result(hook, args.job_id, args.page or 1, args.all, args.output, out)
    except AirflowNotFoundException as error:
        print(
            f"error: {error}. Define it (AIRFLOW_CONN_{args.conn_id.upper()}, the UI or a secrets backend).",
            file=sys.stderr,
        )
        return EXIT_CONFIGURATION
    except NetSuiteError as error:
        print(f"error: {hook.explain_error(error)}", file=sys.stderr)
        return exit_code(error)


def _result(
    hook: SoapAsyncJobHook, job_id: str, page_index: int, every_page: bool, output: str | None, out: TextIO
) -> int:
    """Read the pages one by one; each is written to ``output`` and printed as it arrives."""
    from airflow_asyncjob.netsuite.faults import NetSuiteError

    screen = ClosablePipe(out)
    file = PagesFile.open(job_id, output)
    code = EXIT_OK if file is None or file.ok else EXIT_OUTPUT
    pages = 0
    failure: NetSuiteError | None = None
    try:
        last = page_index
        index = page_index
        while index <= last:
            page = hook.get_async_result(job_id, index)
            if pages == 0 and every_page:
                last = page.total_pages or 1
            pages += 1
            if file is not None:
                file.add(page)
            screen.write_with(functools.partial(print_page, page))
            if screen.closed and (file is None or not file.ok):
                break  # nobody reads any more pages: don't spend getAsyncResult calls on them
            index += 1
    except NetSuiteError as error:
        if not pages:
            if file is not None:
                file.discard()
            raise
        failure = error  # keep the pages already read and written: each cost one of 20 calls
    if file is not None:
        if file.close():
            screen.write_with(lambda out: print(f"wrote {pages} page(s) to {output}", file=out))
        else:
            code = EXIT_OUTPUT
    if failure is not None:
        print(f"error: after {pages} page(s): {hook.explain_error(failure)}", file=sys.stderr)
        return exit_code(failure)
    return code


class ClosablePipe:
    """stdout that a reader may close early (``| head``): the first write that finds the pipe
    closed points stdout at the null device (so that the interpreter's last flush cannot fail
    either) and every later write is dropped; ``closed`` says so."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.closed = False

    def write_with(self, printer: Callable[[TextIO], None]) -> None:
        """``printer(out)``, then a flush, unless the reader has gone."""
        if self.closed:
            return
        try:
            printer(self.out)
            self.out.flush()
        except BrokenPipeError:
            self.closed = True
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.out.fileno())
                os.close(devnull)


class PagesFile:
    """``--output``: ``{"job_id", "pages": [...]}`` written page by page as the pages arrive, so
    that what was read is on disk even when the run ends early. A write error is reported on
    stderr once; ``ok`` is then False and later pages are only printed."""

    def __init__(self, path: str, file: TextIO | None) -> None:
        self.path = path
        self.file = file
        self.count = 0

    @classmethod
    def open(cls, job_id: str, path: str | None) -> PagesFile | None:
        if path is None:
            return None
        try:
            file: TextIO | None = open(path, "w", encoding="utf-8")  # noqa: SIM115 -- closed in close()
        except OSError as error:
            print(f"error: cannot write {path}: {error}", file=sys.stderr)
            return cls(path, None)
        pages = cls(path, file)
        pages._write(f'{{\n  "job_id": {json.dumps(job_id)},\n  "pages": [')
        return pages

    @property
    def ok(self) -> bool:
        return self.file is not None

    def add(self, page: AsyncResultPage) -> None:
        body = textwrap.indent(json.dumps(dataclasses.asdict(page), indent=2), "    ")
        self._write(("," if self.count else "") + "\n" + body)
        self.count += 1

    def close(self) -> bool:
        """End the JSON document; True when the whole file was written."""
        self._write("\n  ]\n}\n" if self.count else "]\n}\n")
        if self.file is None:
            return False
        try:
            self.file.close()
        except OSError as error:
            self._fail(error)
            return False
        return True

    def discard(self) -> None:
        """No page was read: leave no half-written file behind."""
        if self.file is not None:
            self.file.close()
            self.file = None
            with contextlib.suppress(OSError):
                os.remove(self.path)

    def _write(self, text: str) -> None:
        if self.file is None:
            return
        try:
            self.file.write(text)
            self.file.flush()
        except OSError as error:
            self._fail(error)

    def _fail(self, error: OSError) -> None:
        print(f"error: cannot write {self.path}: {error}", file=sys.stderr)
        with contextlib.suppress(OSError):
            if self.file is not None:
                self.file.close()
        self.file = None


def print_page(page: AsyncResultPage, out: TextIO) -> None:
    """Human lines for one page: a heading, list-level details, then one line per record."""
    if page.total_pages is not None:
        print(
            f"job {page.job_id}, page {page.page_index} of {page.total_pages} ({page.result_type}): "
            f"{page.total_records} records in pages of {page.page_size}, search id {page.search_id}",
            file=out,
        )
    else:
        failed = len(page.failed_records)
        print(
            f"job {page.job_id}, page {page.page_index} ({page.result_type}): "
            f"{len(page.records)} records, {failed} failed",
            file=out,
        )
    for detail in page.details:
        print(f"  {detail.type} {detail.code or ''}: {detail.message or ''}", file=out)
    for record in page.records:
        ref = record.base_ref
        names = []
        if ref is not None:
            names += [f"internalId={ref.internal_id}"] if ref.internal_id else []
            names += [f"externalId={ref.external_id}"] if ref.external_id else []
            names += [f"type={ref.type}"] if ref.type else []
        reasons = [f"{d.code or d.type}: {d.message or ''}".strip() for d in record.details]
        outcome = "ok    " if record.is_success else "FAILED"
        print("  " + "  ".join([outcome, *names, *reasons]), file=out)


def exit_code(error: NetSuiteError) -> int:
    """The exit code for a NetSuite error (see the module docstring)."""
    from airflow_asyncjob.netsuite.faults import (
        AuthenticationError,
        ConfigurationError,
        InvalidJobIdError,
        NetSuiteFault,
        PermissionDeniedError,
        UnsupportedVersionError,
    )

    if isinstance(error, (ConfigurationError, UnsupportedVersionError)):
        return EXIT_CONFIGURATION
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return EXIT_REFUSED
    if isinstance(error, InvalidJobIdError):
        return EXIT_INVALID_JOB_ID
    if isinstance(error, NetSuiteFault) and error.code == "JOB_NOT_COMPLETE":
        return EXIT_NOT_COMPLETE
    if error.transient:
        return EXIT_TRANSIENT
    return EXIT_NETSUITE
