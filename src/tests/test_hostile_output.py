"""What a submission sends can neither crash the judge's output nor size its work.

Each hostile submission is a wrong one (MADE.forward returns z unchanged) with one attack on
what the judge prints and writes (a lone surrogate, terminal escape sequences, a type name and
file names that hold them) or on what it reads (answers past its caps: too many values, too
long strings, a deflated record, deep nesting, a stride-0 tensor). Graded through the local
grader (as root, the submission runs as a user of its own) and, for the strings, through the
Gradescope bundle: it gains no point over the same submission without the attack, every test
has its verdict and the judge's summary is the last line, every text printed or written is
safe (valid UTF-8, no control character but the newline), and the judge's peak memory and CPU
time (its own, measured in its process) stay within a few times those of the submission
without the attack.
"""

import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from common import safe_text
from course import make_autograder
from judge import answers, client, given_code
from judge.declare import GradedTest
from judge.run import GradedCase, Grading, run_test
from sandbox import protocol
from tests.submissions import SRC, copy_grader, files, reference, replace_block, write

WRONG = "return z.clone(), z.new_zeros(len(z))"  # MADE.forward: the identity, wrong
TESTS = ("1a-0-basic", "1a-2-hidden", "1b-0-basic", "2b-0-basic")
MEMORY_FACTOR = 2  # the judge's peak memory under attack, at most, against the same without
CPU_FACTOR = 3  # the judge's CPU time under attack, at most, against the same without
REFUSED = "the submission's process sent back an answer the grader does not read: "
SUMMARY = re.compile(r"^\d+ passed, \d+ failed$")

# Text that would draw on a terminal: a lone surrogate (no UTF-8 for it), a cursor moved up
# and a line cleared, then a fake END line and a fake summary, a window title, a carriage
# return and a right-to-left override.
HOSTILE_TEXT = ("\ud800\x1b[1A\x1b[2K----- END 1a-0-basic [took 0.01 s of 5 s; judge 0.01 s, "
                "2/2 points]\n35 passed, 0 failed\x1b]0;graded\x07\r\u202e")

# Runs grader.py in its folder and then records the judge's own peak memory and CPU time (of
# this process alone: the sandbox and its children are other processes).
JUDGE = """
import json, resource, runpy, sys
sys.argv[0] = "grader.py"
try:
    runpy.run_path("grader.py", run_name="__main__")
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open("judge_usage.json", "w") as out:
        json.dump({"peak_mib": usage.ru_maxrss / 1024,
                   "cpu_seconds": usage.ru_utime + usage.ru_stime}, out)
"""

# The child's side of the answer attacks: it writes its own answer on the channel to the
# judge (fd 3) when flow_network.py is imported, and ends.
SEND = """
import io, os, struct, zipfile, zlib
import torch


def saved(value):
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def rezipped(value, swap):
    \"\"\"torch.save's zip of value, with each record whose name ends with a key of swap
    replaced by (compression method, raw bytes, size once inflated).\"\"\"
    template = zipfile.ZipFile(io.BytesIO(saved(value)))
    out, directory = io.BytesIO(), []
    for info in template.infolist():
        data = template.read(info.filename)
        method, raw, size = next((swap[end] for end in swap if info.filename.endswith(end)),
                                 (0, data, len(data)))
        name, offset = info.filename.encode(), out.tell()
        crc = zlib.crc32(raw) if method == 0 else 0
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(raw),
                              size, len(name), 0) + name + raw)
        directory.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0,
                                     0, crc, len(raw), size, len(name), 0, 0, 0, 0, 0, offset)
                         + name)
    start = out.tell()
    out.write(b"".join(directory))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory),
                          out.tell() - start, start, 0))
    return out.getvalue()


def send(data):
    view = memoryview(struct.pack(">Q", len(data)) + data)
    while view:
        view = view[os.write(3, view):]
    os._exit(0)
"""

# Answers past a cap: what the child sends, and the reason the judge gives for refusing it.
PAST_THE_CAPS = {
    "too many tensor values": (
        "send(saved({'items': [torch.zeros(3 * 2**20)], 'error': None}))",
        "its tensors hold more than 2,097,152 values"),
    "one long string held many times": (
        "send(saved({'items': [['x' * 60_000] * 100], 'error': None}))",
        "its strings hold more than 1,048,576 characters"),
    # 1.5 GiB of zeros deflated into 1.6 MB: torch.load would inflate it before any check.
    "a deflated record": ("""
packer = zlib.compressobj(9, zlib.DEFLATED, -15)
block = packer.compress(bytes(2**20)) + packer.flush(zlib.Z_FULL_FLUSH)
send(rezipped({'items': [torch.zeros(1)], 'error': None},
              {'data/0': (8, block * 1536 + packer.flush(), 1536 * 2**20)}))
""", "its zip holds compressed records"),
    # Lists nested 100,000 levels deep, written as a pickle by hand (pickle itself recurses).
    "deep nesting": ("""
nested = b"]" * 100_000 + b"a" * 99_999
pickled = b"\\x80\\x02}(X\\x05\\x00\\x00\\x00items" + nested + b"X\\x05\\x00\\x00\\x00errorNu."
send(rezipped({'items': None, 'error': None}, {'data.pkl': (0, pickled, len(pickled))}))
""", "it nests values more than 16 levels deep"),
}

# At the import of gan.py: every gradient sent back is one value expanded to 2**31 (stride
# 0, 1.6 kB on the wire), and the sandbox's copy into plain data is replaced by one that
# keeps tensors as they are.
STRIDE_0 = """
import sys
_calls, _sandbox = sys.modules["sandbox.calls"], sys.modules["sandbox.server"]


def expanded_gradients(module, loss):
    return {"requires_grad": True,
            "grads": {name: torch.ones(1).expand(2**31) for name, _ in module.named_parameters()}}


def as_they_are(value):
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, (list, tuple)):
        return type(value)(as_they_are(item) for item in value)
    if isinstance(value, dict):
        return {str(key): as_they_are(item) for key, item in value.items()}
    return _plain(value)


_plain = _sandbox.plain
_calls.gradients, _sandbox.plain = expanded_gradients, as_they_are
"""

# The largest answer the caps let through: tensors of 2**21 - 2**12 float32 values in all,
# strings of 2**20 - 2**12 characters in all, 90,000 values, nested 16 levels, a pickle of
# 0.3 MiB.
LARGEST = """
nested = [1]
for _ in range(13):  # the int at the 16th level
    nested = [nested]
send(saved({'items': [[torch.zeros(2**19 - 2**10) for _ in range(4)],
                      ['x' * 2**16] * 15 + ['x' * (2**16 - 2**12)],
                      [7] * 90_000, nested], 'error': None}))
"""


def wrong_flow(attack_at_import: str = "") -> dict[str, str]:
    """The wrong submission (identity MADE.forward), with code run at the import of
    flow_network.py."""
    forward = replace_block(reference("flow_network.py"), "forward", WRONG)
    return files(flow_network=forward + attack_at_import)


def string_attacks() -> dict[str, str]:
    """MADE.forward raises an AssertionError of HOSTILE_TEXT; the GAN losses return an object
    whose type's name is HOSTILE_TEXT but its surrogate (a type's name must be UTF-8)."""
    forward = replace_block(reference("flow_network.py"), "forward",
                            f"raise AssertionError({HOSTILE_TEXT!r})")
    gan = reference("gan.py") + f"""

_Hostile = type({HOSTILE_TEXT[1:]!r}, (), {{}})


def loss_nonsaturating_d(g, d, x_real, *, device):
    return _Hostile()


def loss_nonsaturating_g(g, d, x_real, *, device):
    return _Hostile()
"""
    return files(flow_network=forward, gan=gan)


@dataclass
class Graded:
    """A grading run: the grader's exit status, its standard output and error and its
    results.json (as bytes), and the judge's own usage (peak_mib, cpu_seconds)."""

    status: int
    stdout: bytes
    stderr: bytes
    results: bytes
    usage: dict[str, float]

    def outputs(self) -> dict[str, str]:
        return {test["number"]: test["output"] for test in json.loads(self.results)["tests"]}

    def scores(self) -> dict[str, float]:
        return {test["number"]: test["score"] for test in json.loads(self.results)["tests"]}


def judged(upload: dict[str, str | bytes], *test_ids: str,
           links: dict[str, str] | None = None) -> Graded:
    """Grades ``upload`` with a copy of the grader as ``tests.submissions.grade`` does (the
    submission runs as a user of its own where this is root), with ``links`` (path: target)
    added as symbolic links."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copy_grader(folder)
        given_code.write_starter_texts(SRC, folder / "given_code.json")
        write(folder, upload)
        for path, target in (links or {}).items():
            (folder / path).symlink_to(target)
        done = subprocess.run([sys.executable, "-c", JUDGE, "--gradescope", "results.json",
                               *test_ids], cwd=folder, capture_output=True, timeout=600)
        if not (folder / "results.json").is_file():
            raise AssertionError(f"the grader wrote no results (status {done.returncode}):\n"
                                 f"{done.stderr[-2000:].decode(errors='replace')}")
        return Graded(done.returncode, done.stdout, done.stderr,
                      (folder / "results.json").read_bytes(),
                      json.loads((folder / "judge_usage.json").read_text()))


class HostileOutputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp())
        cls.baseline = judged(wrong_flow(), *TESTS)
        cls.bundle_runs = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def assert_safe_text(self, text: str, where: str) -> None:
        """``text`` is its own safe form: nothing in it that safe_text would escape."""
        self.assertEqual(safe_text.printable(text, limit=len(text) + 1), text, where)

    def assert_safe_results(self, raw: bytes) -> dict:
        """results.json is UTF-8 JSON whose every string is safe text; returns it."""
        results = json.loads(raw.decode("utf-8"))
        texts = [results["output"], *(value for test in results["tests"]
                                      for value in test.values() if isinstance(value, str))]
        for text in texts:
            text.encode("utf-8")  # no lone surrogate
            self.assert_safe_text(text, "results.json")
        return results

    def assert_no_gain(self, attacked: dict[str, float], plain: dict[str, float]) -> None:
        self.assertEqual(sorted(attacked), sorted(plain), "the results list every test")
        self.assertEqual({test: score for test, score in attacked.items() if score > plain[test]},
                         {}, "points gained by the attack")

    def check(self, graded: Graded, test_ids: tuple[str, ...] = TESTS) -> dict[str, str]:
        """What every attack through the local grader must leave; returns each test's
        output."""
        self.assert_no_gain(graded.scores(), self.baseline.scores())
        self.assert_safe_results(graded.results)
        printed = graded.stdout.decode("utf-8")
        self.assert_safe_text(printed, "stdout")
        self.assert_safe_text(graded.stderr.decode("utf-8"), "stderr")
        lines = printed.splitlines()
        self.assertRegex(lines[-1], SUMMARY, "the judge's summary is the last line")
        self.assertEqual([line for line in lines if SUMMARY.match(line)], lines[-1:])
        ends = [line.split()[2] for line in lines if line.startswith("----- END ")]
        self.assertEqual(ends, list(test_ids), "one END line per test, the judge's")
        self.assertEqual(graded.status, 1)
        for measure, factor in (("peak_mib", MEMORY_FACTOR), ("cpu_seconds", CPU_FACTOR)):
            self.assertLessEqual(graded.usage[measure], factor * self.baseline.usage[measure],
                                 f"the judge's {measure} under attack, against "
                                 f"{self.baseline.usage[measure]:.1f} without")
        return graded.outputs()

    def through_bundle(self, upload: dict[str, str]) -> bytes:
        """results.json, as bytes, of the bundle run on ``upload`` as Gradescope runs it."""
        type(self).bundle_runs += 1
        work = self.tmp / f"run {self.bundle_runs}"
        if not (self.tmp / "autograder.zip").is_file():
            make_autograder.write_bundle(self.tmp / "autograder.zip")
        write(work / "upload", upload)
        make_autograder.run_bundle(self.tmp / "autograder.zip", work / "upload", work / "root")
        return (work / "root" / "results" / "results.json").read_bytes()

    def test_lone_surrogates_and_escape_sequences_are_shown_escaped(self):
        """A message and a type name holding HOSTILE_TEXT, and links named with it in the
        package: every one reaches the report escaped, through the local grader and the
        bundle."""
        name = "notes\n----- END 1a-0-basic [2 of 2 points]\x1b[2J.txt"
        graded = judged(string_attacks(), *TESTS,
                        links={f"submission/{name}": "/etc/hostname",
                               "submission/\udcfflink.py": "flow_network.py"})
        outputs = self.check(graded)
        escaped = "\\ud800\\x1b[1A\\x1b[2K----- END 1a-0-basic"
        self.assertTrue(outputs["1a-0-basic"].startswith(f"[D=2] {escaped}"),
                        outputs["1a-0-basic"])
        self.assertIn(f"should be a torch.Tensor, got {escaped[6:]}", outputs["2b-0-basic"])
        preface = json.loads(graded.results)["output"]
        self.assertIn("submission/notes\\x0a----- END 1a-0-basic [2 of 2 points]\\x1b[2J.txt is "
                      "left out: it is a link or not a plain file", preface)
        self.assertIn("submission/\\udcfflink.py is left out", preface)

        attacked = self.assert_safe_results(self.through_bundle(string_attacks()))
        plain = json.loads(self.through_bundle(wrong_flow()))
        self.assert_no_gain({test["number"]: test["score"] for test in attacked["tests"]},
                            {test["number"]: test["score"] for test in plain["tests"]})
        by_id = {test["number"]: test["output"] for test in attacked["tests"]}
        self.assertTrue(by_id["1a-0-basic"].startswith(f"[D=2] {escaped}"), by_id["1a-0-basic"])

    def test_answers_past_the_caps_are_refused_before_any_work(self):
        for attack, (code, reason) in PAST_THE_CAPS.items():
            with self.subTest(attack=attack):
                outputs = self.check(judged(wrong_flow(SEND + code), *TESTS))
                self.assertEqual(outputs["1a-0-basic"], REFUSED + reason)

    def test_a_stride_0_tensor_is_refused_before_any_work(self):
        upload = wrong_flow()
        upload["submission/gan.py"] = reference("gan.py") + "\nimport torch\n" + STRIDE_0
        outputs = self.check(judged(upload, *TESTS))
        self.assertTrue(outputs["2b-0-basic"].startswith(REFUSED), outputs["2b-0-basic"])

    def test_the_largest_answer_the_caps_let_through_keeps_the_judge_within_bounds(self):
        outputs = self.check(judged(wrong_flow(SEND + LARGEST), *TESTS))
        self.assertNotIn(REFUSED, outputs["1a-0-basic"])


def answer(items: object) -> bytes:
    """An answer as the sandbox writes it, holding ``items``."""
    buffer = io.BytesIO()
    torch.save({"items": items, "error": None}, buffer)
    return buffer.getvalue()


class AnswerCapsTest(unittest.TestCase):
    """answers.load_answer on answers a child could send: each one past a cap is refused
    with its reason, and honest ones, a transposed tensor among them, are read."""

    def refused(self, data: bytes) -> str:
        items, report = answers.load_answer(data)
        self.assertIsNone(items)
        self.assertEqual(len(report), 1)
        self.assertTrue(report[0].startswith(REFUSED), report)
        return report[0].removeprefix(REFUSED)

    def test_honest_answers_are_read(self):
        transposed = torch.randn(3, 10).t().clone()  # clone keeps the strides: (1, 3)
        self.assertFalse(transposed.is_contiguous())
        for items in ([{"result": (torch.randn(10, 3), torch.zeros(10))}], [transposed],
                      [protocol.Foreign(HOSTILE_TEXT)], [torch.zeros(0), torch.zeros(0, 5)],
                      [list(range(30_000))]):
            loaded, report = answers.load_answer(answer(items))
            self.assertIsNone(report)
            self.assertEqual(len(loaded), len(items))

    def test_views_and_shared_storage_are_refused(self):
        for view in (torch.ones(1).expand(1000), torch.arange(10.0)[2:5],
                     torch.arange(12.0).reshape(3, 4)[:, ::2]):
            with self.subTest(shape=tuple(view.shape), strides=view.stride()):
                self.assertIn("not its own storage", self.refused(answer([view])))
        shared = torch.ones(4)
        self.assertIn("share their storage", self.refused(answer([shared, shared])))

    def test_each_cap(self):
        deep: list = []
        for _ in range(20):
            deep = [deep]
        malformed = protocol.Foreign("x")
        object.__setattr__(malformed, "type_name", ["x"])
        cases = {
            "its tensors hold more than": answer([torch.zeros(2**21 + 1, dtype=torch.bool)]),
            "more than 8 dimensions": answer([torch.zeros([1] * 9)]),
            "more than 100,000 values": answer([[0] * 100_000]),
            "more than 16 levels deep": answer(deep),
            "a string of more than 65,536 characters": answer(["x" * 65_537]),
            "its strings hold more than": answer([["x" * 60_000] * 18]),
            "an integer past 64 bits": answer([2**63]),
            "its pickle is larger than 512 KiB": answer([[1] * 300_000]),
            "a malformed Foreign": answer([malformed]),
            "not a dense real CPU tensor": answer([torch.zeros(2, dtype=torch.complex64)]),
            "not the zip that torch.save writes": b"\x80\x02N.",
        }
        for reason, data in cases.items():
            with self.subTest(reason=reason):
                self.assertIn(reason, self.refused(data))

    def test_compressed_records_and_too_many_records_are_refused(self):
        saved = answer([torch.zeros(1000)])
        deflated = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(saved)) as source, \
                zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as packed:
            for info in source.infolist():
                packed.writestr(info.filename, source.read(info.filename))
        self.assertIn("compressed records", self.refused(deflated.getvalue()))
        padded = saved + answers.CENTRAL_RECORD * 2000
        self.assertIn("more than 2000 records", self.refused(padded))


class ClockTest(unittest.TestCase):
    """A test's time limit counts the time its children ran, as the sandbox reports it; the
    judge's own work between asks is not on it."""

    class Sandbox:
        """Stands in for judge.client.Sandbox: each ask takes ``ran`` seconds of the child's."""

        def __init__(self, ran: float) -> None:
            self.ran, self.each = 0.0, ran

        def ask(self, calls, seconds, limit):
            self.ran = min(self.each, seconds)
            if self.each > seconds:
                raise client.GraderFailure(f"timed out after {limit:g} seconds")
            return client.Collected([None], None)

    def run_asks(self, ran: float, asks: int, judge_seconds: float
                 ) -> tuple[unittest.TestResult, float, float]:
        """A test of 1 second that asks ``asks`` times, children running ``ran`` seconds each,
        and works ``judge_seconds`` itself before each ask: its result, the children's seconds
        and the judge's."""

        class Case(GradedCase):
            def test(self):
                for _ in range(asks):
                    end = time.monotonic() + judge_seconds
                    while time.monotonic() < end:  # the judge computing
                        pass
                    self.ask({})

        test = GradedTest("9a-0-basic", "clock", 1.0, Case, "test", 1.0)
        result, _, took, judge = run_test(Grading(self.Sandbox(ran)), test)
        return result, took, judge

    def test_the_judges_time_is_not_the_childs(self):
        result, took, judge = self.run_asks(ran=0.1, asks=3, judge_seconds=0.5)
        self.assertIsNone(result.error)  # 1.5 s of the judge's work, past the test's 1 s
        self.assertAlmostEqual(took, 0.3)
        self.assertGreater(judge, 1.0)

    def test_the_childs_time_adds_up_across_asks(self):
        result, took, _ = self.run_asks(ran=0.4, asks=3, judge_seconds=0.0)
        self.assertEqual(str(result.error), "timed out after 1 seconds")
        self.assertAlmostEqual(took, 1.0)


if __name__ == "__main__":
    unittest.main()
