"""Does the grading sandbox really isolate a kernel? Real processes, no mocks.

Each test runs a small program (or a whole ipykernel) through ``sandbox.wrap`` and checks one
promise from the outside. Programs report what they saw as one JSON line on stdout.
The sandbox needs root and util-linux's ``unshare``; CI has both.
"""

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

import course_lib
from course_lib.grading import jail
from course_lib.grading.sandbox import (Layout, Limits, cleanup_cgroups, default_layout, probe, top_level,
                                        unsafe_wrap, wrap)

if os.geteuid() != 0 or shutil.which("unshare") is None:
    pytest.skip("the sandbox needs root and util-linux's `unshare`", allow_module_level=True)

# A uid of the tests' own (the grader uses 61000 + worker, probe() 65534): the cgroups a test
# leaves are told apart from those of grading runs going on meanwhile by the uid in their name.
LIMITS = Limits(uid=61990, gid=61990)
UID = LIMITS.uid
REPO = Path(course_lib.__file__).resolve().parents[1]
try:
    CGROUPS = jail.cgroup_parents()
except jail.NoCgroups:
    CGROUPS = []
needs_cgroups = pytest.mark.skipif(not CGROUPS, reason="no cgroups for the sandbox on this machine")


@pytest.fixture
def work(tmp_path):
    """The sandboxed program's work dir, owned by the sandbox user (as the grader prepares it)."""
    path = tmp_path / "work"
    path.mkdir()
    os.chown(path, UID, UID)
    return path


@pytest.fixture
def layout(work, tmp_path_factory):
    # Hiding pytest's base temp dir also makes the kept work dir traversable: the tmpfs that
    # replaces it is mode 0755, where pytest's own dirs are 0700.
    return default_layout(work, work, extra_hide=(tmp_path_factory.getbasetemp(),))


def run(code, layout, limits=LIMITS, env=None, timeout=120):
    """Run ``python -c code`` in the sandbox; return the finished process (text output)."""
    cmd = wrap([sys.executable, "-c", code], limits, layout)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def report(proc):
    """The JSON the sandboxed program printed last."""
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def processes(uid, needle):
    """Host pids of live (non-zombie) processes of ``uid`` whose command line contains ``needle``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # exited meanwhile
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["Uid"].split()[0]) == uid and "Z" not in fields["State"] and needle in cmdline:
            found.append(int(pid))
    return found


def wait_until_gone(uid, needle, seconds=5.0):
    """Poll until no such process is left; return the survivors at the deadline."""
    deadline = time.monotonic() + seconds
    while (left := processes(uid, needle)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def descendants(pid):
    """Host pids of all live descendants of ``pid``."""
    children = {}
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        children.setdefault(int(stat.rpartition(")")[2].split()[1]), []).append(int(p))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def is_alive(pid):
    """True while ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def cgroups_of(*uids):
    """The sandbox cgroup dirs of ``uids`` that exist now."""
    return sorted(str(d) for parent, _ in CGROUPS for uid in uids
                  for d in Path(parent).glob(f"{jail.CGROUP_PREFIX}{uid}-*"))


def wait_until_empty(cgroups, seconds=5.0):
    """Poll until no process is in ``cgroups`` (a killed jail may take a moment to exit)."""
    def members(cgroup):
        try:
            return Path(cgroup, "cgroup.procs").read_text().split()
        except FileNotFoundError:  # removed meanwhile
            return []
    deadline = time.monotonic() + seconds
    while any(map(members, cgroups)) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(autouse=True, scope="module")
def no_cgroups_left_behind():
    """After this file: the sandboxes that exited removed their cgroups, ``cleanup_cgroups`` those
    of the killed ones (the kernels)."""
    yield
    wait_until_empty(cgroups_of(UID, 61234, 61235))
    cleanup_cgroups()
    assert cgroups_of(UID, 61234, 61235) == []


def test_probe_describes_the_isolation():
    description = probe()
    assert "namespaces" in description and f"uid {Limits().uid}" in description
    assert ("cgroups per sandbox" if CGROUPS else "NO cgroups") in description


def test_unsafe_wrap_changes_nothing():
    assert unsafe_wrap(("python", "-f", "{connection_file}")) == ["python", "-f", "{connection_file}"]


def test_wrap_keeps_the_connection_file_placeholder(layout):
    assert wrap(["python", "-f", "{connection_file}"], Limits(), layout)[-3:] == \
        ["python", "-f", "{connection_file}"]


def test_no_network_only_a_loopback(layout):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        code = f"""if 1:
            import json, socket
            try:
                socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), timeout=3)
                outcome = "connected"
            except OSError as e:
                outcome = type(e).__name__
            print(json.dumps([outcome, [name for _, name in socket.if_nameindex()]]))
        """
        outcome, interfaces = report(run(code, layout))
    assert outcome != "connected"
    assert interfaces == ["lo"]


def test_own_pid_namespace(layout):
    code = f"""if 1:
        import json, os
        print(json.dumps([os.getpid(), os.path.exists("/proc/{os.getpid()}"),
                          sorted(int(p) for p in os.listdir("/proc") if p.isdigit())]))
    """
    pid, sees_test_process, pids = report(run(code, layout))
    assert pid == 2  # 1 is the jail
    assert not sees_test_process
    assert pids == [1, 2]


def test_runs_unprivileged_and_cannot_become_root(layout):
    code = """if 1:
        import json, os
        try:
            os.setuid(0)
            regained = True
        except PermissionError:
            regained = False
        status = dict(l.split(":", 1) for l in open("/proc/self/status"))
        print(json.dumps([os.getresuid(), os.getresgid(), os.getgroups(), regained,
                          status["CapEff"].strip(), status["NoNewPrivs"].strip()]))
    """
    uids, gids, groups, regained, cap_eff, no_new_privs = report(run(code, layout))
    assert uids == [UID] * 3 and gids == [UID] * 3 and groups == []
    assert not regained
    assert int(cap_eff, 16) == 0 and no_new_privs == "1"


def test_only_the_allowlist_is_visible(tmp_path, work):
    """Not hidden, just not kept: a dir next to the work dir, a fresh dir beside the project,
    /work/shared, /etc/shadow, home dirs. The root holds only the system, /etc, /dev, /proc,
    /tmp and the first components of the kept paths."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("the answers")
    beside = Path(tempfile.mkdtemp(prefix=".sandbox-test-", dir=REPO.parent))
    try:
        (beside / "secret.txt").write_text("the answers")
        beside.chmod(0o755)
        layout = default_layout(work, work)  # nothing hidden
        paths = [str(elsewhere / "secret.txt"), str(beside / "secret.txt"), str(REPO.parent / "shared"),
                 "/etc/shadow", "/home", "/srv", "/root/.bashrc", "/sys/fs/cgroup"]
        code = f"import json, os; print(json.dumps([os.listdir('/'), [os.path.exists(p) for p in {paths!r}]]))"
        root, seen = report(run(code, layout))
    finally:
        shutil.rmtree(beside)
    assert set(root) <= top_level(layout) and {"usr", "etc", "dev", "proc", "tmp"} <= set(root)
    assert dict(zip(paths, seen)) == dict.fromkeys(paths, False)


def test_hidden_files_unreadable_kept_files_visible(tmp_path, work, layout):
    course = tmp_path / "course"
    course.mkdir()
    (course / "secret.txt").write_text("the answers")
    shared = course / "shared.txt"
    shared.write_text("for everyone")
    shared.chmod(0o666)  # so only the read-only mount can refuse a write
    # a hidden dir inside what every sandbox sees (the system's) is empty there
    system_hide = next((d for d in ("/usr/share/doc", "/usr/share/man") if os.listdir(d)), None) \
        if all(map(os.path.isdir, ("/usr/share/doc", "/usr/share/man"))) else None
    layout = replace(layout, hide=layout.hide + (str(course),) + ((system_hide,) if system_hide else ()),
                     keep_ro=layout.keep_ro + (str(shared),))
    code = f"""if 1:
        import json, os
        def attempt(f):
            try:
                return f()
            except OSError as e:
                return type(e).__name__
        print(json.dumps([
            attempt(lambda: open({str(course / "secret.txt")!r}).read()),
            attempt(lambda: open({str(shared)!r}).read()),
            attempt(lambda: open({str(shared)!r}, "a").write("x")),
            attempt(lambda: open("written.txt", "w").write("ok")),
            attempt(lambda: os.listdir({system_hide!r}) if {system_hide!r} else []),
        ]))
    """
    secret, shared_read, shared_write, work_write, system_hidden = report(run(code, layout))
    assert secret == "FileNotFoundError"
    assert shared_read == "for everyone"
    assert shared_write == "OSError"  # EROFS
    assert work_write == 2 and not (work / "written.txt").exists()  # written in the sandbox's tmpfs
    assert shared.read_text() == "for everyone"
    assert system_hidden == []


def test_nested_hidden_and_kept_dirs(tmp_path, layout):
    """hidden a/ > kept a/b/ > hidden a/b/c/ > kept a/b/c/d/: each level sees what it should."""
    d = tmp_path / "a" / "b" / "c" / "d"
    d.mkdir(parents=True)
    files = {"a/x": False, "a/b/y": True, "a/b/c/z": False, "a/b/c/d/w": True}  # visible?
    for name in files:
        (tmp_path / name).write_text(name)
    nested = Layout(hide=layout.hide + (str(tmp_path / "a"), str(d.parent)),
                    keep_ro=layout.keep_ro + (str(d),), keep_rw=layout.keep_rw + (str(d.parent.parent),),
                    workdir=layout.workdir)
    paths = [str(tmp_path / name) for name in files]
    code = f"import json, os; print(json.dumps([os.path.exists(p) for p in {paths!r}]))"
    assert report(run(code, nested)) == list(files.values())


@pytest.mark.parametrize("hide", [(), (REPO,)], ids=["not-hidden", "hidden"])
def test_course_dir_invisible_but_course_lib_importable(work, hide):
    """Of the course dir (solutions/, tests/), hidden by the grader or not, the kernel sees only
    course_lib (and the environment, which lives there), and imports its student library, never the
    answer key (course_lib.key)."""
    assert (REPO / "solutions").is_dir() and (REPO / "tests").is_dir()
    layout = default_layout(work, work, extra_hide=hide)
    code = f"""if 1:
        import json, os
        import course_lib.checks, course_lib.graph
        read_only = bool(os.statvfs(os.path.dirname(course_lib.__file__)).f_flag & os.ST_RDONLY)
        root = os.listdir("/root") if os.path.isdir("/root") else []
        try:
            import course_lib.key.activations
            key = "importable"
        except ImportError as err:
            key = type(err).__name__
        key_files = os.listdir(os.path.join(os.path.dirname(course_lib.__file__), "key"))
        print(json.dumps([sorted(os.listdir({str(REPO)!r})), root, read_only, key, key_files]))
    """
    repo_entries, root_entries, package_read_only, key, key_files = report(run(code, layout))
    # the student library imports; the answer key is an empty dir: the reference is not there
    assert (key, key_files) == ("ModuleNotFoundError", [])
    assert "course_lib" in repo_entries
    assert set(repo_entries) <= {"course_lib", ".venv"}
    assert all(Path(sys.base_prefix).is_relative_to(f"/root/{e}") for e in root_entries)
    assert package_read_only


def test_work_dir_is_a_private_copy_of_limited_size(work):
    """The grader's files arrive (owners, modes, links kept); what the code writes stays in a
    tmpfs of ``disk_mb``: writing 300 MB fails at 64 MB, and nothing reaches the host's disk."""
    (work / "data.csv").write_text("1,2\n")
    (work / "data.csv").chmod(0o640)
    (work / ".matplotlib").mkdir()
    (work / ".matplotlib" / "fontlist.json").write_text("{}")
    (work / "link").symlink_to("data.csv")
    for path in [work, *work.rglob("*")]:
        os.lchown(path, UID, UID)
    before = sorted(p.name for p in work.rglob("*"))
    code = """if 1:
        import json, os, stat
        st = os.stat("data.csv")
        seen = [open("link").read(), st.st_uid, stat.S_IMODE(st.st_mode), os.listdir(".matplotlib")]
        open("data.csv", "a").write("3,4\\n")
        written, error = 0, None
        try:
            for i in range(10):  # 10 files of 30 MB (each under the 64 MB file size limit)
                with open(f"big{i}.bin", "wb") as f:
                    for _ in range(30):
                        f.write(bytes(1 << 20))
                        written += 1
        except OSError as e:
            error = e.strerror
        print(json.dumps([seen, written, error]))
    """
    layout = default_layout(work, work)
    assert layout.keep_rw == ()  # the work dir is never bound
    seen, written_mb, error = report(run(code, layout, replace(LIMITS, disk_mb=64)))
    assert seen == ["1,2\n", UID, 0o640, ["fontlist.json"]]
    assert error == "No space left on device" and 48 <= written_mb <= 64
    assert sorted(p.name for p in work.rglob("*")) == before
    assert (work / "data.csv").read_text() == "1,2\n"


def test_memory_limit_raises_memory_error_and_numpy_fits(layout):
    """A kernel-like process (numpy, matplotlib, a plot) fits in the default limit; more does not."""
    limits = LIMITS
    code = f"""if 1:
        import json, numpy, matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.plot(numpy.arange(10) @ numpy.ones((10, 10)))
        plt.savefig("plot.png")
        peak_mb = int(next(l for l in open("/proc/self/status") if l.startswith("VmPeak")).split()[1]) // 1024
        try:
            numpy.ones(({limits.memory_mb} + 1) << 20, dtype=numpy.uint8)
            outcome = "allocated"
        except MemoryError:
            outcome = "MemoryError"
        print(json.dumps([peak_mb, outcome]))
    """
    peak_mb, outcome = report(run(code, layout, limits, env={"OPENBLAS_NUM_THREADS": "1"}))
    assert outcome == "MemoryError"
    assert peak_mb < limits.memory_mb / 4, f"numpy + matplotlib took {peak_mb} MB of address space"


def test_jail_setup_error_is_one_clear_line(layout):
    proc = run("pass", replace(layout, keep_rw=layout.keep_rw + ("/no/such/dir",)))
    assert proc.returncode == 125
    assert proc.stderr == "sandbox: cannot keep /no/such/dir visible: No such file or directory\n"


def test_memory_limit_covers_the_whole_process_tree(layout):
    """memory_mb bounds a sandbox, not each process: of 4 forked processes filling 150 MB each
    with memory_mb=256, at most one survives (the cgroup's OOM killer takes the others), while
    one process alone allocates 150 MB. (RLIMIT_AS alone would let all 4 have theirs.)"""
    code = """if 1:
        import json, os, select, sys, time
        n = int(sys.argv[1])
        r, w = os.pipe()
        for _ in range(n):
            if os.fork() == 0:
                hog = b"x" * (150 << 20)  # written, so resident
                os.write(w, b"+")
                time.sleep(60)
                os._exit(0)
        os.close(w)
        def ended():  # how the children that ended meanwhile ended: signal, or -exit status
            found = []
            while (pid_status := os.waitpid(-1, os.WNOHANG))[0]:
                status = pid_status[1]
                found.append(os.WTERMSIG(status) if os.WIFSIGNALED(status) else -os.WEXITSTATUS(status))
            return found
        filled, killed, deadline = 0, [], time.monotonic() + 30
        while filled + len(killed) < n and time.monotonic() < deadline:
            if select.select([r], [], [], 0.05)[0]:
                filled += len(os.read(r, n))
            killed += ended()
        time.sleep(0.5)  # the last to fill may yet take the memory of one that filled before
        print(json.dumps([filled, killed + ended()]))
    """
    limits = replace(LIMITS, memory_mb=256)

    def fill(n):
        cmd = wrap([sys.executable, "-c", code, str(n)], limits, layout)
        return report(subprocess.run(cmd, capture_output=True, text=True, timeout=60))

    assert fill(1) == [1, []]
    if not CGROUPS:
        pytest.skip("no cgroups: the memory limit is per process only")
    filled, killed = fill(4)
    assert len(killed) >= 3 and set(killed) == {signal.SIGKILL}, (filled, killed)


def test_fork_bomb_is_stopped(layout):
    code = """if 1:
        import json, os, time
        forked = 0
        try:
            while forked < 1000:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                forked += 1
            outcome = "unstopped"
        except BlockingIOError:
            outcome = "BlockingIOError"
        print(json.dumps([forked, outcome]))
    """  # the sleeping children die with the namespace when this program exits
    # RLIMIT_NPROC counts every process and thread of the uid on the machine: use a uid of
    # our own, so that sandboxes running meanwhile do not change the count.
    limits = replace(LIMITS, nproc=16, uid=61234, gid=61234)
    forked, outcome = report(run(code, layout, limits))
    assert outcome == "BlockingIOError"
    # pids.max counts the jail (PID 1) and this program too: 14 children. RLIMIT_NPROC, counting
    # the uid's processes only, would have allowed 15.
    assert forked == (14 if CGROUPS else 15)


@needs_cgroups
def test_cgroups_removed_by_the_sandbox_or_after_a_kill(layout):
    """A sandbox whose command exits removes its cgroups itself. One killed as Jupyter kills
    a kernel (SIGKILL to its process group) cannot: cleanup_cgroups() removes them."""
    limits = replace(LIMITS, uid=61235, gid=61235)
    assert report(run("print(open('/proc/self/cgroup').read().count('course-grade-61235-'))",
                      layout, limits)) == len(CGROUPS)
    assert cgroups_of(61235) == []
    cmd = wrap([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(100)"], limits, layout)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        assert len(cgroups_of(61235)) == len(CGROUPS)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    left = cgroups_of(61235)
    assert len(left) == len(CGROUPS)  # left behind (unless a sandbox starting meanwhile swept them)
    wait_until_empty(left)
    cleanup_cgroups()
    assert cgroups_of(61235) == []


def test_file_size_limit(work, layout):
    code = """if 1:
        import json, os
        try:
            with open("big.bin", "wb") as f:
                f.write(bytes(2 << 20))
            outcome = "written"
        except OSError as e:
            outcome = e.strerror
        print(json.dumps([outcome, os.path.getsize("big.bin")]))
    """
    assert report(run(code, layout, replace(LIMITS, fsize_mb=1))) == ["File too large", 1 << 20]


def test_cpu_limit_kills_a_busy_loop(layout):
    """Killed after 1 s of CPU time (wall time depends on the machine's load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = run("while True: pass", layout, replace(LIMITS, cpu_s=1))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 128 + signal.SIGXCPU
    cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert 0.5 < cpu_s < 3  # the loop's second (counted in clock ticks), plus starting two Pythons


def test_killing_unshare_kills_the_whole_tree(layout):
    """Even processes that left the process group (new sessions, orphans) die with ``unshare``."""
    marker = "987.654321"  # `sleep` argument that identifies this test's processes
    code = f"""if 1:
        import os, subprocess, time
        for _ in range(3):
            subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
        child = os.fork()
        if child == 0:  # leaves an orphan, adopted by PID 1
            subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
            os._exit(0)
        os.waitpid(child, 0)
        print("ready", flush=True)
        time.sleep(1000)
    """
    cmd = wrap([sys.executable, "-c", code], LIMITS, layout)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        # the program and its 4 `sleep`s (a fresh exec shows its command line a moment later)
        deadline = time.monotonic() + 5
        while len(processes(UID, marker)) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(processes(UID, marker)) == 5
    finally:
        proc.kill()  # unshare only, as the grader does
        proc.wait()
        proc.stdout.close()
    assert wait_until_gone(UID, marker) == []


# --- a real Jupyter kernel through the sandbox -------------------------------------------------

@pytest.fixture
def kernel(tmp_path, work, layout):
    """A started KernelManager and client whose kernel runs sandboxed, over ipc sockets.

    The ipc sockets and the connection file live in a dir of the sandbox user: the kernel
    creates the sockets, and must read the connection file that Jupyter writes as 0600.
    As the grader does, matplotlib's font cache is put in the work dir (building it takes
    seconds), and the kernel's cgroups are removed once it is killed.
    """
    import matplotlib
    import matplotlib.font_manager  # noqa: F401  (builds the cache if missing)
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    runtime = tmp_path / "runtime"
    runtime.mkdir()
    os.chown(runtime, UID, UID)
    mpl = work / ".matplotlib"
    mpl.mkdir()
    for f in Path(matplotlib.get_cachedir()).glob("fontlist*.json"):
        shutil.copy(f, mpl / f.name)
    for path in [mpl, *mpl.iterdir()]:
        os.chown(path, UID, UID)
    layout = replace(layout, keep_rw=layout.keep_rw + (str(runtime),))
    argv = wrap([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], LIMITS, layout)
    spec_dir = tmp_path / "kernels" / "sandboxed"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "sandboxed",
                                                      "language": "python"}))
    km = KernelManager(kernel_name="sandboxed",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]),
                       transport="ipc", ip=str(runtime / "kernel"),
                       connection_file=str(runtime / "kernel.json"))
    km.write_connection_file()
    os.chown(km.connection_file, UID, UID)
    km.start_kernel(cwd=str(work), env={**os.environ, "MPLCONFIGDIR": str(mpl),
                                        "MPLBACKEND": "module://matplotlib_inline.backend_inline"})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield km, kc
    finally:
        kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        cleanup_cgroups()


def execute(kc, code, timeout=20, displayed=None):
    """Run one cell; return (reply content, stdout and stderr text). Display data go to ``displayed``."""
    out = []
    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "display_data" and displayed is not None:
            displayed.append(msg["content"]["data"])
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    return reply["content"], "".join(out)


def test_kernel_starts_and_runs_code_as_sandbox_user(kernel):
    _, kc = kernel
    reply, out = execute(kc, "import os; print(os.getuid())")
    assert reply["status"] == "ok" and out.strip() == str(UID)


def test_kernel_plots_inline(kernel):
    """A figure comes back as a PNG, with the font cache the grader copied in (not rebuilt)."""
    _, kc = kernel
    displayed = []
    reply, out = execute(kc, "import matplotlib.pyplot as plt; plt.plot([1, 2]); plt.show()", displayed=displayed)
    assert reply["status"] == "ok", reply
    assert [d for d in displayed if "image/png" in d], displayed
    assert "font cache" not in out


def test_kernel_with_numpy_and_matplotlib_fits_the_memory_limit(kernel):
    _, kc = kernel
    reply, out = execute(kc, "\n".join([
        "import numpy, matplotlib.pyplot as plt",
        "plt.plot(numpy.ones((200, 200)) @ numpy.ones(200)); plt.show()",
        "print(next(l for l in open('/proc/self/status') if l.startswith('VmPeak')).split()[1])",
    ]))
    assert reply["status"] == "ok", reply
    peak_mb = int(out) // 1024  # about 420 MB (1 GB without MALLOC_ARENA_MAX=2, see jail)
    assert peak_mb < Limits().memory_mb / 2


def test_interrupt_reaches_the_kernel_and_it_survives(kernel):
    km, kc = kernel
    # stop_on_error=False: otherwise the kernel also aborts requests arriving just after the error
    msg_id = kc.execute("print('looping', flush=True)\nwhile True: pass", stop_on_error=False)
    while True:  # wait until the loop runs, not just until the request arrived
        msg = kc.get_iopub_msg(timeout=20)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            break
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    assert km.is_alive()
    reply, out = execute(kc, "print(6 * 7)")
    assert out.strip() == "42", reply


def test_kernel_shutdown_leaves_nothing_running(kernel):
    km, kc = kernel
    execute(kc, "import subprocess; subprocess.Popen(['sleep', '876.54321'], start_new_session=True)")
    tree = descendants(km.provisioner.pid)
    assert len(tree) >= 3 and len(processes(UID, "sleep 876.54321")) == 1  # jail, kernel, sleep
    km.shutdown_kernel(now=True)
    deadline = time.monotonic() + 5
    while (alive := [p for p in tree if is_alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive == []
