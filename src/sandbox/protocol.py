"""What the judge and the sandbox say to each other: the one module both sides import.

The contract (every message, every outcome and what it means, the limits, what the sandbox
guarantees and what it does not) is ``sandbox/CONTRACT.md``; this module is its code: the
framing of the messages and their size limits, the one type an answer may hold besides plain
data (``Foreign``), the failures the calls report, and the sandbox's outcomes. It imports
the standard library and torch alone, and nothing else of either side.
"""

import enum
import io
import struct
from dataclasses import dataclass
from typing import BinaryIO

import torch

# ----------------------------------------------------------------------------------------
# Framing: each message is its length (8 bytes, big-endian) and its payload

LENGTH = struct.Struct(">Q")
MAX_HELLO = 2**30  # bytes of the hello, as the sandbox reads it (the student's files)
MAX_QUESTION = 2**31  # bytes of one question (the judge's weights and inputs)
# Bytes a child may send back: 40 times the largest answer of the reference (0.39 MiB); the
# judge checks what an answer holds before it reads a value.
MAX_ANSWER = 16 * 2**20
MAX_FROM_SANDBOX = MAX_ANSWER + 2**20  # bytes of any message the judge reads from the sandbox
PRINTED_SHOWN = 4096  # bytes of what a child printed that reach the judge


def write_message(stream: BinaryIO, payload: bytes) -> None:
    """Writes ``payload`` to ``stream`` as one message, and flushes it."""
    view = memoryview(LENGTH.pack(len(payload)) + payload)
    while view:  # an unbuffered stream may take part of it at a time
        view = view[stream.write(view):]
    stream.flush()


def read_message(stream: BinaryIO, limit: int) -> bytes | None:
    """The next message, or None where the stream ended; ValueError if it is longer than
    ``limit`` bytes or cut short."""
    head = stream.read(LENGTH.size)
    if not head:
        return None
    if len(head) != LENGTH.size:
        raise ValueError("a message was cut short")
    (length,) = LENGTH.unpack(head)
    if length > limit:
        raise ValueError(f"a message of {length} bytes is longer than {limit}")
    payload = stream.read(length)
    if len(payload) != length:
        raise ValueError("a message was cut short")
    return payload


def saved(value: object) -> bytes:
    """``value`` as ``torch.save`` writes it: the payload of a hello, question or answer."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------
# What an answer holds


@dataclass(frozen=True)
class Foreign:
    """A value that is not plain data (tensor, number, string, None, or a list, tuple or
    dict of those), sent back as the name of its type."""

    type_name: str


torch.serialization.add_safe_globals([Foreign])


class Failure(BaseException):
    """A failure reported by its message alone: why the package cannot be reached, or why a
    call cannot be made as asked. A BaseException, so that ``except Exception`` in graded code
    cannot swallow a time-out."""


# The one key of the item that stands for a call that GivenCodeCannot stopped
GIVEN_CODE_CANNOT = "given_code_cannot"


class GivenCodeCannot(Failure):
    """The given code of the student's module cannot build what a case needs (the course's
    own starter cannot build a MADE with D = 1): a reason for the judge to quote where the
    case fails. It never leaves a case out: the judge decides that from the uploaded text.

    Args:
        what: the object asked for, ``MADE(1, 16, 0)``.
        why: the error and where in the given code, in one line.
    """

    def __init__(self, what: str, why: str):
        super().__init__(f"the given code cannot build {what} ({why})")
        self.what, self.why = what, why

    def item(self) -> dict[str, dict[str, str]]:
        """The item the answer holds in place of the call's result; the calls go on."""
        return {GIVEN_CODE_CANNOT: {"what": self.what, "why": self.why}}


# ----------------------------------------------------------------------------------------
# How a question ended: the header's "why"


class Outcome(str, enum.Enum):
    """How the sandbox stopped reading a question's child (its value is the header's
    ``why``)."""

    ANSWERED = "answered"  # it sent its answer whole; the answer follows the header
    TIMEOUT = "timeout"  # it ran out of the question's seconds
    TOO_MUCH = "too much"  # its answer is longer than MAX_ANSWER
    ENDED = "ended"  # it ended, or closed its end of the pipe, without an answer


# ----------------------------------------------------------------------------------------
# What the judge may ask for


class Recipe(str, enum.Enum):
    """The calls the sandbox makes on the submission (``sandbox/calls.py`` holds each one);
    a question names each call by its value, with its plain keyword arguments."""

    MASKED_LINEAR = "masked_linear"
    MADE_LAYERS = "made_layers"
    MADE_CALL = "made_call"
    MADE_JACOBIANS = "made_jacobians"
    MADE_GRADIENTS = "made_gradients"
    MAF_CALL = "maf_call"
    MAF_LAYERS = "maf_layers"
    MAF_TRAINING = "maf_training"
    MAF_SAMPLE = "maf_sample"
    PERMUTE_CALL = "permute_call"
    LOSS_CALL = "loss_call"
    MADE_ON_META = "made_on_meta"
    MAF_ON_META = "maf_on_meta"
    LOSS_ON_META = "loss_on_meta"
