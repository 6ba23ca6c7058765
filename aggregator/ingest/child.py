"""CPU work in a child process, so the writer thread has its core to itself.

Two jobs need nothing from the writer's state and are pure CPU work: *reading* a feed
document (parse, HTML → text, canonical links, identities) and *fingerprinting* stored
texts for a decision (fold, drop boilerplate
given the learned block keys, shingles, MinHash).  On a machine with a second core they
run in one long-lived child process while the writer stores one feed, or decides one
chunk, after another.

The child is a plain ``python -c "…worker import main; main()"`` speaking
length-prefixed pickles over its stdin/stdout: it imports only what the jobs it is given
need (feedparser for reading, numpy for fingerprinting), where a ``multiprocessing``
worker would import the whole command line program again.  A poll uses one child to
read its documents and, once they are stored, another to fingerprint: neither holds the
other's libraries while the writer's memory is at its largest.
The parent trusts nothing about it: a child that dies (a parser crash on a hostile
document) or takes longer than the deadline is killed and replaced, and that one job
fails (a feed gets the error; a fingerprint chunk is computed in the writer instead).
With ``polling.worker_processes: 0`` both jobs run in the writer thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from aggregator.errors import FeedError, ParseError
from aggregator.ingest.memory import release_free_memory
from aggregator.types import CleanItem

if TYPE_CHECKING:
    from aggregator.fingerprint.signature import Fingerprint

log = logging.getLogger("aggregator.ingest.child")
_LENGTH = struct.Struct("<Q")


@dataclass(frozen=True)
class CleanDocument:
    """A feed document as the writer needs it: the feed's own fields and its clean items."""

    title: str | None
    warning: str | None
    ttl_minutes: int | None
    items: tuple[CleanItem, ...]


@dataclass(frozen=True)
class _Failure:
    message: str
    bug: bool
    """True when the parser itself failed (an exception that is not a ParseError)."""
    trace: str = ""
    """The traceback of a bug, for the log."""


def read_document(url: str, body: bytes, headers: Mapping[str, str]) -> CleanDocument:
    """Parse and clean one document; ``ParseError`` when it is not a usable feed."""
    from aggregator.clean.text import clean_entry  # imported by the jobs that need them (above)
    from aggregator.parse.document import parse_feed

    parsed = parse_feed(url, body, headers)
    return CleanDocument(
        title=parsed.title,
        warning=parsed.warning,
        ttl_minutes=parsed.ttl_minutes,
        items=unique_items([clean_entry(e) for e in parsed.entries]),
    )


def unique_items(items: list[CleanItem]) -> tuple[CleanItem, ...]:
    """One item per entry id (feeds repeat entries); the last occurrence wins."""
    by_id: dict[str, CleanItem] = {}
    for item in items:
        by_id.pop(item.entry_id, None)
        by_id[item.entry_id] = item
    return tuple(by_id.values())


def _read_safely(url: str, body: bytes, headers: Mapping[str, str]) -> CleanDocument | _Failure:
    try:
        return read_document(url, body, headers)
    except ParseError as exc:
        return _Failure(exc.message, bug=False)
    except Exception as exc:  # a parser bug on hostile input: that feed's error, not ours
        return _Failure(
            f"unexpected {exc.__class__.__name__}: {exc}", bug=True, trace=traceback.format_exc()
        )


def fingerprint_texts(
    texts: Sequence[str],
    learned: frozenset[str],
    titles: Sequence[str | None] | None = None,
) -> list[Fingerprint]:
    """Fingerprints of stored item texts, boilerplate (generic, and the ``learned`` block
    keys) removed, with their ``titles`` (one per text; none: untitled): what the
    writer's decision needs, item by item."""
    from aggregator.clean.boilerplate import filter_blocks, fold_text
    from aggregator.fingerprint.signature import fingerprint_blocks

    named = titles if titles is not None else [None] * len(texts)
    return [
        fingerprint_blocks(filter_blocks(fold_text(text), learned).kept, title)
        for text, title in zip(texts, named, strict=True)
    ]


def _fingerprint_safely(
    texts: Sequence[str], learned: frozenset[str], titles: Sequence[str | None] | None = None
) -> list[Fingerprint] | _Failure:
    try:
        return fingerprint_texts(texts, learned, titles)
    except Exception as exc:
        return _Failure(
            f"unexpected {exc.__class__.__name__}: {exc}", bug=True, trace=traceback.format_exc()
        )


_JOBS: dict[str, Callable[..., Any]] = {"read": _read_safely, "fingerprint": _fingerprint_safely}


class ParserBug(FeedError):
    """Parsing the document failed in an unexpected way (reported on the feed, logged)."""

    def __init__(self, url: str, message: str, trace: str) -> None:
        super().__init__(url, message)
        self.trace = trace


# -- the parent side ----------------------------------------------------------------------


class WorkerProcess:
    """Runs the jobs in a child process (``workers=1``) or in the calling thread (0).

    Each job returns a future, so the writer can hand over the next document (or chunk)
    before it stores the current one.  Jobs are served one at a time, in order.
    """

    def __init__(self, workers: int, deadline: float = 120.0) -> None:
        self.workers = 1 if workers > 0 else 0
        self.deadline = deadline
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._exchange = (
            ThreadPoolExecutor(1, thread_name_prefix="worker-io") if self.workers else None
        )

    def read(self, url: str, body: bytes, headers: Mapping[str, str]) -> Future[Any]:
        """Parse and clean a feed document; the answer comes from :meth:`document`."""
        return self._submit("read", url, body, dict(headers))

    def document(self, url: str, future: Future[Any]) -> CleanDocument:
        """The document, or ``ParseError`` / :class:`ParserBug` for this feed."""
        try:
            outcome = future.result()
        except Exception as exc:  # the exchange itself failed (no process could start…)
            outcome = _Failure(f"worker: {exc.__class__.__name__}: {exc}", bug=True)
        if not isinstance(outcome, (CleanDocument, _Failure)):
            outcome = _Failure("the worker process gave a wrong answer", bug=True)
        if isinstance(outcome, _Failure):
            if outcome.bug:
                raise ParserBug(url, outcome.message, outcome.trace)
            raise ParseError(url, outcome.message)
        assert isinstance(outcome, CleanDocument)
        return outcome

    def fingerprint(
        self,
        texts: Sequence[str],
        learned: frozenset[str],
        titles: Sequence[str | None] | None = None,
    ) -> Future[Any]:
        """Fingerprint texts (with their titles); the answer comes from :meth:`fingerprints`."""
        return self._submit(
            "fingerprint", list(texts), learned, None if titles is None else list(titles)
        )

    def fingerprints(
        self,
        count: int,
        learned: frozenset[str],
        future: Future[Any],
        texts: Callable[[], Sequence[str]],
        titles: Sequence[str | None] | None = None,
    ) -> list[Fingerprint]:
        """The ``count`` fingerprints of a :meth:`fingerprint` job; when the child failed
        they are computed here, from ``texts()`` (the caller need not keep the texts it
        sent: it can read them again in that rare case), so a chunk is never lost."""
        try:
            outcome = future.result()
        except Exception as exc:  # the exchange itself failed (no process could start…)
            outcome = _Failure(f"{exc.__class__.__name__}: {exc}", bug=True)
        if isinstance(outcome, list) and len(outcome) == count:
            return outcome
        message = outcome.message if isinstance(outcome, _Failure) else "a wrong answer"
        log.warning("event=worker-failed job=fingerprint error=%s", message)
        return fingerprint_texts(texts(), learned, titles)

    def close(self) -> None:
        if self._exchange is not None:
            self._exchange.shutdown(wait=True)
        with self._lock:
            self._stop_child()

    def _submit(self, job: str, *args: Any) -> Future[Any]:
        if self._exchange is None:
            done: Future[Any] = Future()
            done.set_result(_JOBS[job](*args))
            return done
        return self._exchange.submit(self._ask, job, args)

    # runs on the exchange thread --------------------------------------------------------

    def _ask(self, job: str, args: tuple[Any, ...]) -> Any:
        with self._lock:
            child = self._running_child()
            assert child.stdin is not None and child.stdout is not None
            timer = threading.Timer(self.deadline, child.kill)  # a hung job is killed
            timer.start()
            try:
                _send(child.stdin, (job, args))
                answer = _receive(child.stdout)
            except Exception:  # broken pipe, a cut or undecodable answer, no memory…
                answer = None  # the pipe may be out of step: this child is done
            finally:
                timer.cancel()
            if answer is not None:
                return answer
            code = child.poll()
            self._stop_child()
            why = (
                f"took longer than {self.deadline:g} s"
                if code in (-9, None)
                else f"exited with status {code}"
            )
            return _Failure(f"the worker process {why} on this job; it was restarted", bug=True)

    def _running_child(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            # Started by import, not ``-m``: answers must pickle as this module's classes,
            # not as ``__main__``'s.  Isolated (-I: no current directory, no PYTHONPATH,
            # no user site) and given this process's own import path instead, so a file
            # in the working directory can never stand in for a module.
            path = [p for p in sys.path if p] + [str(Path(__file__).resolve().parent.parent)]
            code = (
                f"import sys; sys.path[:] = {path!r}; "
                "from aggregator.ingest.child import main; main()"
            )
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            log.debug("event=worker-started pid=%d", self._child.pid)
        return self._child

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            # End of input: the child exits on its own.  One killed mid-job makes the
            # close fail, flushing what it never read.
            with contextlib.suppress(OSError):
                child.stdin.close()
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
    """Answer ``(job, args)`` requests until the input ends."""
    while True:
        try:
            job, args = _receive(requests)
        except EOFError:
            return
        answer = _JOBS[job](*args)
        del args
        _send(answers, answer)
        del answer
        release_free_memory()


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (``kill -9`` of the daemon):
    a job stuck on a hostile document must not run on as an orphan."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # our own symbols: libc's prctl among them
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError, TypeError):
        pass  # not Linux: the closed pipe still ends it after its current job
    if os.getppid() == 1:  # the parent died before we could ask
        os._exit(0)


def main() -> None:
    _die_with_parent()
    # Ctrl-C and systemd's SIGTERM reach the whole process group: the parent decides
    # when this child stops (it closes the pipe), so a job is never cut in the middle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The protocol owns the real stdout; anything a library prints goes to stderr instead
    # of corrupting it.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, answers)
