"""Was a timed-out cell slowed by its code or by the machine? The kernel's wait for a CPU says.

Linux counts, for every thread, the time it ran and the time it was ready to run
but waited for a CPU (``/proc/<pid>/task/<tid>/schedstat``: run and run-queue
wait, in ns). A cell that loops forever runs nearly all of its wall-clock time;
on a machine busy with other work the same cell spends much of it waiting. Summed
over the kernel and everything it started, the wait during a cell tells whether a
time limit cut off code that would have finished on a quieter machine. Sleeping
or waiting for input is neither running nor waiting for a CPU, so it never reads
as load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["CpuSample", "Slowdown", "sample", "slowdown"]

# A cell counts as slowed by the machine when it waited for a CPU for at least this share of
# its wall-clock time (and at least MIN_WAIT_S): an idle machine keeps it under a few percent.
WAIT_SHARE = 0.25
MIN_WAIT_S = 1.0


@dataclass(frozen=True)
class CpuSample:
    run_ns: int   # time the kernel's threads ran
    wait_ns: int  # time they were ready to run but waited for a CPU


@dataclass(frozen=True)
class Slowdown:
    wall_s: float
    run_s: float
    wait_s: float

    @property
    def by_the_machine(self):
        return self.wait_s >= max(MIN_WAIT_S, WAIT_SHARE * self.wall_s)

    def sentence(self, what):
        return (f"the machine was busy: while {what} ran ({self.wall_s:.0f} s), its kernel waited "
                f"{self.wait_s:.1f} s for a CPU and ran {self.run_s:.1f} s; on a quieter machine it may have "
                "finished in time (grade it again with fewer --workers or when the machine is idle)")


def _tree(root):
    """root and every process below it (the sandbox's unshare, jail, kernel and what the kernel started)."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:  # gone meanwhile
            continue
    return pids


def sample(root_pid):
    """The run and run-queue wait of every thread below ``root_pid`` so far, or None if unreadable."""
    if root_pid is None:
        return None
    run = wait = 0
    for pid in _tree(root_pid):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    r, w, _ = f.read().split()
            except (OSError, ValueError):
                continue
            run, wait = run + int(r), wait + int(w)
    return CpuSample(run, wait)


def slowdown(before, after, wall_s):
    """What happened between two samples over ``wall_s`` seconds, or None without both samples."""
    if before is None or after is None:
        return None
    return Slowdown(wall_s=wall_s, run_s=max(0, after.run_ns - before.run_ns) / 1e9,
                    wait_s=max(0, after.wait_ns - before.wait_ns) / 1e9)
