"""The exit statuses of grader.py other than its verdicts (0: every test passed, 1: some did
not), for the programs that run it: run_autograder, the course's builders and check_env's
callers read SETUP_PROBLEM here.

It imports nothing: run_autograder reads it from the bundle before it knows which packages
are there.
"""

# grader.py could not start its sandbox on this machine (its one line on standard error says
# why): a problem of the set-up, not a score. run_autograder passes it on and writes no
# results; make release and make autograder write nothing.
SETUP_PROBLEM = 3

# The command line names a test that does not exist (the status argparse gives a command line
# it refuses); the valid test ids are listed on standard error.
USAGE = 2

# Stopped by an interrupt (Ctrl-C): 128 + SIGINT, as a shell reports a process that signal
# ended. main.py's training returns it too.
INTERRUPTED = 130
