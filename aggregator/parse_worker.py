"""Parse and clean feed documents in a child process, so the writer has its core to itself.

Reading a document (parse, HTML → text, canonical links, identities, the folded blocks
boilerplate learning counts) is pure CPU work
that needs nothing from the writer's state.  On a machine with a second core it runs
in one long-lived child process while the writer stores, fingerprints and decides the
previous feed: a cold poll of 10,000 items spends ~2.5 s fewer on the writer thread.

The child is a plain ``python -c "…parse_worker import main; main()"`` speaking length-prefixed
pickles over its stdin/stdout: it imports only what parsing needs (~25 MB), where a
``multiprocessing`` worker would import the whole command line program again.  The
parent trusts nothing about it: a child that dies (a parser crash on a hostile
document) or takes longer than the deadline is killed and replaced, and that one
feed gets the error.  With ``polling.parse_workers: 0`` documents are read in the
writer thread as before.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aggregator.boilerplate import Evidence, evidence, fold_text
from aggregator.clean import clean_entry
from aggregator.errors import FeedError, ParseError
from aggregator.parse import parse_feed
from aggregator.types import CleanItem

_LENGTH = struct.Struct("<Q")


@dataclass(frozen=True)
class ReadDocument:
    """A feed document as the writer needs it: the feed's own fields and its clean items."""

    title: str | None
    warning: str | None
    ttl_minutes: int | None
    items: tuple[CleanItem, ...]
    evidence: tuple[Evidence, ...]
    """Each item's boilerplate evidence (its short folded blocks and their keys)."""


@dataclass(frozen=True)
class _Failure:
    message: str
    bug: bool
    """True when the reader itself failed (an exception that is not a ParseError)."""
    trace: str = ""
    """The traceback of a bug, for the log."""


def read_document(url: str, body: bytes, headers: Mapping[str, str]) -> ReadDocument:
    """Parse and clean one document; ``ParseError`` when it is not a usable feed."""
    parsed = parse_feed(url, body, headers)
    items = unique_items([clean_entry(e) for e in parsed.entries])
    return ReadDocument(title=parsed.title, warning=parsed.warning,
                        ttl_minutes=parsed.ttl_minutes, items=items,
                        evidence=tuple(evidence(fold_text(i.text)) for i in items))


def unique_items(items: list[CleanItem]) -> tuple[CleanItem, ...]:
    """One item per entry id (feeds repeat entries); the last occurrence wins."""
    by_id: dict[str, CleanItem] = {}
    for item in items:
        by_id.pop(item.entry_id, None)
        by_id[item.entry_id] = item
    return tuple(by_id.values())


def _read_safely(url: str, body: bytes, headers: Mapping[str, str]) -> ReadDocument | _Failure:
    try:
        return read_document(url, body, headers)
    except ParseError as exc:
        return _Failure(exc.message, bug=False)
    except Exception as exc:  # a parser bug on hostile input: that feed's error, not ours
        return _Failure(f"unexpected {exc.__class__.__name__}: {exc}", bug=True,
                        trace=traceback.format_exc())


class ReaderBug(FeedError):
    """The document reader failed in an unexpected way (reported on the feed, logged)."""

    def __init__(self, url: str, message: str, trace: str) -> None:
        super().__init__(url, message)
        self.trace = trace


# -- the parent side ----------------------------------------------------------------------


class DocumentReader:
    """Reads documents in a child process (``workers=1``) or in the calling thread (0).

    :meth:`submit` returns a future, so the writer can hand over the next document
    before it stores the current one.  Requests are served one at a time, in order.
    """

    def __init__(self, workers: int, deadline: float = 120.0) -> None:
        self.workers = 1 if workers > 0 else 0
        self.deadline = deadline
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._exchange = ThreadPoolExecutor(1, thread_name_prefix="parse-io") \
            if self.workers else None

    def submit(self, url: str, body: bytes,
               headers: Mapping[str, str]) -> Future[ReadDocument | _Failure]:
        if self._exchange is None:
            done: Future[ReadDocument | _Failure] = Future()
            done.set_result(_read_safely(url, body, dict(headers)))
            return done
        return self._exchange.submit(self._ask, url, body, dict(headers))

    def result(self, url: str, future: Future[ReadDocument | _Failure]) -> ReadDocument:
        """The document, or ``ParseError`` / :class:`ReaderBug` for this feed."""
        outcome = future.result()
        if isinstance(outcome, _Failure):
            if outcome.bug:
                raise ReaderBug(url, outcome.message, outcome.trace)
            raise ParseError(url, outcome.message)
        return outcome

    def close(self) -> None:
        if self._exchange is not None:
            self._exchange.shutdown(wait=True)
        with self._lock:
            self._stop_child()

    # runs on the exchange thread --------------------------------------------------------

    def _ask(self, url: str, body: bytes, headers: dict[str, str]) -> ReadDocument | _Failure:
        with self._lock:
            child = self._running_child()
            assert child.stdin is not None and child.stdout is not None
            timer = threading.Timer(self.deadline, child.kill)  # a hung parse is killed
            timer.start()
            try:
                _send(child.stdin, (url, body, headers))
                answer = _receive(child.stdout)
            except (OSError, EOFError, pickle.UnpicklingError, struct.error):
                answer = None
            finally:
                timer.cancel()
            if isinstance(answer, (ReadDocument, _Failure)):
                return answer
            code = child.poll()
            self._stop_child()
            why = f"took longer than {self.deadline:g} s" if code in (-9, None) else \
                f"exited with status {code}"
            return _Failure(f"the parser process {why} on this document; it was restarted",
                            bug=True)

    def _running_child(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            # Started by import, not ``-m``: answers must pickle as this module's classes,
            # not as ``__main__``'s.  The package is found where this process found it.
            package_root = str(Path(__file__).resolve().parent.parent)
            path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH"))
                                   if p)
            self._child = subprocess.Popen(
                [sys.executable, "-c", "from aggregator.parse_worker import main; main()"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
                env={**os.environ, "PYTHONPATH": path})
        return self._child

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            child.stdin.close()  # end of input: the child exits on its own
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _send(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError("the other side closed the pipe")
    (size,) = _LENGTH.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other side closed the pipe mid-message")
    return pickle.loads(data)  # noqa: S301 - our own child process, over a private pipe


# -- the child side -----------------------------------------------------------------------


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer ``(url, body, headers)`` requests until the input ends."""
    while True:
        try:
            url, body, headers = _receive(requests)
        except EOFError:
            return
        _send(answers, _read_safely(url, body, headers))


def main() -> None:
    # The protocol owns the real stdout; anything a library prints goes to stderr instead
    # of corrupting it.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, answers)
