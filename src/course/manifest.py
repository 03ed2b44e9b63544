"""Which files ship where: the one list that the release, the bundle, the hand-in,
run_autograder and the tests read. Paths are relative to ``src/`` unless said otherwise.

To ship a new file, add it here (and nowhere else): to ``GRADER`` if the grader needs it to
run, to ``TRAINING`` if the students' copy needs it to train or evaluate.
"""

# The points of every test (the students' copy holds its own, without the hidden tests' names)
POINTS = "judge/points.json"

# The files of the student's package, the only files a hand-in holds (under ``submission/``)
HAND_IN = ("__init__.py", "flow_network.py", "gan.py")
# The most bytes of one of them that is taken: run_autograder's intake of an upload and the
# judge's reading of the package folder take no more
MAX_HAND_IN_FILE = 2**20

# The modules that only the full grader.py imports: its reference computations, known mistakes
# and what a test compares with. In the bundle (they are in GRADER), never in the students' copy.
JUDGE_ONLY = (
    "judge/course_masks.py",
    "judge/flow_references.py",
    "judge/gan_references.py",
    "judge/loss_cases.py",
    "judge/mistakes.py",
    "judge/notes.py",
)

# What the grader needs to run: the judge, the sandbox, the networks the tests name, the
# helpers both use. The Gradescope bundle holds these, the students' copy holds them with its
# own grader.py and points, the tests' copies of the grader hold them with the written checks.
GRADER = (
    "grader.py",
    "graderUtil.py",
    "network.py",
    "common/__init__.py",
    "common/blocks.py",
    "common/exit_status.py",
    "common/files.py",
    "common/jacobians.py",
    "common/processes.py",
    "common/safe_text.py",
    "common/stand_ins.py",
    "judge/__init__.py",
    "judge/answers.py",
    "judge/client.py",
    "judge/common.py",
    "judge/declare.py",
    "judge/given_code.py",
    "judge/gradescope.py",
    "judge/grading.py",
    "judge/launch.py",
    "judge/points.json",
    "judge/report.py",
    "judge/run.py",
    *JUDGE_ONLY,
    "sandbox/__init__.py",
    "sandbox/calls.py",
    "sandbox/confine.py",
    "sandbox/protocol.py",
    "sandbox/server.py",
    "course/__init__.py",
    "course/manifest.py",
)
# The checks of the written answers: local grading only (they need scipy, which Gradescope's
# environment need not have; they carry no points).
WRITTEN_CHECKS = "judge/written_checks.py"

# The data files the course's builders write beside the grader (under src/ in the release, at
# the top of the bundle): the starter's text with its blocks emptied (release and bundle), the
# basic tests' cases and the hidden tests' descriptions (release), the versions of the
# packages that Gradescope installs (bundle; setup.sh names it too)
GIVEN_CODE_FILE = "given_code.json"
BASIC_TESTS_FILE = "basic_tests.pt"
HIDDEN_TESTS_FILE = "hidden_tests.json"
LOCK_FILE = "requirements.lock"

# Gradescope's two scripts: name in the bundle -> path here. The bundle also holds GRADER at
# the same paths, and what make_autograder writes beside them (its WRITTEN: GIVEN_CODE_FILE,
# LOCK_FILE).
GRADESCOPE = {"setup.sh": "course/gradescope/setup.sh",
              "run_autograder": "course/gradescope/run_autograder"}

# What the students' copy holds besides the grader, as it is (paths from the repository's root)
TRAINING = (
    ".gitignore",
    "src/requirements.txt",
    "src/environment.yml",
    "src/main.py",
    "src/evaluate.py",
    "src/training/__init__.py",
    "src/training/classifier.py",
    "src/training/data.py",
    "src/training/flow_trainer.py",
    "src/training/gan_trainer.py",
    "src/training/plots.py",
    "src/training/utils.py",
    "src/training/fmnist_classifier.pt",
    "src/training/fmnist_classifier.json",
    "src/training/results/one_epoch.json",
    "src/training/results/flow_default.json",
    "src/course/check_env.py",
    "src/course/make_submission.py",
    "src/submission/__init__.py",
)
# Written for students: path in the release -> path here (from the repository's root)
STARTER = {"README.md": "src/course/starter/README.md",
           "src/grader.py": "src/course/starter/grader.py"}
# Copied with every START/END block's code replaced by a NotImplementedError
BLANKED = ("src/submission/flow_network.py", "src/submission/gan.py")
# Written by the release builder: the students' grader's data (under src/)
RELEASE_DATA = (GIVEN_CODE_FILE, BASIC_TESTS_FILE, HIDDEN_TESTS_FILE, POINTS)


def release_copied() -> list[str]:
    """The files the release copies as they are (paths from the repository's root): the
    training files and the grader's, less those the students' copy has its own of and those of
    the full grader alone (JUDGE_ONLY)."""
    own = {"grader.py", POINTS, *JUDGE_ONLY}
    return [*TRAINING, *(f"src/{path}" for path in GRADER if path not in own)]
