"""The judge's side of grading, the machinery under grader.py and graderUtil.py: declaring tests
(declare), running them (run, grading), reports and Gradescope's results (report, gradescope),
the sandbox's client (client, answers, launch), the checks the graders share (common), the
given-code comparison, the written answers' checks, and the points. The full grader's reference
computations, known mistakes and notes (flow_references, gan_references, mistakes, loss_cases,
notes, course_masks) ship in the Gradescope bundle only, never to students
(course/manifest.py's JUDGE_ONLY). The graders and the course's tools import this package; the
submission's code never runs beside it (see ``sandbox/``)."""
