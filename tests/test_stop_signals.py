"""A stop signal is noticed even when the kernel hands it to a thread other than the main
one: the main thread of a process that blocks SIGTERM for itself (so the kernel must pick
another thread) still runs its handler and stops, as ``aggregator run`` and the roles'
main threads must."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import signal, sys, threading, time
    from aggregator.daemon.stopping import on_stop_signals, wait_until_set

    stopped = threading.Event()
    on_stop_signals(lambda signum, frame: stopped.set())
    # A busy thread started before the main thread blocks the signal: it keeps it open,
    # so the kernel delivers SIGTERM there.
    threading.Thread(target=lambda: time.sleep(60), daemon=True).start()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    print("waiting", flush=True)
    {wait}
    print("stopped", flush=True)
    """
)


def _stop(wait: str) -> tuple[bool, str]:
    """Run the script with ``wait`` as the main thread's wait; SIGTERM it; did it stop?"""
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.replace("{wait}", wait)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "waiting"
    process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=3)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return False, ""
    return process.returncode == 0, out


def test_the_main_thread_stops_when_another_thread_receives_the_signal() -> None:
    stopped, out = _stop("wait_until_set(stopped)")
    assert stopped and out.strip() == "stopped"
