"""PID 1 of a grading sandbox: cgroups, a new root file system, limits, an unprivileged user.

``sandbox.wrap`` starts this module as root inside fresh namespaces::

    unshare --net --pid --mount --ipc --uts --fork --kill-child --mount-proc \\
        python -I -m course_lib.grading.jail SPEC -- ARGV...

SPEC is the JSON of ``sandbox.Layout`` plus ``sandbox.Limits``. Root is needed for cgroups,
mounts and switching users; the untrusted code never holds it:

1. Cgroups: a memory and a pids cgroup of its own (``course-grade-<uid>-<random>``, made under
   this process's current cgroups), limited to ``memory_mb`` and ``nproc``; PID 1 moves in, so
   everything it starts is inside and counted together. Without usable cgroups (see
   ``cgroup_parents``) only the per-process rlimits of step 3 apply.
2. A new root file system, built in an empty tmpfs and entered with ``pivot_root``: the old
   tree is detached, so only this allowlist exists:

   * read-only binds of ``SYSTEM_DIRS`` (symlinks such as /bin -> usr/bin stay symlinks), of the
     ``ETC`` entries a Python kernel may read (not /etc as a whole: JupyterHub and other
     services keep world-readable secrets there), and of ``keep_ro`` (the interpreter, the
     environment, course_lib);
   * writable binds of ``keep_rw`` (the kernel's connection dir: the grader, outside, must see
     the sockets the kernel creates there);
   * the work dir: a tmpfs of ``disk_mb`` into which the files the grader put in the host's work
     dir are copied (owners, modes and times kept). What the kernel writes stays in memory and
     vanishes with the sandbox; it cannot fill the host's disk;
   * /dev with only null, zero, full, random and urandom (no tty: a terminal shared with the
     grader could be typed into), a private /dev/shm and /tmp (``fsize_mb`` each), and a
     fresh /proc for the new PID namespace;
   * each ``hide`` directory lying inside something bound (or copied) gets an empty read-only
     tmpfs; kept paths inside it are bound again, deeper paths mounted after shallower ones.

   The sources are opened (``O_PATH``) before anything is mounted and bound from
   ``/proc/self/fd/N``: the new root is assembled on /tmp, which hides what lies below it.
   The new root, /dev and hidden dirs end up read-only; nothing can be created in them.
3. Resource limits, inherited by everything started below (per process: they still matter
   without cgroups, and stop a single runaway allocation with a ``MemoryError``).
4. A child drops to the unprivileged uid/gid (no groups, no capabilities, ``no_new_privs``) and
   execs ARGV, with HOME set to the work dir. Two environment variables change on the way:

   * ``JPY_PARENT_PID`` (the grader's pid, invisible from this PID namespace: ipykernel would
     exit at once, its parent gone) becomes 1, its real parent, which ipykernel does not poll;
   * ``MALLOC_ARENA_MAX=2`` unless set: glibc reserves 64 MB of address space per malloc arena,
     up to one arena per thread, and a kernel has a dozen threads. That reservation counts
     against RLIMIT_AS: an idle kernel takes about 740 MB of address space, 1 GB with numpy and
     matplotlib loaded; with two arenas 215 MB and 420 MB.

   This process stays root and stays PID 1: the init of a PID namespace must reap orphans, and
   ``unshare --kill-child`` (a parent-death signal, which a credential change would clear) must
   keep working on it. The OOM killer spares it where allowed (``oom_score_adj`` -1000; the
   child goes back): it picks the student's processes.
5. When the child exits, PID 1 kills whatever else is left in the namespace, reaps it, leaves
   its cgroups and removes them, and exits with the child's status. When PID 1 is killed
   instead (Jupyter stops a kernel with SIGKILL to its process group), its cgroups stay behind,
   empty: ``remove_stale_cgroups`` (run by every new sandbox, by ``sandbox.probe`` and by
   ``sandbox.cleanup_cgroups``) removes them.

Signals: Jupyter interrupts a kernel with SIGINT to its process group, which holds ``unshare``
(it blocks SIGINT/SIGTERM), this process and the kernel. PID 1 ignores SIGINT/SIGTERM, so an
interrupt reaches the kernel only. SIGKILL (how the grader stops a submission) cannot be ignored.

Any setup error prints one line to stderr and exits 125 (as ``env``/``timeout`` do); a command
that cannot be executed exits 126, or 127 when not found.
"""

import contextlib
import ctypes
import errno
import json
import os
import re
import resource
import signal
import stat
import sys
import time

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
EXIT_SETUP, EXIT_CANNOT_EXEC, EXIT_NOT_FOUND = 125, 126, 127
MB = 1 << 20

NEW_ROOT = "/tmp"  # where the new root is assembled (in this mount namespace only)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What of /etc a Python kernel may read: the loader, users, time zone, name service, MIME types,
# certificates, fonts, the `alternatives` symlinks of /usr/bin, Debian's python3.X configuration.
ETC = ("alternatives", "fonts", "gai.conf", "group", "host.conf", "hosts", "ld.so.cache", "ld.so.conf",
       "ld.so.conf.d", "locale.alias", "localtime", "matplotlibrc", "mime.types", "mtab", "nsswitch.conf",
       "os-release", "passwd", "pki", "protocols", "services", "ssl", "timezone")
DEVICES = ("null", "zero", "full", "random", "urandom")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}
INODES = 16384  # per writable tmpfs: empty files take kernel memory but no `size`
CGROUP_PREFIX = "course-grade-"

_libc = ctypes.CDLL(None, use_errno=True)


class JailError(Exception):
    """A setup step failed; the message is the one line shown to the person grading."""


class NoCgroups(Exception):
    """This machine (or container) offers no cgroups to limit a sandbox as a whole; says why."""


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


# --- 1. cgroups ---------------------------------------------------------------------------------

def cgroup_parents():
    """Where each sandbox gets its cgroups: ``[(dir, kinds)]``; raises ``NoCgroups`` if nowhere.

    cgroup v1: this process's cgroups in the ``memory`` and the ``pids`` hierarchies (one dir
    if both are mounted together), so that a sandbox stays within whatever limits its grader
    runs under. cgroup v2: this process's cgroup, but only if both controllers are already
    enabled for its children (``cgroup.subtree_control``), which v2 allows only where no
    process lives, i.e. in the root cgroup. The dirs must be writable.
    """
    mounts, mine = {}, {}  # key ("memory", "pids" or "v2") -> (mount's root, mount point) / own path
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields, _, tail = line.partition(" - ")
            fields, tail = fields.split(), tail.split()
            if len(fields) < 5 or len(tail) < 3:
                continue
            where = (fields[3], re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4]))
            if tail[0] == "cgroup":
                for key in {"memory", "pids"} & set(tail[2].split(",")):
                    mounts.setdefault(key, where)
            elif tail[0] == "cgroup2":
                mounts.setdefault("v2", where)
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for key in controllers.split(",") if controllers else ["v2"]:
                mine[key] = path

    def place(key):
        if key not in mounts or key not in mine or not _inside(mine[key], mounts[key][0]):
            return None
        root, point = mounts[key]
        path = os.path.normpath(os.path.join(point, os.path.relpath(mine[key], root)))
        return path if os.access(path, os.W_OK) else None

    v1 = {key: place(key) for key in ("memory", "pids")}
    if all(v1.values()):
        parents = {}
        for key, path in v1.items():
            parents.setdefault(path, []).append(key)
        return [(path, tuple(kinds)) for path, kinds in parents.items()]
    v2 = place("v2")
    if v2:
        try:
            with open(os.path.join(v2, "cgroup.subtree_control")) as f:
                enabled = set(f.read().split())
        except OSError:
            enabled = set()
        if {"memory", "pids"} <= enabled:
            return [(v2, ("v2",))]
        raise NoCgroups(f"cgroup v2 does not enable memory and pids below {v2}")
    raise NoCgroups("no writable cgroup v1 memory and pids hierarchies, nor cgroup v2")


def _cgroup_settings(kinds, memory_mb, nproc):
    """(file, value, required) to write into a new cgroup of ``kinds``; swap limited to nothing more."""
    memory = memory_mb * MB
    if "v2" in kinds:
        return [("memory.max", memory, True), ("memory.swap.max", 0, False), ("pids.max", nproc, True)]
    settings = []
    if "memory" in kinds:  # memory+swap after memory: it may never be the smaller one
        settings += [("memory.limit_in_bytes", memory, True), ("memory.memsw.limit_in_bytes", memory, False)]
    if "pids" in kinds:
        settings += [("pids.max", nproc, True)]
    return settings


def _write_at(dir_fd, path, value):
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def enter_cgroups(parents, uid, memory_mb, nproc):
    """Make this sandbox's cgroups, limit them and move this process in: ``[(parent fd, name)]``.

    A concurrent ``remove_stale_cgroups`` may remove a new cgroup before a process is in it
    (it is empty then); that shows as a missing file, and the whole step starts again.
    """
    for _ in range(5):
        name, made = f"{CGROUP_PREFIX}{uid}-{os.urandom(4).hex()}", []
        try:
            for parent, kinds in parents:
                fd = os.open(parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    os.mkdir(name, 0o755, dir_fd=fd)
                except OSError:
                    os.close(fd)
                    raise
                made.append((fd, name))
                for file, value, required in _cgroup_settings(kinds, memory_mb, nproc):
                    try:
                        _write_at(fd, f"{name}/{file}", value)
                    except FileNotFoundError:
                        os.stat(name, dir_fd=fd)  # FileNotFoundError again if the cgroup is gone
                        if required:
                            raise JailError(f"cannot limit cgroup {parent}/{name}: no {file}") from None
            for fd, _ in made:
                _write_at(fd, f"{name}/cgroup.procs", 0)  # 0: the writing process
            return made
        except FileNotFoundError:
            leave_cgroups(made)
        except (OSError, JailError) as e:
            leave_cgroups(made)
            if isinstance(e, JailError):
                raise
            raise JailError(f"cannot make a cgroup under {parent}: {e.strerror}") from None
    raise JailError(f"cannot make a cgroup under {parent}: removed again and again")


def leave_cgroups(made):
    """Move this process back to the parents and remove the cgroups (best effort: a sweep later
    removes what is left)."""
    for fd, name in made:
        try:
            _write_at(fd, "cgroup.procs", 0)
        except OSError:
            pass
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError:
            pass
        os.close(fd)


def remove_stale_cgroups(parents):
    """Remove the sandbox cgroups under ``parents`` that no process is in; return how many.

    ``rmdir`` of a cgroup fails (EBUSY) while a process is in it, so running sandboxes keep theirs.
    """
    removed = 0
    for parent, _ in parents:
        try:
            names = [n for n in os.listdir(parent) if n.startswith(CGROUP_PREFIX)]
        except OSError:
            continue
        for name in names:
            try:
                os.rmdir(os.path.join(parent, name))
                removed += 1
            except OSError:
                pass
    return removed


# --- 2. the new root ----------------------------------------------------------------------------

def _open_source(path):
    """An O_PATH fd of ``path`` to bind from later, and whether it is a directory."""
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    return fd, stat.S_ISDIR(os.fstat(fd).st_mode)


def _plan(spec):
    """What to put where in the new root: ``[(target, rank, kind, arg)]``, ``kind`` one of
    "bind" (arg: (fd, is_dir, read_only)), "tmpfs" (arg: (options, read_only)), "symlink"
    (arg: its text), "proc", "work" (arg: fd of the host's work dir) and "hide".

    Everything from the host is opened here, before any mount can hide it.
    """
    steps = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            steps.append((path, 0, "symlink", os.readlink(path)))
        elif os.path.isdir(path):
            steps.append((path, 0, "bind", (*_open_source(path), True)))
    etc = [e for e in sorted(os.listdir("/etc")) if e in ETC or re.fullmatch(r"python3(\.\d+)?", e)]
    for entry in etc:
        path = f"/etc/{entry}"
        if os.path.islink(path):
            steps.append((path, 0, "symlink", os.readlink(path)))
        elif os.path.isdir(path) or os.path.isfile(path):
            steps.append((path, 0, "bind", (*_open_source(path), True)))
    steps.append(("/dev", 0, "tmpfs", ("mode=0755,size=64k,nr_inodes=64", True)))
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            steps.append((f"/dev/{name}", 0, "bind", (*_open_source(f"/dev/{name}"), None)))
    steps += [(f"/dev/{name}", 0, "symlink", text) for name, text in DEV_LINKS.items()]
    shm = f"size={spec['fsize_mb']}m,nr_inodes={INODES}"
    steps += [("/dev/shm", 0, "tmpfs", (f"mode=1777,{shm}", False)),
              ("/tmp", 0, "tmpfs", (f"mode=1777,{shm}", False)),
              ("/proc", 0, "proc", None)]

    workdir = os.path.realpath(spec["workdir"])
    keeps = {os.path.realpath(p): True for p in spec["keep_ro"]}
    keeps.update({os.path.realpath(p): False for p in spec["keep_rw"]})  # in both lists: writable
    keeps.pop(workdir, None)  # the work dir is always a private tmpfs
    for path, ro in keeps.items():
        try:
            steps.append((path, 2, "bind", (*_open_source(path), ro)))
        except OSError as e:
            raise JailError(f"cannot keep {path} visible: {e.strerror}") from None
    try:
        work_fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise JailError(f"cannot copy the work dir {workdir}: {e.strerror}") from None
    steps.append((workdir, 2, "work", work_fd))

    # A hidden dir matters only inside something from the host (a bind, the work dir's copy);
    # where it is also kept, the keep wins.
    shown = [t for t, _, kind, _ in steps if kind in ("bind", "work")]
    kept = {t for t, rank, _, _ in steps if rank == 2}
    for path in map(os.path.realpath, spec["hide"]):
        if path not in kept and any(_inside(path, t) and path != t for t in shown):
            steps.append((path, 1, "hide", None))
    # Shallowest first; at one path: the usual contents, then hidden, then kept on top.
    return sorted(steps, key=lambda s: (s[0].rstrip("/").count("/"), s[1], s[0]))


def _mount_point(path, is_dir):
    """Create ``path`` (in a tmpfs of ours) so something can be mounted on it."""
    if os.path.lexists(path):
        return
    os.makedirs(path if is_dir else os.path.dirname(path), mode=0o755, exist_ok=True)
    if not is_dir:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


def build_root(spec):
    """Assemble the sandbox's file system and switch to it (see the module docstring)."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    steps = _plan(spec)
    _mount("tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m,nr_inodes=4096")
    # Binds become read-only at once (no mount point can then be made in the host's files);
    # our tmpfs mounts at the end, once every mount point in them exists.
    read_only = {"": True}  # target -> make the tmpfs there read-only at the end
    for target, _, kind, arg in steps:
        where = NEW_ROOT + target
        if kind == "symlink":
            os.makedirs(os.path.dirname(where), mode=0o755, exist_ok=True)
            os.symlink(arg, where)
        elif kind == "bind":
            fd, is_dir, ro = arg
            _mount_point(where, is_dir)
            _mount(f"/proc/self/fd/{fd}", where, None, MS_BIND)  # not recursive: no mounts below come along
            os.close(fd)
            if ro:
                _mount(None, where, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
            read_only.pop(target, None)
        elif kind == "tmpfs":
            options, ro = arg
            _mount_point(where, True)
            _mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV, options)
            read_only[target] = ro
        elif kind == "proc":
            _mount_point(where, True)
            _mount("proc", where, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            read_only.pop(target, None)
        elif kind == "work":
            _mount_work(arg, where, spec["disk_mb"])
            read_only[target] = False
        elif kind == "hide" and os.path.isdir(where) and not os.path.islink(where):
            _mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4k,nr_inodes=64")
            read_only[target] = True
    for target, ro in read_only.items():
        if ro:
            _mount(None, NEW_ROOT + target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _pivot_root(NEW_ROOT)


def _mount_work(host_fd, where, disk_mb):
    """A tmpfs of ``disk_mb`` at the work dir, holding a copy of the host's work dir."""
    st = os.fstat(host_fd)
    _mount_point(where, True)
    _mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={disk_mb}m,nr_inodes={INODES},mode={st.st_mode & 0o7777:o},uid={st.st_uid},gid={st.st_gid}")
    work_fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        copy_tree(host_fd, work_fd)
    except OSError as e:
        what = f"more than {disk_mb} MB" if e.errno == errno.ENOSPC else e.strerror
        raise JailError(f"cannot copy the work dir into the sandbox: {what}") from None
    finally:
        os.close(work_fd)
        os.close(host_fd)


def copy_tree(src_fd, dst_fd):
    """Copy the directory ``src_fd`` into the empty directory ``dst_fd``: directories, regular files
    and symlinks with their owners, modes and times; other kinds of file are left out.

    Runs as root on a directory the sandbox user owns: never follows a symlink, opens only what
    ``lstat`` called a regular file (non-blocking, in case it became a FIFO meanwhile), and
    refuses hard links (which could point to a file the user may not read).
    """
    with os.scandir(src_fd) as entries:
        names = [entry.name for entry in entries]
    for name in names:
        st = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(name, dir_fd=src_fd), name, dir_fd=dst_fd)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dst_fd, follow_symlinks=False)
        elif stat.S_ISDIR(st.st_mode):
            os.mkdir(name, 0o700, dir_fd=dst_fd)
            with _opened(name, src_fd, os.O_DIRECTORY) as src, _opened(name, dst_fd, os.O_DIRECTORY) as dst:
                copy_tree(src, dst)
                _copy_metadata(dst, st)
        elif stat.S_ISREG(st.st_mode):
            if st.st_nlink > 1:
                raise JailError(f"the work dir's {name} has hard links: not copied")
            with _opened(name, src_fd, os.O_NONBLOCK) as src, \
                    _opened(name, dst_fd, os.O_WRONLY | os.O_CREAT | os.O_EXCL) as dst:
                if not stat.S_ISREG(os.fstat(src).st_mode):
                    raise JailError(f"the work dir's {name} changed while being copied")
                while chunk := os.read(src, MB):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(dst, view):]
                _copy_metadata(dst, st)


@contextlib.contextmanager
def _opened(name, dir_fd, flags):
    fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


def _copy_metadata(fd, st):
    os.fchown(fd, st.st_uid, st.st_gid)
    os.fchmod(fd, st.st_mode & 0o1777)  # no set-uid/gid bits
    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def _pivot_root(new_root):
    """Make ``new_root`` the root and detach the old one (the ``pivot_root(".", ".")`` idiom)."""
    machine = os.uname().machine
    number = SYS_PIVOT_ROOT.get(machine)
    if number is None:
        raise JailError(f"pivot_root: unknown system call number on {machine}")
    os.chdir(new_root)
    _check(_libc.syscall(ctypes.c_long(number), b".", b"."), "cannot pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "cannot detach the old root")
    os.chdir("/")


# --- 3. limits, 4. the child, 5. the end --------------------------------------------------------

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


def spare_from_oom_killer():
    """Make the OOM killer pick any process but this one; return the old setting, for the child
    to go back to, or None if not allowed (without CAP_SYS_RESOURCE, as in some containers:
    then the student's processes, much bigger than this one, are picked anyway)."""
    try:
        with open("/proc/self/oom_score_adj", "r+") as f:
            old = f.read().strip()
            f.seek(0)
            f.write("-1000")
        return old
    except OSError:
        return None


def become_child(spec, oom_score_adj=None):
    """In the forked child: drop privileges, restore signals, go to the work dir; return its environment."""
    try:
        if oom_score_adj is not None:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(oom_score_adj)
        drop_privileges(spec["uid"], spec["gid"])
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):  # SIGXFSZ stays ignored
            signal.signal(sig, signal.SIG_DFL)
        env = dict(os.environ, HOME=spec["workdir"])
        env.setdefault("MALLOC_ARENA_MAX", "2")
        if "JPY_PARENT_PID" in env:
            env["JPY_PARENT_PID"] = "1"
        os.chdir(spec["workdir"])
        return env
    except (OSError, JailError) as e:
        _fail(f"cannot drop privileges: {e}", EXIT_SETUP)


def run_child(argv, spec, oom_score_adj=None):
    """In the forked child: become the unprivileged child, exec ``argv``. Never returns."""
    env = become_child(spec, oom_score_adj)
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


def kill_the_rest(seconds=5.0):
    """Kill every other process of this PID namespace and reap them, so the cgroups empty."""
    try:
        os.kill(-1, signal.SIGKILL)  # from PID 1: all others in its namespace
    except ProcessLookupError:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def _fail(message, code):
    os.write(2, f"sandbox: {message}\n".encode(errors="replace"))
    os._exit(code)


def contain(spec, run):
    """Steps 1-5 as PID 1 of fresh namespaces: ``run(oom_score_adj)`` is called in the forked child
    (it must become the child, e.g. ``run_child``, and never return); exits with the child's status."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    os.umask(0o022)
    cgroups = []
    try:
        try:
            parents = cgroup_parents()
        except NoCgroups:
            parents = []
        remove_stale_cgroups(parents)
        cgroups = enter_cgroups(parents, spec["uid"], spec["memory_mb"], spec["nproc"]) if parents else []
        oom_score_adj = spare_from_oom_killer()
        build_root(spec)
        set_limits(spec)
    except (OSError, JailError) as e:
        leave_cgroups(cgroups)
        _fail(str(e), EXIT_SETUP)
    child = os.fork()
    if child == 0:
        run(oom_score_adj)
        os._exit(EXIT_SETUP)  # not reached: run() becomes the child
    code = reap_until(child)
    kill_the_rest()
    leave_cgroups(cgroups)
    os._exit(code)


def main(args):
    if len(args) < 3 or args[1] != "--":
        _fail("usage: python -m course_lib.grading.jail SPEC -- COMMAND...", EXIT_SETUP)
    spec, argv = json.loads(args[0]), args[2:]
    contain(spec, lambda oom_score_adj: run_child(argv, spec, oom_score_adj))


if __name__ == "__main__":
    main(sys.argv[1:])
