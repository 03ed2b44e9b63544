"""Engineering tests of the trainers, the data and the command line (``python -m tests``)."""
