"""Wall time and peak memory of a whole process and its descendants.

:func:`measured` runs a command under ``/usr/bin/time -f "%e %M"`` (else a wrapper that
reads ``getrusage`` of its child) while a :class:`TreeSampler` adds up, every 50 ms, the
resident and proportional set sizes of the process tree.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TIME = Path("/usr/bin/time")

RUSAGE_WRAPPER = """\
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[2:])
elapsed = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{elapsed:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.exit(code)
"""


@dataclass
class Run:
    wall: float
    rss_mb: float
    """Peak RSS: ``%M`` for one process; for several, :attr:`TreeSampler.bound_mb`."""
    items: int
    note: str = ""
    pss_mb: float = 0.0
    """Peak of the summed proportional set size (shared pages split between the processes
    that map them, as ``smem`` counts) of the process tree, sampled every 50 ms."""


class TreeSampler(threading.Thread):
    """Samples the summed RSS and PSS of a process and its descendants every 50 ms.

    ``%M`` (and ``ru_maxrss``) is the peak of the *largest single* process: a measured
    program that spreads its work over worker processes would look smaller than it is.
    This catches that case (the wrapper itself is not counted).  RSS counts a page shared
    by two processes (the interpreter, numpy's libraries) in both; PSS splits it, so the
    summed PSS is the tree's real footprint, and the summed RSS an upper bound of it."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak_mb, self.most_processes = root, 0.0, 0
        self.pss_peak_mb = 0.0
        self.bound_mb = 0.0
        """The highest sum, over the processes alive at one sample, of each one's own peak
        so far (``VmHWM``): not below the true peak of the sum, which can fall between two
        samples (unless a process lived less than 50 ms), yet without adding up peaks of
        processes that were not alive at the same time (one child after another) nor a
        process's later peak."""
        self.largest_mb: dict[int, float] = {}
        """Each process's own peak (``VmHWM``)."""
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.sample()

    def sample(self) -> None:
        tree = descendants(self.root)
        tree.discard(self.root)  # /usr/bin/time or the getrusage wrapper
        total = pss = bound = 0.0
        for pid in tree:
            with contextlib.suppress(OSError, ValueError, IndexError):
                status = Path(f"/proc/{pid}/status").read_text()
                rss = int(status.split("\nVmRSS:", 1)[1].split()[0]) / 1024
                hwm = int(status.split("\nVmHWM:", 1)[1].split()[0]) / 1024
                total += rss
                bound += hwm
                self.largest_mb[pid] = hwm
            with contextlib.suppress(OSError, ValueError, IndexError):
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                pss += int(rollup.split("\nPss:", 1)[1].split()[0]) / 1024
        self.peak_mb = max(self.peak_mb, total)
        self.bound_mb = max(self.bound_mb, bound)
        self.pss_peak_mb = max(self.pss_peak_mb, pss)
        self.most_processes = max(self.most_processes, len(tree))


def descendants(root: int) -> set[int]:
    """``root`` and the processes descending from it, as ``/proc`` lists them now."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(entry.path, "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = set(), {root}
    while frontier:
        tree |= frontier
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - tree
    return tree


def measured(
    cmd: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, float, str, str, float]:
    """Run ``cmd`` as a whole process: (wall seconds, peak RSS MB, stdout, note, peak PSS
    MB of the tree)."""
    stats = cwd / "time.txt"
    if TIME.exists():
        wrapped = [str(TIME), "-f", "%e %M", "-o", str(stats), *cmd]
    else:
        wrapped = [sys.executable, "-c", RUSAGE_WRAPPER, str(stats), *cmd]
    started = time.perf_counter()
    proc = subprocess.Popen(
        wrapped, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(
            f"failed ({proc.returncode}): {' '.join(cmd)}\n{stdout[-2000:]}\n{stderr[-4000:]}"
        )
    rss_mb = int(stats.read_text().split()[-1]) / 1024
    note = ""
    if sampler.most_processes > 1:
        rss_mb = max(rss_mb, sampler.peak_mb, sampler.bound_mb)
        note = (
            f"RSS of {len(sampler.largest_mb)} processes, at most "
            f"{sampler.most_processes} at once: the highest sum of the peaks so far of "
            f"those alive together (largest alone {max(sampler.largest_mb.values()):.0f} "
            f"MB, largest sum at one sample {sampler.peak_mb:.0f} MB)"
        )
    return wall, rss_mb, stdout, note, sampler.pss_peak_mb
