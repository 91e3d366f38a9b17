"""Run a student's kernel isolated: namespaces, an allowlisted file system, cgroups, an unprivileged user.

Student code is untrusted. ``course grade`` writes a kernel spec whose argv is
``wrap(kernel_argv, limits, layout)``, so each submission's kernel runs

* without network (a fresh network namespace holds only a loopback that is down; the kernel
  talks to the grader over ``ipc`` sockets, which are files and so cross network namespaces),
* in its own PID namespace (it sees only its own processes, and all of them die together when
  the grader kills the ``unshare`` process at the top),
* in a root file system of its own that holds only an allowlist: the system's programs and
  libraries, a few files of /etc, the interpreter, the environment and course_lib, read-only;
  its connection dir; and a work dir that is a private tmpfs of ``disk_mb`` holding a copy of
  what the grader put there. The course, the solutions, the other submissions, the grades,
  home directories and everything else of the machine are simply not there,
* in a memory cgroup and a pids cgroup of its own (cgroup v1, or v2 where it delegates them),
  so that ``memory_mb`` and ``nproc`` bound the whole process tree of a submission,
* as an unprivileged uid without capabilities, under per-process limits on address space, CPU
  time, processes and file size.

``unshare`` (util-linux) creates the namespaces; ``jail`` (root, PID 1 inside them) does the
rest. All this needs root; ``probe`` says so, in words, before a grading run starts.

Cgroups left behind: a sandbox removes its cgroups when its command exits, but not when it is
killed, which is how Jupyter stops a kernel. Empty ones (``course-grade-*``) are removed by the
next sandbox to start, by ``probe`` (at once and when the grading process exits) and by
``cleanup_cgroups``, which the grader may call after each kernel it stops.
"""

import atexit
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from . import jail

NAMESPACES = ("--net", "--pid", "--mount", "--ipc", "--uts")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox, and the user its code runs as.

    ``memory_mb`` and ``nproc`` apply twice: per process as rlimits (RLIMIT_AS, address space:
    Python + numpy + matplotlib fit; RLIMIT_NPROC, which counts the processes *and threads* of
    the real uid across the whole machine), and, with cgroups (see ``probe``), to the sandbox as
    a whole (resident memory, its tmpfs files included; pids.max, the jail included).
    """
    memory_mb: int = 2048  # RLIMIT_AS, and the sandbox's memory cgroup
    cpu_s: int = 120       # RLIMIT_CPU: the kernel's CPU time over the whole notebook
    nproc: int = 256       # RLIMIT_NPROC, and the sandbox's pids cgroup
    fsize_mb: int = 64     # RLIMIT_FSIZE: largest file the code may write (also the size of /dev/shm and /tmp)
    uid: int = 65534       # "nobody"; needs no passwd entry
    gid: int = 65534
    disk_mb: int = 256     # size of the work dir, a tmpfs: the code cannot fill the host's disk


@dataclass(frozen=True)
class Layout:
    """What the sandboxed code sees of the file system (all absolute paths), besides the system
    dirs, /etc files and devices that every sandbox gets (``jail.SYSTEM_DIRS``, ``jail.ETC``)."""
    hide: tuple[str, ...]     # dirs that stay empty even where they lie inside something visible
    keep_ro: tuple[str, ...]  # bound read-only (the interpreter, the environment, packages)
    keep_rw: tuple[str, ...]  # bound writable (the kernel's connection dir; never the work dir)
    workdir: str              # the cwd, and HOME: a private tmpfs holding a copy of the host's dir


class SandboxUnavailable(RuntimeError):
    """Isolation does not work on this machine; the message says why and what to do."""


def wrap(argv, limits: Limits, layout: Layout) -> list[str]:
    """The command that runs ``argv`` inside the sandbox.

    The spec travels inline as one JSON argument (no file to write, clean up or protect).
    ``argv`` is passed on untouched, so Jupyter still substitutes ``{connection_file}`` in it.
    The jail runs with ``python -I``: as root it must not import modules from the current
    directory (possibly a submission's) or from ``PYTHONPATH``.
    """
    spec = spec_of(limits, layout)
    # setpriv --pdeathsig: if the grader's process dies (kill -9, a crash), unshare gets SIGKILL,
    # and --kill-child then takes the whole namespace down: no kernel outlives its grader.
    return [_which("setpriv"), "--pdeathsig", "KILL", "--",
            _which("unshare"), *NAMESPACES, "--fork", "--kill-child", "--mount-proc",
            sys.executable, "-I", "-m", "course_lib.grading.jail", json.dumps(spec), "--", *argv]


def spec_of(limits: Limits, layout: Layout) -> dict:
    """What ``jail`` needs to build a sandbox: the layout and the limits, as plain data."""
    return {**asdict(layout), **asdict(limits)}


# course_lib/key: the reference answers. Hidden in every sandbox (an empty read-only dir there).
ANSWER_KEY = Path(__file__).resolve().parents[1] / "key"


def unsafe_wrap(argv) -> list[str]:
    """``course grade --unsafe``: no isolation at all, for trusted code or machines without root."""
    return list(argv)


def default_layout(workdir, runtime_dir, extra_hide=()) -> Layout:
    """Keep visible (read-only) what the kernel needs to run; hide ``extra_hide`` even within that.

    The answer key (``course_lib.key``) is always hidden: in the kernel the reference is simply not
    importable, only the student library is (and the grader's in-kernel agent).

    Kept: the interpreter (``sys.base_prefix``; e.g. pyenv's under /root), the environment
    (``sys.prefix``), and the *installed packages* of any ``sys.path`` entry or editable install
    outside them, never the whole project around them. The grader passes in ``extra_hide`` the
    course directory (solutions, hidden tests), the submissions, the output directory and its
    scratch root: outside this allowlist they are invisible anyway, and inside it (the
    environment lives in the course dir, say) they stay empty but for the kept paths.
    ``runtime_dir`` (the kernel's connection dir) is bound writable unless it is the work dir.
    """
    hide = _unique(os.path.realpath(str(p)) for p in (ANSWER_KEY, *extra_hide))
    wanted = _unique(p for p in map(os.path.realpath, [sys.base_prefix, sys.prefix, *_import_dirs()])
                     if os.path.exists(p))
    keep_ro = tuple(p for p in wanted if not any(_inside(p, q) for q in wanted if q != p))
    workdir, runtime_dir = os.path.realpath(str(workdir)), os.path.realpath(str(runtime_dir))
    keep_rw = (runtime_dir,) if runtime_dir != workdir else ()
    return Layout(hide=hide, keep_ro=keep_ro, keep_rw=keep_rw, workdir=workdir)


def cleanup_cgroups() -> int:
    """Remove the cgroups of sandboxes that have ended; return how many.

    A sandbox removes its own when its command exits. When it is killed instead (Jupyter stops
    a kernel with SIGKILL), they stay, empty, until the next sandbox starts, ``probe`` runs, or
    this is called: the grader should call it after each kernel it stops. Running sandboxes
    keep theirs (a cgroup with processes in it cannot be removed).
    """
    try:
        return jail.remove_stale_cgroups(jail.cgroup_parents())
    except (jail.NoCgroups, OSError):
        return 0


def probe() -> str:
    """Check that isolation works here by running a trial command; describe it, or raise
    ``SandboxUnavailable`` with what is missing and how to fix it.

    It also removes stale cgroups, now and (``atexit``) when this process exits: the end of a
    grading run, after its last kernels were killed."""
    fallback = "or pass --unsafe to grade WITHOUT isolation (only for submissions you trust)"
    if os.geteuid() != 0:
        raise SandboxUnavailable(f"the sandbox needs root (namespaces, mounts, switching to an "
                                 f"unprivileged user): run `course grade` as root, {fallback}")
    if shutil.which("unshare") is None:
        raise SandboxUnavailable(f"`unshare` not found: install util-linux "
                                 f"(apt-get install util-linux), {fallback}")
    cleanup_cgroups()
    atexit.unregister(cleanup_cgroups)  # once, however often probe runs
    atexit.register(cleanup_cgroups)
    try:
        cgroups, why_not = jail.cgroup_parents(), ""
    except (jail.NoCgroups, OSError) as e:
        cgroups, why_not = [], str(e)
    limits = Limits()
    trial = ("import json, os, socket; print(json.dumps([os.getuid(), os.getpid(), socket.if_nameindex(), "
             "os.listdir('/'), open('/proc/self/cgroup').read()]))")
    with tempfile.TemporaryDirectory(prefix="course-probe-") as work:
        os.chown(work, limits.uid, limits.gid)
        layout = default_layout(work, work)
        cmd = wrap([sys.executable, "-c", trial], limits, layout)
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise SandboxUnavailable(f"a trial sandboxed command hung, {fallback}") from None
    try:
        uid, pid, interfaces, root, own_cgroups = json.loads(run.stdout)
        isolated = (uid == limits.uid and pid < 10 and [n for _, n in interfaces] == ["lo"]
                    and set(root) <= top_level(layout))
    except ValueError:
        isolated = False
    if not isolated:
        detail = (run.stderr.strip().splitlines() or [f"exit {run.returncode}, output {run.stdout!r}"])[-1]
        hint = ("the container forbids namespaces: run it with --privileged (or allow unshare and mount "
                "in its seccomp profile and add CAP_SYS_ADMIN)") if "unshare failed" in detail else \
            "isolation does not work on this machine"
        raise SandboxUnavailable(f"a trial sandboxed command failed ({detail}): {hint}, {fallback}")
    if cgroups and own_cgroups.count(jail.CGROUP_PREFIX) < len(cgroups):
        raise SandboxUnavailable(f"the trial sandbox did not run in cgroups of its own ({own_cgroups!r}), "
                                 f"{fallback}")
    per_sandbox = (f"cgroups per sandbox (memory {limits.memory_mb} MB, {limits.nproc} processes)" if cgroups
                   else f"NO cgroups ({why_not}): memory and processes limited per process only")
    return (f"namespaces ({', '.join(n[2:] for n in NAMESPACES)}) + uid {limits.uid} + a root file system of "
            f"only the system, Python, its packages and course_lib (read-only) and a {limits.disk_mb} MB "
            f"tmpfs work dir + {per_sandbox} + rlimits (address space {limits.memory_mb} MB, "
            f"CPU {limits.cpu_s} s, {limits.nproc} processes, files {limits.fsize_mb} MB)")


def top_level(layout: Layout) -> set[str]:
    """The names that the root directory of a sandbox with ``layout`` may hold, at most."""
    visible = (*jail.SYSTEM_DIRS, "/etc", "/dev", "/proc", "/tmp", *layout.keep_ro, *layout.keep_rw, layout.workdir)
    return {p.split("/")[1] for p in visible}


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
