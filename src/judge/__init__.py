"""The judge's side of grading: reference computations, checks and known mistakes, the
given-code comparison, the written answers' checks, and the points. Only the grader process
imports this package; the submission's code never runs beside it (see ``sandbox/``)."""
