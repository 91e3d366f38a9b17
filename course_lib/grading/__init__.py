"""``course grade``: parallel, sandboxed, tamper-proof autograding built on nbgrader.

Modules, one job each:

* ``sandbox`` / ``jail`` — run a kernel isolated: namespaces, an unprivileged
  user, a root file system of its own (system, Python, course_lib; read-only),
  a size-limited work dir, rlimits and per-sandbox cgroups.
* ``kernels`` — a worker's kernels: one grades while the next one boots.
* ``scan`` — signs of tampering in the student's code, read by the grader.
* ``wire`` — the plain-data codec between the grader and a sandboxed kernel.
* ``agent`` — the side of the protocol that runs inside the student's kernel.
* ``replay`` — runs the hidden tests in the grader's own process, with the
  student's functions called through the kernel.
* ``submissions`` — finds submissions (nbgrader layout, LMS files, zips).
* ``worker`` — grades one submission.
* ``batch`` — many submissions: processes or Dask, one writer, resume.
* ``report`` / ``feedback`` — grades.csv, report.html, per-student feedback.
"""
