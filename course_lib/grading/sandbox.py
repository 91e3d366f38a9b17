"""Run a student's kernel isolated: namespaces, an unprivileged user, resource limits, hidden dirs.

Student code is untrusted. ``course grade`` writes a kernel spec whose argv is
``wrap(kernel_argv, limits, layout)``, so each submission's kernel runs

* without network (a fresh network namespace holds only a loopback that is down; the kernel
  talks to the grader over ``ipc`` sockets, which are files and so cross network namespaces),
* in its own PID namespace (it sees only its own processes, and all of them die together when
  the grader kills the ``unshare`` process at the top),
* with private mounts that hide home directories, temp directories, the course, the other
  submissions and the grades (``default_layout``),
* as uid 65534 without capabilities, under limits on memory, CPU time, processes and file size.

``unshare`` (util-linux) creates the namespaces; ``jail`` (root, PID 1 inside them) does the
rest. All this needs root; ``probe`` says so, in words, before a grading run starts.
"""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass

# World-readable or world-writable places that may hold other people's files.
HIDDEN_DIRS = ("/root", "/home", "/tmp", "/var/tmp", "/srv", "/mnt", "/opt", "/media", "/run/lock")
NAMESPACES = ("--net", "--pid", "--mount", "--ipc", "--uts")


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits, and the user the code runs as.

    ``nproc`` counts processes *and threads* of the real uid across the whole machine, so
    sandboxes running side by side under the same uid share it.
    """
    memory_mb: int = 2048  # RLIMIT_AS: address space, not resident memory (Python + numpy + matplotlib fit)
    cpu_s: int = 120       # RLIMIT_CPU: the kernel's CPU time over the whole notebook
    nproc: int = 256       # RLIMIT_NPROC
    fsize_mb: int = 64     # RLIMIT_FSIZE: largest file the code may write (also the size of /dev/shm)
    uid: int = 65534       # "nobody"; needs no passwd entry
    gid: int = 65534


@dataclass(frozen=True)
class Layout:
    """What the sandboxed code sees of the file system (all absolute paths)."""
    hide: tuple[str, ...]     # directories replaced by an empty, read-only tmpfs
    keep_ro: tuple[str, ...]  # paths inside hidden dirs bound back read-only (the interpreter, packages)
    keep_rw: tuple[str, ...]  # paths bound back writable (the kernel's work dir, its connection dir)
    workdir: str              # the cwd, and HOME, of the sandboxed process


class SandboxUnavailable(RuntimeError):
    """Isolation does not work on this machine; the message says why and what to do."""


def wrap(argv, limits: Limits, layout: Layout) -> list[str]:
    """The command that runs ``argv`` inside the sandbox.

    The spec travels inline as one JSON argument (no file to write, clean up or protect).
    ``argv`` is passed on untouched, so Jupyter still substitutes ``{connection_file}`` in it.
    The jail runs with ``python -I``: as root it must not import modules from the current
    directory (possibly a submission's) or from ``PYTHONPATH``.
    """
    spec = {**asdict(layout), **asdict(limits)}
    # setpriv --pdeathsig: if the grader's process dies (kill -9, a crash), unshare gets SIGKILL,
    # and --kill-child then takes the whole namespace down: no kernel outlives its grader.
    return [_which("setpriv"), "--pdeathsig", "KILL", "--",
            _which("unshare"), *NAMESPACES, "--fork", "--kill-child", "--mount-proc",
            sys.executable, "-I", "-m", "course_lib.grading.jail", json.dumps(spec), "--", *argv]


def unsafe_wrap(argv) -> list[str]:
    """``course grade --unsafe``: no isolation at all, for trusted code or machines without root."""
    return list(argv)


def default_layout(workdir, runtime_dir, extra_hide=()) -> Layout:
    """Hide the usual private places plus ``extra_hide``; keep what the kernel needs to run.

    The grader passes in ``extra_hide`` the course directory (solutions, hidden tests), the
    submissions, the output directory and its scratch root. Kept read-only: the interpreter
    (``sys.base_prefix``; e.g. pyenv's under /root, which uid 65534 could not even traverse), the
    environment (``sys.prefix``), and the *installed packages* of any ``sys.path`` entry or
    editable install lying in a hidden directory, never the whole project around them.
    """
    hide = _unique(os.path.realpath(p) for p in (*HIDDEN_DIRS, *map(str, extra_hide)))
    wanted = _unique(p for p in map(os.path.realpath, [sys.base_prefix, sys.prefix, *_import_dirs()])
                     if os.path.exists(p) and any(_inside(p, h) for h in hide))
    keep_ro = tuple(p for p in wanted if not any(_inside(p, q) for q in wanted if q != p))
    keep_rw = _unique(os.path.realpath(str(p)) for p in (workdir, runtime_dir))
    return Layout(hide=hide, keep_ro=keep_ro, keep_rw=keep_rw, workdir=os.path.realpath(str(workdir)))


def probe() -> str:
    """Check that isolation works here by running a trial command; describe it, or raise
    ``SandboxUnavailable`` with what is missing and how to fix it."""
    fallback = "or pass --unsafe to grade WITHOUT isolation (only for submissions you trust)"
    if os.geteuid() != 0:
        raise SandboxUnavailable(f"the sandbox needs root (namespaces, mounts, switching to an "
                                 f"unprivileged user): run `course grade` as root, {fallback}")
    if shutil.which("unshare") is None:
        raise SandboxUnavailable(f"`unshare` not found: install util-linux "
                                 f"(apt-get install util-linux), {fallback}")
    limits = Limits()
    trial = "import json, os, socket; print(json.dumps([os.getuid(), os.getpid(), socket.if_nameindex()]))"
    with tempfile.TemporaryDirectory(prefix="course-probe-") as work:
        os.chown(work, limits.uid, limits.gid)
        # Hiding its parent makes `work` reachable whatever the permissions above it.
        layout = default_layout(work, work, extra_hide=(os.path.dirname(work),))
        cmd = wrap([sys.executable, "-c", trial], limits, layout)
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise SandboxUnavailable(f"a trial sandboxed command hung, {fallback}") from None
    try:
        uid, pid, interfaces = json.loads(run.stdout)
        isolated = uid == limits.uid and pid < 10 and [n for _, n in interfaces] == ["lo"]
    except ValueError:
        isolated = False
    if not isolated:
        detail = (run.stderr.strip().splitlines() or [f"exit {run.returncode}, output {run.stdout!r}"])[-1]
        hint = ("the container forbids namespaces: run it with --privileged (or allow unshare and mount "
                "in its seccomp profile and add CAP_SYS_ADMIN)") if "unshare failed" in detail else \
            "isolation does not work on this machine"
        raise SandboxUnavailable(f"a trial sandboxed command failed ({detail}): {hint}, {fallback}")
    return (f"namespaces ({', '.join(n[2:] for n in NAMESPACES)}) + uid {limits.uid} + rlimits "
            f"(address space {limits.memory_mb} MB, CPU {limits.cpu_s} s, {limits.nproc} processes, "
            f"files {limits.fsize_mb} MB) + hidden {', '.join(HIDDEN_DIRS)}")


def _import_dirs():
    """Where the kernel imports from: ``sys.path`` and setuptools' editable-install finders.

    A ``sys.path`` entry that is a project directory (an old-style editable install, or the
    current directory) contributes only its installed top-level packages, not its solutions/
    or tests/; a modern editable install maps package names to directories in a finder module.
    """
    names = set(importlib.metadata.packages_distributions())
    dirs = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]  # course_lib itself
    for entry in map(os.path.abspath, filter(os.path.isdir, [p or "." for p in sys.path])):
        if os.path.basename(entry) in ("site-packages", "dist-packages"):
            dirs.append(entry)
        elif not any(_inside(entry, p) for p in (sys.prefix, sys.base_prefix)):
            dirs += [os.path.join(entry, n) for n in names]
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("__editable__"):
            dirs += getattr(module, "MAPPING", {}).values()
    return dirs


def _which(program):
    path = shutil.which(program)
    if path is None:
        raise SandboxUnavailable(f"`{program}` not found: install util-linux, or grade with --unsafe")
    return path


def _inside(path, parent):
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _unique(paths):
    return tuple(dict.fromkeys(paths))
