"""``course grade``: parallel, sandboxed, tamper-proof autograding built on nbgrader.

Modules, one job each:

* ``sandbox`` / ``jail`` — run a kernel isolated: namespaces, an unprivileged
  user, a root file system of its own (system, Python, course_lib; read-only),
  a size-limited work dir, rlimits and per-sandbox cgroups.
* ``kernels`` — a worker's kernels: one grades while the next one boots.
* ``rules`` — what of a course's nbgrader configuration changes grading (its
  hidden-test markers, cell time limit, ignored stderr).
* ``titles`` — how a notebook names its exercises ("Exercise 4 · f").
* ``scan`` — signs of tampering in the student's code, read by the grader.
* ``wire`` — the plain-data codec between the grader and a sandboxed kernel.
* ``agent`` — the side of the protocol that runs inside the student's kernel.
* ``replay`` — runs the hidden tests in the grader's own process, with the
  student's functions called through the kernel.
* ``submissions`` — finds submissions (nbgrader layout, LMS files, zips).
* ``worker`` — grades one submission.
* ``batch`` — many submissions: processes or Dask, one writer, resume.
* ``records`` — reading a record: an exercise's outcome, who grades it, its
  title, a score as text.
* ``triage`` — what happened to a submission and what to do; which
  submissions need a look first.
* ``diagnostics`` — failure messages grouped by their wording, a formula's
  constants kept.
* ``report`` — grades.csv and report.html, with its charts.
* ``mathml`` — TeX to MathML, safe to insert into the student's sanitized HTML.
* ``feedback`` — the per-student feedback pages: sanitizing and rendering.
* ``lms`` — grades as Canvas or Moodle import them.
* ``release`` / ``bundle`` — the student notebooks (nbgrader's generate_assignment)
  and what students receive.
* ``mistakes`` — writes the catalogue of mistakes the check cells name.
* ``load`` — whether a cell that ran out of time was held back by the machine.
"""
