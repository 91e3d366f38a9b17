"""Fixtures of the browser tests: JupyterLab servers, Debian's Chromium, one page per test.

- ``student_lab``: JupyterLab started the way ``make lab`` starts it (``jupyter lab
  --ServerApp.root_dir=notebooks --ServerApp.allow_root=True``), on a copy of the student
  notebooks in a temporary folder, so no test changes the repository's files;
- ``course_lab``: JupyterLab on a temporary copy of the nbgrader course (nbgrader_config.py,
  solutions/, notebooks/ and a gradebook made by ``python -m course_lib.grading.release``), started in
  that folder: nbgrader's formgrader and Validate button read nbgrader_config.py from there;
- ``student_page`` / ``course_page``: a fresh browser context with JupyterLab open on that server.

Each server gets a free loopback port, a token, and Jupyter's config, data, runtime, settings and
workspace directories in its temporary folder (extensions and kernelspecs still come from the
virtual environment's share/jupyter). A failing test leaves a screenshot in its tmp folder.

Playwright drives /usr/bin/chromium (Playwright's own browser download cannot reach its servers
here). Without it the tests are skipped with a loud message, except under CI, where they fail.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TIMEOUT_MS = 30_000  # any single wait in a page (kernel start, a cell, a dialog)
STARTUP_S = 60  # a server answering /api/status
VALIDATED = "02_sigmoid_gates"  # the assignment whose notebooks the Validate tests write
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
MISSING = (f"{CHROMIUM} is missing: the browser tests (tests/browser) cannot run. "
           "Install Chromium with `sudo apt-get install chromium` (`make test` does it by itself as root).")


# ------------------------------------------------------------------ servers


class Lab:
    """A JupyterLab server started by a test, stopped by its process id."""

    def __init__(self, folder, cwd, root_dir, jupyter=None, env=None):
        """``jupyter``: the command that starts it (default: this venv's `jupyter lab --ServerApp.root_dir=...`);
        ``env``: the environment (default: ``jupyter_env(folder)``)."""
        self.folder, self.root = Path(folder), Path(cwd) / root_dir
        self.token = secrets.token_hex(16)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = self.folder / "server.log"
        news = self.folder / "jupyter/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
        news.parent.mkdir(parents=True)
        news.write_text('{"fetchNews": "false"}')  # no "get notified about Jupyter news?" toast over the page
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [*(jupyter or [BIN / "jupyter", "lab", f"--ServerApp.root_dir={root_dir}"]), "--ServerApp.allow_root=True",
                 "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                 "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}", "--LabApp.news_url=None"],
                cwd=cwd, env=env or jupyter_env(self.folder), stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path}"

    def api(self, path, method="GET"):
        request = urllib.request.Request(self.url(f"api/{path}"), method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def _wait_until_up(self):
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {self.process.returncode}:\n{self.log.read_text()}")
            try:
                self.api("status")
                return
            except urllib.error.HTTPError as error:
                error.close()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)  # polling interval, not a wait for something to happen
        pytest.fail(f"JupyterLab did not answer /api/status within {STARTUP_S} s:\n{self.log.read_text()}")

    def shutdown_kernels(self):
        """Shut down every kernel, so the next test starts from fresh ones."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def stop(self):
        self.process.terminate()  # SIGTERM: the server shuts its kernels down, then exits
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def jupyter_env(folder):
    """The environment of a server: Jupyter's own directories in ``folder``, the venv's bin first on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # kernels keep the inline backend
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs alembic by name
    for name, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                      ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                      ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]:
        env[name] = str(Path(folder) / "jupyter" / sub)
    return env


@pytest.fixture(scope="session")
def student_lab(browser, tmp_path_factory):
    """`make lab`: JupyterLab on (a copy of) the student notebooks."""
    folder = tmp_path_factory.mktemp("student_lab")
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    lab = Lab(folder, cwd=folder, root_dir="notebooks")
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def bundle_lab(browser, student_folder, tmp_path_factory):
    """The student bundle's README, second command: `.venv/bin/jupyter lab notebooks/`, in the student's own
    virtual environment (made by the README's first command, outside the repository)."""
    from student_bundle import STUDENT_ENV, readme_commands

    folder = tmp_path_factory.mktemp("bundle_lab")
    _, command, *_ = readme_commands((student_folder / "README.md").read_text())
    env = {**jupyter_env(folder), "PATH": STUDENT_ENV["PATH"]}  # Jupyter's dirs in folder, nothing of this repo
    lab = Lab(folder, cwd=student_folder, root_dir="notebooks", jupyter=command.split(), env=env)
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def course_lab(browser, tmp_path_factory):
    """JupyterLab on a temporary nbgrader course: the instructor's view, with formgrader."""
    folder = tmp_path_factory.mktemp("course_lab")
    course = folder / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for sub in ("solutions", "notebooks"):
        shutil.copytree(ROOT / sub, course / sub)
    # The gradebook, with the assignment Validate is tried on (formgrader lists every source folder
    # anyway; each assignment released costs seconds).
    release = subprocess.run([sys.executable, "-m", "course_lib.grading.release", "--course", str(course), VALIDATED],
                             cwd=course, env=jupyter_env(folder), capture_output=True, text=True)
    assert release.returncode == 0, release.stdout + release.stderr
    lab = Lab(folder, cwd=course, root_dir=course)
    yield lab
    lab.stop()


# ------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        (pytest.fail if IN_CI else pytest.skip)(f"*** {MISSING} ***")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # expect() has its own 5 s default
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, lab, request, tmp_path):
    """A new browser context with JupyterLab loaded (fresh workspace); kernels shut down afterwards."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    request.node.browser_page = page, tmp_path / "screenshot.png"  # for the screenshot on failure
    try:
        page.goto(lab.url(f"lab?reset&token={lab.token}"))
        expect(page.locator(".jp-DirListing-content")).to_be_visible()
    except Exception:
        _screenshot(page, tmp_path / "screenshot.png")
        context.close()
        raise
    yield page
    context.close()
    lab.shutdown_kernels()


@pytest.fixture
def student_page(browser, student_lab, request, tmp_path):
    yield from _page(browser, student_lab, request, tmp_path)


@pytest.fixture
def bundle_page(browser, bundle_lab, request, tmp_path):
    yield from _page(browser, bundle_lab, request, tmp_path)


@pytest.fixture
def course_page(browser, course_lab, request, tmp_path):
    yield from _page(browser, course_lab, request, tmp_path)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A screenshot of the page of every failing test, saved in the test's tmp folder."""
    report = (yield).get_result()
    page, path = getattr(item, "browser_page", (None, None))
    if report.failed and page is not None and not page.is_closed():
        _screenshot(page, path)
        report.sections.append(("browser screenshot", str(path)))


def _screenshot(page, path):
    page.screenshot(path=path, full_page=True)
    print(f"\nscreenshot of the failing page: {path}", file=sys.stderr)


def pytest_terminal_summary(terminalreporter):
    if not CHROMIUM.exists() and not IN_CI:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(MISSING, red=True, bold=True)
