"""PID 1 of a grading sandbox: hide directories, set limits, run the command as an unprivileged user.

``sandbox.wrap`` starts this module as root inside fresh namespaces::

    unshare --net --pid --mount --ipc --uts --fork --kill-child --mount-proc \\
        python -I -m course_lib.grading.jail SPEC -- ARGV...

SPEC is the JSON of ``sandbox.Layout`` plus ``sandbox.Limits``. Root is needed for the mounts
and for switching users; the untrusted code never holds it:

1. Mounts (private to this mount namespace). Each ``hide`` directory gets an empty tmpfs, then
   each ``keep_*`` path is bound back at its own path. The sources of kept paths vanish as soon
   as the tmpfs covering them is mounted, so they are opened (``O_PATH``) before anything is
   mounted and bound from ``/proc/self/fd/N``. Mounts go shallowest first, so a hidden directory
   inside a kept one (or a kept one inside that) also works. ``/dev/shm``, world-writable and
   shared by every process of the machine, gets a private tmpfs.
2. Resource limits, inherited by everything started below.
3. A child drops to the unprivileged uid/gid (no groups, no capabilities, ``no_new_privs``) and
   execs ARGV, with HOME set to the work dir. Two environment variables change on the way:

   * ``JPY_PARENT_PID`` (the grader's pid, invisible from this PID namespace: ipykernel would
     exit at once, its parent gone) becomes 1, its real parent, which ipykernel does not poll;
   * ``MALLOC_ARENA_MAX=2`` unless set: glibc reserves 64 MB of address space per malloc arena,
     up to one arena per thread, and a kernel has a dozen threads. That reservation counts
     against RLIMIT_AS: an idle kernel takes about 740 MB of address space, 1 GB with numpy and
     matplotlib loaded; with two arenas 215 MB and 420 MB.

   This process stays root and stays PID 1: the init of a PID namespace must reap orphans, and
   ``unshare --kill-child`` (a parent-death signal, which a credential change would clear) must
   keep working on it. When the child exits, PID 1 exits with its status
   and the kernel kills whatever else is left in the namespace.

Signals: Jupyter interrupts a kernel with SIGINT to its process group, which holds ``unshare``
(it blocks SIGINT/SIGTERM), this process and the kernel. PID 1 ignores SIGINT/SIGTERM, so an
interrupt reaches the kernel only. SIGKILL (how the grader stops a submission) cannot be ignored.

Any setup error prints one line to stderr and exits 125 (as ``env``/``timeout`` do); a command
that cannot be executed exits 126, or 127 when not found.
"""

import ctypes
import errno
import json
import os
import resource
import signal
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV = 0x1, 0x2, 0x4
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
PR_SET_NO_NEW_PRIVS = 38
EXIT_SETUP, EXIT_CANNOT_EXEC, EXIT_NOT_FOUND = 125, 126, 127
MB = 1 << 20

_libc = ctypes.CDLL(None, use_errno=True)


class JailError(Exception):
    """A setup step failed; the message is the one line shown to the person grading."""


def _check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise JailError(f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data=None):
    def enc(s):
        return None if s is None else os.fsencode(s)
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"cannot mount {fstype or source} on {target}")


def _inside(path, parent):
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _make_mount_point(path, is_dir):
    """Create ``path`` (inside a fresh tmpfs) so something can be bound onto it."""
    if os.path.lexists(path):
        return
    os.makedirs(path if is_dir else os.path.dirname(path), mode=0o755, exist_ok=True)
    if not is_dir:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def mount_layout(hide, keep_ro, keep_rw, shm_mb):
    """Hide ``hide``, bind back ``keep_ro`` (read-only) and ``keep_rw``; see the module docstring."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    hide = [os.path.realpath(p) for p in hide]
    read_only = {os.path.realpath(p): True for p in keep_ro}
    read_only.update({os.path.realpath(p): False for p in keep_rw})  # in both lists: writable
    keeps = {}  # path -> (O_PATH fd, read_only)
    for path, ro in read_only.items():
        try:
            keeps[path] = (os.open(path, os.O_PATH | os.O_CLOEXEC), ro)
        except OSError as e:
            raise JailError(f"cannot keep {path} visible: {e.strerror}") from None
    # Shallowest first; at equal depth hide before keep, so a kept path wins over a hidden one.
    steps = sorted([(p.count("/"), 0, p) for p in hide] + [(p.count("/"), 1, p) for p in keeps])
    for _, is_keep, path in steps:
        if is_keep:
            fd = keeps[path][0]
            _make_mount_point(path, os.path.isdir(f"/proc/self/fd/{fd}"))
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        elif os.path.isdir(path):  # else it is already gone under a hidden parent
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for path, (fd, ro) in keeps.items():
        if ro:
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={shm_mb}m")


def set_limits(limits):
    """Per-process limits. CPU: SIGXCPU at the soft limit, SIGKILL a second later if caught."""
    for name, soft, hard in [
        ("AS", limits["memory_mb"] * MB, limits["memory_mb"] * MB),
        ("CPU", limits["cpu_s"], limits["cpu_s"] + 1),
        ("NPROC", limits["nproc"], limits["nproc"]),
        ("FSIZE", limits["fsize_mb"] * MB, limits["fsize_mb"] * MB),
        ("CORE", 0, 0),
    ]:
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (soft, hard))


def drop_privileges(uid, gid):
    """Become ``uid``/``gid`` for good, and check that root cannot be regained."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "cannot set no_new_privs")
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise JailError("could regain root after dropping privileges")
    with open("/proc/self/status") as f:
        caps = [line.split()[1] for line in f if line.startswith(("CapPrm:", "CapEff:"))]
    if any(int(c, 16) for c in caps) or os.getresuid() != (uid,) * 3:
        raise JailError("privileges not fully dropped")


def run_child(argv, spec):
    """In the forked child: drop privileges, restore signals, exec. Never returns."""
    try:
        drop_privileges(spec["uid"], spec["gid"])
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):  # SIGXFSZ stays ignored
            signal.signal(sig, signal.SIG_DFL)
        env = dict(os.environ, HOME=spec["workdir"])
        env.setdefault("MALLOC_ARENA_MAX", "2")
        if "JPY_PARENT_PID" in env:
            env["JPY_PARENT_PID"] = "1"
        os.chdir(spec["workdir"])
    except (OSError, JailError) as e:
        _fail(f"cannot drop privileges: {e}", EXIT_SETUP)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        _fail(f"cannot run {argv[0]}: {e.strerror}",
              EXIT_NOT_FOUND if e.errno == errno.ENOENT else EXIT_CANNOT_EXEC)


def reap_until(child):
    """Reap every process (PID 1 adopts orphans) until ``child`` exits; return its exit code."""
    while True:
        pid, status = os.wait()
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code


def _fail(message, code):
    os.write(2, f"sandbox: {message}\n".encode(errors="replace"))
    os._exit(code)


def main(args):
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    if len(args) < 3 or args[1] != "--":
        _fail("usage: python -m course_lib.grading.jail SPEC -- COMMAND...", EXIT_SETUP)
    spec, argv = json.loads(args[0]), args[2:]
    os.umask(0o022)
    try:
        mount_layout(spec["hide"], spec["keep_ro"], spec["keep_rw"], shm_mb=spec["fsize_mb"])
        set_limits(spec)
    except (OSError, JailError) as e:
        _fail(str(e), EXIT_SETUP)
    child = os.fork()
    if child == 0:
        run_child(argv, spec)
    os._exit(reap_until(child))


if __name__ == "__main__":
    main(sys.argv[1:])
