"""What the course builds and ships: the students' release, the Gradescope bundle and its
scripts (``gradescope/``), the students' hand-in, and the environment check."""
