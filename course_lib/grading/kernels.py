"""Sandboxed kernels for one worker: one grades a submission while the next one boots.

A kernel takes about 0.4 s to start (Python, IPython, ZMQ), and its first cell
as long again to import numpy and matplotlib: most of a small notebook's
grading time. Each worker therefore keeps two *places* (a work dir, a runtime
dir for the IPC sockets, a kernel spec whose sandbox shows exactly those) and,
while a submission runs in one, starts the next kernel in the other. Kernels
come from the worker's fork server (``forkserver``: a copy of a process that
has imported all that, entering a new sandbox), or, without one (``--unsafe``,
or if it cannot start), are started the usual way. A kernel serves one
submission only and starts in a freshly made work dir, so nothing carries
over from one student to the next.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import sandbox

__all__ = ["ONE_THREAD_ENV", "Kernel", "KernelSupply"]

# One BLAS/OpenMP thread per kernel. A kernel is given one core's worth of
# work; OpenBLAS's default (a thread per core) makes kernels that run side by
# side spin against each other, so a cell's time would depend on its
# neighbours rather than on its code. The test suite's nbgrader runs use it too.
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Kernels from a fork server (see forkserver); COURSE_GRADE_PREWARMED=0 starts each one the usual way
# (the benchmark compares the two).
PREWARMED = os.environ.get("COURSE_GRADE_PREWARMED", "1") != "0"


@dataclass
class Kernel:
    km: object  # jupyter_client AsyncKernelManager, kernel started
    place: dict  # {"work": Path, "runtime": Path, ...}
    log: object  # the file the kernel's own stdout/stderr go to
    seed: int
    started: float  # time.monotonic() at launch

    def stop(self):
        """Kill the kernel and everything it started (the sandbox's namespace goes with it)."""
        from jupyter_core.utils import run_sync

        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # already dead
            pass
        try:
            run_sync(self.km.cleanup_resources)()
        except Exception:
            pass
        self.log.close()
        sandbox.cleanup_cgroups()  # a killed sandbox cannot remove its own (empty) cgroups


class KernelSupply:
    """Two places and at most one spare kernel, for one worker (one uid, one gradebook copy)."""

    def __init__(self, root, bundle, unsafe, limits):
        self.root, self.bundle, self.unsafe, self.limits = Path(root), bundle, unsafe, limits
        self.places = [self._make_place(i) for i in (0, 1)]
        self.spare, self._next = None, 0
        self.server, self.server_note = None, ""  # the fork server, for kernels of its seed

    def take(self, job):
        """A started kernel for ``job`` (the spare if it suits), and the next spare set booting."""
        kernel, self.spare = self.spare, None
        if kernel is None or kernel.seed != job.seed:
            if kernel is not None:
                kernel.stop()
            kernel = self.launch(job)
        self.spare = self.launch(job)
        return kernel

    def launch(self, job):
        from jupyter_core.utils import run_sync

        place = self.places[self._next]
        self._next = 1 - self._next
        self._fresh(place)
        log = open(self.root / "kernel.log", "ab")  # start-up notes, a jail error: not the grader's terminal
        km = self._manager(place, self._fork_server(job, log))
        run_sync(km.start_kernel)(env=self._env(place, job), cwd=str(place["work"]), stdout=log, stderr=log)
        return Kernel(km, place, log, job.seed, time.monotonic())

    def close(self):
        if self.spare is not None:
            self.spare.stop()
            self.spare = None
        if self.server is not None:
            self.server.close()
            self.server = None

    def _fork_server(self, job, log):
        """The worker's fork server for ``job``'s seed (started on first use), or None: kernels the usual way."""
        from .forkserver import ForkServer, ForkServerUnavailable, warm_modules

        if self.unsafe or not PREWARMED or self.server_note:
            return None
        if self.server is not None and (self.server.env["PYTHONHASHSEED"] != str(job.seed) or not self.server.alive()):
            self.server.close()  # the hash seed is fixed when Python starts: another seed, another server
            self.server = None
        if self.server is None:
            env = {**self._env({"work": self.root, "runtime": self.root}, job),
                   "MPLCONFIGDIR": str(matplotlib_cache_dir()), "MALLOC_ARENA_MAX": "2"}
            try:
                self.server = ForkServer(env, warm_modules(self.bundle.locked_sources), cwd=str(self.root), log=log)
            except (ForkServerUnavailable, OSError) as err:
                self.server_note = str(err)  # noted once; this worker's kernels start the usual way
                log.write(f"course grade: no fork server ({err}); kernels start the usual way\n".encode())
                return None
        return self.server

    # -------------------------------------------------------------- places

    def _make_place(self, i):
        place = {"work": self.root / f"work{i}", "runtime": self.root / f"runtime{i}",
                 "kernels": self.root / f"kernels{i}", "name": f"course-sandbox-{i}"}
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        if self.unsafe:
            argv = sandbox.unsafe_wrap(argv)
        else:
            layout = sandbox.default_layout(str(place["work"]), str(place["runtime"]),
                                            extra_hide=tuple(self.bundle.hide) + (str(self.root.parent),))
            argv = sandbox.wrap(argv, self.limits, layout)
            place["spec"] = sandbox.spec_of(self.limits, layout)  # the same sandbox, for the fork server
        spec = place["kernels"] / place["name"]
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps(
            {"argv": argv, "display_name": "course grade sandbox", "language": "python", "interrupt_mode": "signal"}))
        return place

    def _fresh(self, place):
        """New work and runtime dirs: nothing a previous submission did there (files, modes) carries over."""
        uid, gid = self.limits.uid, self.limits.gid
        for d in ("work", "runtime"):
            shutil.rmtree(place[d], ignore_errors=True)
            place[d].mkdir(mode=0o700)
            os.chown(place[d], uid, gid)
        work = place["work"]
        for rel, data in self.bundle.release_files.items():
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        target = work / ".matplotlib"  # matplotlib's font cache: building it costs seconds and writes to stderr
        target.mkdir()
        for f in matplotlib_cache_dir().glob("fontlist*.json"):
            shutil.copy(f, target / f.name)
        for path in [work, *work.rglob("*")]:
            os.lchown(path, uid, gid)

    def _manager(self, place, server=None):
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import AsyncKernelManager

        from .forkserver import ForkProvisioner

        uid, gid = self.limits.uid, self.limits.gid

        class SandboxKernelManager(AsyncKernelManager):
            def write_connection_file(self, **kwargs):
                super().write_connection_file(**kwargs)
                os.chown(self.connection_file, uid, gid)  # the kernel runs as uid and must read it

            async def _async_pre_start_kernel(self, **kw):
                if server is not None and self.provisioner is None:
                    self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
                    self.provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                       parent=self)
                    self.provisioner.server, self.provisioner.spec = server, place["spec"]
                return await super()._async_pre_start_kernel(**kw)

        runtime = place["runtime"]
        return SandboxKernelManager(
            kernel_name=place["name"], kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(place["kernels"])]),
            transport="ipc", ip=str(runtime / "k"), connection_file=str(runtime / "kernel.json"),
            client_class=f"{__name__}.QuickReadyClient")

    @staticmethod
    def _env(place, job):
        """A clean environment: nothing of the grader's (tokens, paths) leaks into the student's kernel."""
        work = str(place["work"])
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "LANG": "C.UTF-8",
            "PYTHONHASHSEED": str(job.seed), "PYTHONDONTWRITEBYTECODE": "1",
            **ONE_THREAD_ENV,
            "MPLBACKEND": "module://matplotlib_inline.backend_inline", "MPLCONFIGDIR": f"{work}/.matplotlib",
            "IPYTHONDIR": f"{work}/.ipython", "JUPYTER_RUNTIME_DIR": str(place["runtime"]),
        }


@functools.lru_cache(maxsize=None)  # one class, however often jupyter_client imports it by name
def _quick_ready_client():
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class QuickReadyClient(AsyncKernelClient):
        """jupyter_client's readiness check, without its 0.2 s of waiting for silence on IOPub at the end.

        Ready means: a kernel_info reply on shell and a message on IOPub (the
        subscription is live). Whatever else is queued is drained, not waited
        for; nbclient ignores stray status messages anyway.
        """

        async def wait_for_ready(self, timeout=None):
            deadline = time.monotonic() + (timeout or 60)
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                    if reply["msg_type"] == "kernel_info_reply":
                        await self.iopub_channel.get_msg(timeout=0.2)
                        self._handle_kernel_info_reply(reply)
                        break
                except Empty:
                    pass
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=0.005)
                except Empty:
                    return

    return QuickReadyClient


def __getattr__(name):  # jupyter_client imports the client class by its dotted name
    if name == "QuickReadyClient":
        return _quick_ready_client()
    raise AttributeError(name)


_MPL_CACHE = {}


def matplotlib_cache_dir():
    """Where this process's matplotlib keeps its font cache (built once if missing)."""
    if "dir" not in _MPL_CACHE:
        import matplotlib
        import matplotlib.font_manager  # noqa: F401  (builds the cache if missing)

        _MPL_CACHE["dir"] = Path(matplotlib.get_cachedir())
    return _MPL_CACHE["dir"]
