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
import time
from dataclasses import replace
from pathlib import Path

import pytest

import course_lib
from course_lib.grading.sandbox import Layout, Limits, default_layout, probe, unsafe_wrap, wrap

if os.geteuid() != 0 or shutil.which("unshare") is None:
    pytest.skip("the sandbox needs root and util-linux's `unshare`", allow_module_level=True)

UID = Limits().uid
REPO = Path(course_lib.__file__).resolve().parents[1]


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


def run(code, layout, limits=Limits(), env=None, timeout=120):
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


def test_probe_describes_the_isolation():
    assert "namespaces" in probe() and f"uid {UID}" in probe()


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


def test_hidden_files_unreadable_kept_files_visible(tmp_path, work, layout):
    course = tmp_path / "course"
    course.mkdir()
    (course / "secret.txt").write_text("the answers")
    shared = course / "shared.txt"
    shared.write_text("for everyone")
    shared.chmod(0o666)  # so only the read-only mount can refuse a write
    layout = replace(layout, hide=layout.hide + (str(course),), keep_ro=layout.keep_ro + (str(shared),))
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
        ]))
    """
    secret, shared_read, shared_write, work_write = report(run(code, layout))
    assert secret == "FileNotFoundError"
    assert shared_read == "for everyone"
    assert shared_write == "OSError"  # EROFS
    assert work_write == 2 and (work / "written.txt").stat().st_uid == UID
    assert shared.read_text() == "for everyone"


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


def test_course_dir_hidden_but_course_lib_importable(work):
    """The grader hides the whole course dir (solutions/, tests/); the kernel still imports course_lib."""
    layout = default_layout(work, work, extra_hide=(REPO,))
    code = f"""if 1:
        import json, os
        import course_lib.activations
        read_only = bool(os.statvfs(os.path.dirname(course_lib.__file__)).f_flag & os.ST_RDONLY)
        print(json.dumps([sorted(os.listdir({str(REPO)!r})), os.listdir("/root"), read_only]))
    """
    repo_entries, root_entries, package_read_only = report(run(code, layout))
    assert "course_lib" in repo_entries
    assert not {"solutions", "tests", "notebooks", "gradebook.db"} & set(repo_entries)
    assert all(Path(sys.base_prefix).is_relative_to(f"/root/{e}") for e in root_entries)
    assert package_read_only


def test_memory_limit_raises_memory_error_and_numpy_fits(layout):
    """A kernel-like process (numpy, matplotlib, a plot) fits in the default limit; more does not."""
    limits = Limits()
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
    limits = replace(Limits(), nproc=16, uid=61234, gid=61234)
    forked, outcome = report(run(code, layout, limits))
    assert outcome == "BlockingIOError" and forked < 16


def test_file_size_limit(work, layout):
    code = """if 1:
        import json
        try:
            with open("big.bin", "wb") as f:
                f.write(bytes(2 << 20))
            outcome = "written"
        except OSError as e:
            outcome = e.strerror
        print(json.dumps(outcome))
    """
    assert report(run(code, layout, replace(Limits(), fsize_mb=1))) == "File too large"
    assert (work / "big.bin").stat().st_size == 1 << 20


def test_cpu_limit_kills_a_busy_loop(layout):
    """Killed after 1 s of CPU time (wall time depends on the machine's load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = run("while True: pass", layout, replace(Limits(), cpu_s=1))
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
    cmd = wrap([sys.executable, "-c", code], Limits(), layout)
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
    """
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    runtime = tmp_path / "runtime"
    runtime.mkdir()
    os.chown(runtime, UID, UID)
    layout = replace(layout, keep_rw=layout.keep_rw + (str(runtime),))
    argv = wrap([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], Limits(), layout)
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
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield km, kc
    finally:
        kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)


def execute(kc, code, timeout=20):
    """Run one cell; return (reply content, stdout text)."""
    out = []
    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    return reply["content"], "".join(out)


def test_kernel_starts_and_runs_code_as_sandbox_user(kernel):
    _, kc = kernel
    reply, out = execute(kc, "import os; print(os.getuid())")
    assert reply["status"] == "ok" and out.strip() == str(UID)


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
