"""Benchmarks of course_lib, reported as ratios against baselines measured in the same run.

    make bench            (or: .venv/bin/python bench/run.py [--quick])

Sections:
1. One training step (forward + backward) of a 64-128-64-10 sigmoid/softmax
   network at batch 256, float64: course_lib against PyTorch CPU (when the
   optional extra is installed), a plain straightforward numpy version, and
   the machine's matmul floor (the step's multiply-adds at the best matmul
   rate this machine reaches in this run).
2. Gradient checking that network: every element by centered differences
   against the random-direction check.
3. Import time of course_lib, against numpy's.
4. Each instructor notebook: execution time against a bare kernel start, points, planted bugs.
5. Grading (bench/grade.py, also runnable alone): `course grade` against
   plain `nbgrader autograde`, against itself with kernels started the usual
   way and against the floor (plain nbclient kernels) on 20 submissions of
   notebook 02, and its overhead per submission beyond a plain kernel
   executing the same notebook.
6. A whole course (bench/course.py, also runnable alone): every notebook × 20
   submissions, nbgrader against course grade, the floor and the student code
   itself; and the start-up of `course grade`.

Contenders are timed in alternating rounds (A, B, C, A, B, C, ...) and each
reports its median, so drift of the machine affects all of them alike; the
training-step contenders each run in a fresh process of their own.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.key import gradcheck, network  # noqa: E402

SIZES = [64, 128, 64, 10]
BATCH = 256
CHECK_BATCH = BATCH  # the same batch as the training step


# ------------------------------------------------------------------ timing


def _per_call(fn, seconds):
    """Seconds per call of fn, from a loop that runs about ``seconds``."""
    n, t = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - start
        if t >= seconds:
            return t / n
        n *= 2 if t < seconds / 4 else max(2, int(seconds / max(t, 1e-9) * n) // n)


def interleaved(contenders, rounds=7, seconds=0.25):
    """{name: median seconds per call} over interleaved rounds."""
    for fn in contenders.values():  # warm-up: caches, BLAS threads, allocator
        _per_call(fn, seconds / 2)
    samples = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            samples[name].append(_per_call(fn, seconds))
    return {name: statistics.median(v) for name, v in samples.items()}


# --------------------------------------------------------- training step


def _problem(n):
    rng = np.random.default_rng(0)
    params = network.init_params(SIZES, init="xavier", seed=0)
    return params, rng.normal(size=(n, SIZES[0])), rng.integers(0, SIZES[-1], n)


def plain_numpy_step(params, X, y):
    """The straightforward version a student would write first (the calibration row)."""
    As, Zs = [X], []
    for l, (W, b) in enumerate(params):
        Z = As[-1] @ W.T + b
        Zs.append(Z)
        if l < len(params) - 1:
            As.append(1 / (1 + np.exp(-np.clip(Z, -500, 500))))
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = e / e.sum(axis=1, keepdims=True)
    N = len(X)
    loss = -np.mean(np.log(P[np.arange(N), y]))
    dZ = (P - np.eye(P.shape[1])[y]) / N
    grads = []
    for l in range(len(params) - 1, -1, -1):
        grads.append((dZ.T @ As[l], dZ.sum(axis=0)))
        if l > 0:
            dZ = (dZ @ params[l][0]) * As[l] * (1 - As[l])
    return loss, grads[::-1]


def _torch_step():
    try:
        import torch
    except ImportError:
        return None, None
    torch.manual_seed(0)
    params, X, y = _problem(BATCH)
    layers = []
    for l, (W, b) in enumerate(params):
        lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if l < len(params) - 1:
            layers.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*layers)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model(Xt), yt)
        loss.backward()
        return loss

    # Same numbers as course_lib: a benchmark of a different computation would mean nothing.
    step()
    ours, grads = network.loss_and_grads(params, X, y)
    assert abs(float(step().detach()) - ours) < 1e-12
    assert np.allclose(model[0].weight.grad.numpy(), grads[0][0], rtol=1e-9, atol=1e-15)
    return step, f"PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads"


def step_flops(n):
    """Multiply-adds ×2 of the step: forward Z's, backward dW's, backward dA's (not into X)."""
    pairs = list(zip(SIZES[:-1], SIZES[1:]))
    forward = sum(2 * n * i * o for i, o in pairs)
    d_weights = forward
    d_inputs = sum(2 * n * i * o for i, o in pairs[1:])
    return forward + d_weights + d_inputs


def matmul_rate(seconds):
    """Best float64 matmul rate of this machine, FLOP/s (1024³, all BLAS threads)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(1024, 1024)), rng.normal(size=(1024, 1024))
    best = min(_per_call(lambda: a @ b, seconds) for _ in range(5))
    return 2 * 1024**3 / best


def _step_contender(key):
    """The step function of one contender, built from scratch (in its own process)."""
    if key == "pytorch":
        return _torch_step()[0]
    params, X, y = _problem(BATCH)
    if key == "course_lib":
        return lambda: network.loss_and_grads(params, X, y)
    return lambda: plain_numpy_step(params, X, y)


def _time_one_step(key, seconds):
    """Child-process entry: seconds per call of one contender (after a warm-up)."""
    fn = _step_contender(key)
    _per_call(fn, seconds / 2)
    return statistics.median(_per_call(fn, seconds / 3) for _ in range(3))


def bench_step(quick):
    """Each contender runs in a process of its own, alternating over rounds.

    In one process they would disturb each other: after an operation,
    PyTorch's OpenMP threads and OpenBLAS's threads keep spinning for a while
    and take the cores from whatever runs next.
    """
    params, X, y = _problem(BATCH)
    ours, grads = network.loss_and_grads(params, X, y)
    plain, plain_grads = plain_numpy_step(params, X, y)
    assert abs(ours - plain) < 1e-12 and np.allclose(grads[0][0], plain_grads[0][0], rtol=1e-9, atol=1e-15)
    names = {"course_lib": "course_lib.key.network.loss_and_grads", "plain": "plain numpy (straightforward)"}
    torch_step, torch_label = _torch_step()  # also checks PyTorch computes the same numbers
    if torch_step is not None:
        names["pytorch"] = torch_label
    seconds = 0.3 if quick else 1.0
    samples = {key: [] for key in names}
    for _ in range(2 if quick else 5):
        for key in names:
            out = subprocess.run([sys.executable, __file__, "--time-step", key, "--seconds", str(seconds)],
                                 check=True, capture_output=True, text=True, cwd=ROOT).stdout
            samples[key].append(float(out.split()[-1]))
    times = {names[key]: statistics.median(v) for key, v in samples.items()}
    rate = matmul_rate(0.1 if quick else 0.3)
    floor = step_flops(BATCH) / rate
    ours_t = times["course_lib.key.network.loss_and_grads"]
    rows = [(name, t, t / ours_t) for name, t in times.items()]
    rows.append((f"matmul floor ({step_flops(BATCH) / 1e6:.1f} MFLOP at {rate / 1e9:.1f} GFLOP/s)", floor, floor / ours_t))
    return rows, len(names) == 3


# ------------------------------------------------------- gradient check


def bench_gradcheck(quick):
    params, X, y = _problem(CHECK_BATCH)
    params = [(W.copy(), b.copy()) for W, b in params]
    _, grads = network.loss_and_grads(params, X, y)
    flat_p = [a for layer in params for a in layer]
    flat_g = [a for layer in grads for a in layer]
    n_params = sum(a.size for a in flat_p)

    start = time.perf_counter()
    report = gradcheck.check_network_gradients(params, X, y, grads=grads)
    full = time.perf_counter() - start
    assert report.ok, str(report)

    directional = interleaved(
        {"dir": lambda: gradcheck.directional_check(lambda: network.loss_value(params, X, y), flat_p, flat_g)},
        rounds=3, seconds=0.1,
    )["dir"]
    err, _ = gradcheck.directional_check(lambda: network.loss_value(params, X, y), flat_p, flat_g)
    return [
        (f"per element: {n_params:,} params, {2 * n_params:,} losses (max err {report.max_error:.0e})", full, 1.0),
        (f"random direction: 3 directions, 6 losses (rel. error {err:.1e})", directional, directional / full),
    ], full


# ----------------------------------------------------------------- import


def _import_seconds(module, runs):
    """Median cumulative import time of ``module`` in fresh interpreters (python -X importtime)."""
    times = []
    for _ in range(runs):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                             check=True, cwd=ROOT, capture_output=True, text=True).stderr
        for line in err.splitlines():
            parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
            if len(parts) == 3 and parts[2] == module:
                times.append(int(parts[1]) * 1e-6)  # cumulative µs, this module and all it imports
    return statistics.median(times)


def bench_import(quick):
    runs = 5 if quick else 11
    rows = [(label, _import_seconds(module, runs)) for label, module in [
        ("import numpy (baseline)", "numpy"),
        ("import course_lib (submodules load lazily)", "course_lib"),
        ("import course_lib.key.network (numpy included)", "course_lib.key.network"),
        ("import course_lib.plots (matplotlib included)", "course_lib.plots"),
    ]]
    base = rows[0][1]
    return [(label, t, t / base) for label, t in rows]


# --------------------------------------------------------------- notebooks


def _execute_seconds(nb):
    import tempfile

    from nbclient import NotebookClient

    from course_lib.cli import ipc_kernel_config

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        NotebookClient(nb, kernel_name="python3", timeout=600, config=ipc_kernel_config(tmp),
                       resources={"metadata": {"path": nb.metadata.get("_dir", str(ROOT))}}).execute()
        return time.perf_counter() - start


def bench_notebooks():
    """Per instructor notebook: seconds to execute it (kernel start included), its ratio to a bare kernel's,
    its points and its planted bugs (tests/mutants, each proved to lose points by the test suite)."""
    import nbformat

    sys.path.insert(0, str(ROOT / "tests"))
    from mutants import all_mutants

    planted = all_mutants()
    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    baseline = min(_execute_seconds(empty) for _ in range(3))
    rows = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nb.metadata["_dir"] = str(path.parent)
        points = sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells)
        t = _execute_seconds(nb)
        rows.append((path.parent.name, t, t / baseline, points, len(planted.get(path.parent.name, []))))
    return rows, baseline


# ------------------------------------------------------------------ report


def _fmt(seconds):
    if seconds >= 1:
        return f"{seconds:8.2f} s "
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds * 1e6:8.1f} µs"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing loops (for a smoke test)")
    parser.add_argument("--time-step", choices=["course_lib", "plain", "pytorch"], help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_step:
        print(_time_one_step(args.time_step, args.seconds))
        return 0

    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)" for i in threadpool_info())
    except Exception:  # pragma: no cover - informational only
        blas = "unknown"
    print(f"Backprop Workbook benchmark · Python {platform.python_version()} · numpy {np.__version__} · "
          f"{os.cpu_count()} cores · BLAS: {blas}")

    step_rows, have_torch = bench_step(args.quick)
    print(f"\n1. Training step (forward + backward), {'-'.join(map(str, SIZES))} sigmoid/softmax, "
          f"batch {BATCH}, float64")
    print(f"   {'':<62} {'time':>11}   ratio to course_lib")
    for name, t, r in step_rows:
        print(f"   {name:<62} {_fmt(t):>11}   {r:5.2f}")
    if not have_torch:
        print("   PyTorch: not installed, column skipped (add it with: .venv/bin/pip install -e '.[torch]')")

    check_rows, _ = bench_gradcheck(args.quick)
    print(f"\n2. Gradient check of the same network, batch {CHECK_BATCH}")
    print(f"   {'':<62} {'time':>11}   ratio to per-element")
    for name, t, r in check_rows:
        print(f"   {name:<62} {_fmt(t):>11}   {r:7.4f}")

    import_rows = bench_import(args.quick)
    print("\n3. Import time (python -X importtime, cumulative, median of fresh interpreters)")
    print(f"   {'':<62} {'time':>11}   ratio to numpy")
    for name, t, r in import_rows:
        print(f"   {name:<62} {_fmt(t):>11}   {r:5.2f}")

    nb_rows, baseline = bench_notebooks()
    print(f"\n4. Instructor notebooks, executed top to bottom with nbclient (a bare kernel start and one cell: "
          f"{_fmt(baseline).strip()})")
    print(f"   {'':<62} {'time':>11}   ratio to bare kernel   points   planted bugs")
    for name, t, r, points, bugs in nb_rows:
        print(f"   {name:<62} {_fmt(t):>11}   {r:20.1f}   {points:6g}   {bugs:12d}")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import grade

    grade.section(args.quick, number=5)
    import course

    course.section(args.quick, number=6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
