"""Pre-warmed sandboxed kernels: each worker's fork server.

Starting a kernel for a submission costs more than most of its cells: a new
Python, ipykernel, then numpy, matplotlib and the student library, again for
every submission. A worker therefore starts one *fork server*: a fresh Python
process (not a copy of the worker, which holds the gradebook and the answer
key) that imports what the notebooks import and then waits. For each kernel
it forks, and the copy enters the submission's own sandbox before it runs
anything of the student's:

* the copy (``C``) starts a new session, dies with the server, points its
  output at the kernel's log and unshares fresh namespaces (network, PID,
  mounts, IPC, host name): what ``unshare`` does for a kernel started the
  usual way (``sandbox.wrap``), in the same order;
* its child is PID 1 of the new PID namespace and runs ``jail.contain``, the
  very steps of a usual sandbox: cgroups of its own, the allowlisted root file
  system, rlimits, and a child (``K``) that drops to the sandbox's uid;
* ``K`` then starts ipykernel in-process, on the connection file the grader
  wrote, with the modules already imported.

So nothing one submission does reaches the next: each kernel is a fresh copy
of a server that never runs student code, in fresh namespaces, a fresh work
dir and fresh cgroups. The global random states are re-seeded in each copy
(a copy would otherwise draw the same numbers as every other one).

The server must be single-threaded when it forks (a thread's locks would be
copied held); it checks that after its imports and refuses to serve if not.
The grader talks to it over a socket pair (``ForkServer``) and follows each
kernel with a pidfd; ``ForkProvisioner`` makes that a Jupyter kernel
provisioner, so nbclient sees an ordinary kernel.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

__all__ = ["ForkServer", "ForkServerUnavailable", "WARM_MODULES", "ForkProvisioner"]

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x04000000, 0x08000000, 0x20000000, 0x40000000)
NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET  # as sandbox.NAMESPACES
PR_SET_PDEATHSIG = 1
MAX_MESSAGE = 1 << 20
# What every notebook of a course like this one imports; a course's own imports are added (warm_modules).
WARM_MODULES = ("numpy", "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
                "ipykernel.kernelapp", "course_lib", "course_lib.checks", "course_lib.plots",
                "course_lib.data", "course_lib.graph", "course_lib.mistakes")
_ANSWER_KEY = "course_lib.key"


class ForkServerUnavailable(RuntimeError):
    """The fork server could not start (the worker then starts kernels the usual way)."""


def warm_modules(locked_sources=()):
    """WARM_MODULES and the top-level modules the instructor's locked cells import."""
    import ast

    names = list(WARM_MODULES)
    for source in locked_sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return [n for n in dict.fromkeys(names) if not n.startswith(_ANSWER_KEY)]


# ------------------------------------------------------------------ the grader's side


class ForkServer:
    """A worker's handle on its fork server: ``spawn`` a sandboxed kernel, ``close`` the server."""

    def __init__(self, env, modules, cwd, log, timeout=120):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # -P: nothing is imported from the current directory; the server runs as root.
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", __name__, str(theirs.fileno()), json.dumps(list(modules))],
            env=env, cwd=cwd, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)
        theirs.close()
        self.sock, self.env = ours, dict(env)
        reply = self._reply(timeout)
        if not reply.get("ready"):
            self.close()
            raise ForkServerUnavailable(reply.get("error") or "the fork server did not start")
        self.warmed = reply.get("warmed", [])

    def spawn(self, spec, connection_file, env, log_fd):
        """Fork a kernel into a new sandbox (``spec``: sandbox.spec_of); returns its host pid."""
        request = json.dumps({"spec": spec, "connection_file": connection_file, "env": env}).encode()
        socket.send_fds(self.sock, [request], [log_fd])
        reply = self._reply(30)
        if "pid" not in reply:
            raise ForkServerUnavailable(reply.get("error") or "the fork server did not answer")
        return int(reply["pid"])

    def _reply(self, timeout):
        """The server's next message ({} if none within ``timeout`` seconds, or if it has gone)."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        return json.loads(self.sock.recv(MAX_MESSAGE) or b"{}") if ready else {}

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()  # its kernels die with it (parent-death signals)
        self.proc.wait()


class Forked:
    """A kernel the fork server started, followed with a pidfd (it is not our child: no exit code)."""

    stdin = stdout = stderr = None

    def __init__(self, pid):
        self.pid, self.returncode = pid, None
        try:
            self._fd = os.pidfd_open(pid)
        except ProcessLookupError:  # gone already
            self._fd, self.returncode = None, -1

    def poll(self):
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self.returncode = -1  # ended; how is the fork server's to know (it reaps it)
            os.close(self._fd)
            self._fd = None
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            select.select([self._fd], [], [], left)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            signal.pidfd_send_signal(self._fd, signum)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


@functools.lru_cache(maxsize=None)  # one class: the provisioner of every kernel the worker starts
def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        """A Jupyter kernel provisioner whose kernels come from a fork server (see the module docstring)."""

        server = None  # ForkServer
        spec = None  # the sandbox's spec (sandbox.spec_of)

        async def launch_kernel(self, cmd, **kwargs):
            log = kwargs.get("stderr") or kwargs.get("stdout")
            log_fd = log.fileno() if log is not None else os.open(os.devnull, os.O_WRONLY)
            pid = self.server.spawn(self.spec, self.parent.connection_file, dict(kwargs.get("env") or {}), log_fd)
            self.process = Forked(pid)
            self.pid = self.pgid = pid  # the kernel's first process leads its own session
            self.cwd = kwargs.get("cwd")
            return self.connection_info

    return ForkProvisioner


def __getattr__(name):
    if name == "ForkProvisioner":
        return _provisioner_class()
    raise AttributeError(name)


# ------------------------------------------------------------------ the server's side

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent(lifeline=None):
    """Be killed when the parent dies; exit now if it has already died.

    ``lifeline``: the read end of a pipe whose only write end the parent
    holds (EOF: the parent is gone). PID 1 of a new namespace needs it: its
    ``getppid()`` is 0 whatever became of its parent, and a parent killed
    before the ``prctl`` would leave it, and its kernel, running for good.
    """
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if lifeline is None:
        gone = os.getppid() == 1  # reparented to init
    else:
        gone = bool(select.select([lifeline], [], [], 0)[0])
        os.close(lifeline)
    if gone:  # it died before the prctl: follow it
        os._exit(1)


def _warm_up(modules):
    import importlib

    warmed, failed = [], []
    for name in modules:
        try:
            importlib.import_module(name)
            warmed.append(name)
        except Exception as err:  # a course's import that fails here fails in the student's kernel too
            failed.append(f"{name}: {type(err).__name__}")
    return warmed, failed


def serve(fd, modules):
    """The fork server's loop (its own process, as root): warm up, then fork a kernel per request."""
    _die_with_parent()
    sock = socket.socket(fileno=fd)
    warmed, failed = _warm_up(modules)
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1 or any(m == _ANSWER_KEY or m.startswith(_ANSWER_KEY + ".") for m in sys.modules):
        why = f"{threads} threads after the imports" if threads != 1 else "the answer key was imported"
        sock.send(json.dumps({"error": f"cannot fork kernels safely: {why}"}).encode())
        return
    sock.send(json.dumps({"ready": True, "warmed": warmed, "failed": failed}).encode())
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the system reaps the sandboxes' first processes
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 4)
        except OSError:
            return
        if not data:
            return  # the worker has gone
        request = json.loads(data)
        pid = os.fork()
        if pid == 0:
            sock.close()
            _sandboxed_kernel(request, fds[0] if fds else None)
        for descriptor in fds:
            os.close(descriptor)
        sock.send(json.dumps({"pid": pid}).encode())


def _sandboxed_kernel(request, log_fd):
    """``C``: a session of its own, fresh namespaces, and PID 1 of them (``jail.contain``). Never returns."""
    from . import jail

    try:
        os.setsid()
        _die_with_parent()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for sig in (signal.SIGINT, signal.SIGTERM):  # as unshare does: an interrupt is for the kernel
            signal.signal(sig, signal.SIG_IGN)
        if log_fd is not None:
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            os.close(log_fd)
        os.environ.clear()
        os.environ.update(request["env"])
        if _libc.unshare(NAMESPACES) != 0:
            raise OSError(ctypes.get_errno(), f"unshare failed: {os.strerror(ctypes.get_errno())}")
        lifeline, held = os.pipe()
        first = os.fork()
        if first == 0:
            os.close(held)
            _die_with_parent(lifeline)
            jail.contain(request["spec"], lambda oom_score_adj: _kernel(request, oom_score_adj))
        os.close(lifeline)
        _, status = os.waitpid(first, 0)
        code = os.waitstatus_to_exitcode(status)
        os._exit(128 - code if code < 0 else code)
    except BaseException as err:
        os.write(2, f"sandbox: {err}\n".encode(errors="replace"))
        os._exit(125)


def _kernel(request, oom_score_adj):
    """``K``: the unprivileged kernel, in the sandbox, on the modules the server imported. Never returns."""
    from . import jail

    env = jail.become_child(request["spec"], oom_score_adj)
    os.environ.clear()
    os.environ.update(env)
    _reseed()
    try:
        from ipykernel.kernelapp import IPKernelApp

        sys.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", request["connection_file"]]
        IPKernelApp.launch_instance(argv=sys.argv[3:])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException as err:
        os.write(2, f"kernel: {type(err).__name__}: {err}\n".encode(errors="replace"))
        code = 1
    os._exit(code)


def _reseed():
    """Each kernel its own random states (a copy of the server would repeat its draws)."""
    import random

    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


if __name__ == "__main__":
    serve(int(sys.argv[1]), json.loads(sys.argv[2]))
