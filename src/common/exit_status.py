"""The exit status by which grader.py says it could not grade at all, for the programs that run
it: run_autograder, the course's builders and check_env's callers read it here.

It imports nothing: run_autograder reads it from the bundle before it knows which packages
are there.
"""

# grader.py could not start its sandbox on this machine (its one line on standard error says
# why): a problem of the set-up, not a score. run_autograder passes it on and writes no
# results; make release and make autograder write nothing.
SETUP_PROBLEM = 3
