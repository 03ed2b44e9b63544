"""What an answer of the submission's process may hold, checked before the judge reads a
value of it.

An answer is untrusted data: a zip as ``torch.save`` writes it, sent by a child that runs the
submission's code. ``load_answer`` checks its size first (its records, its pickle), reads it
with ``weights_only=True``, then checks that it is plain data within the caps below, so that
no answer sizes the judge's memory or time. The sandbox's side of the format is
``sandbox/CONTRACT.md``.
"""

import io
import zipfile
from dataclasses import dataclass, field

import torch

from sandbox import protocol


def type_name(value: object) -> str:
    """The name of ``value``'s type, also for a value sent back as Foreign."""
    return value.type_name if isinstance(value, protocol.Foreign) else type(value).__name__


# What one answer may hold, checked before the judge computes anything with it. The largest
# answer of the reference upload (all 35 tests; each answer's zip and values counted) is
# 0.39 MiB on the wire (protocol.MAX_ANSWER) in 179 zip records, with 173 tensors of 100,112
# values (60,000 in the largest), 573 values in all, nested 5 levels, holding strings of 20
# characters and integers under 2**15. Each cap is many times that, and bounds the judge's
# memory and time whatever the child sends.
MAX_RECORDS = 2000  # records of the answer's zip: one per tensor, and 6 more
# Bytes of its pickle (the reference's largest: 14.6 kB): torch.load's unpickler, in Python,
# takes up to a microsecond of the judge's time a byte.
MAX_PICKLE = 2**19
MAX_ELEMENTS = 2**21  # tensor values in one answer (the judge may hold several float64 copies)
MAX_DIMS = 8  # dimensions of one tensor (images have 4)
# Values in one answer: a record of self.net's batch sizes holds one int per call, 30,000
# for a MADE that loops over the rows of a 10,000-row batch, a mistake the judge must read to
# name.
MAX_ITEMS = 100_000
MAX_DEPTH = 16  # levels of lists, tuples and dicts
MAX_STRING = 2**16  # characters of one string (a report shows judge.report.OUTPUT_LIMIT)
MAX_CHARS = 2**20  # characters of all strings, each counted wherever the answer holds it
MAX_INT = 2**63  # an integer is an int64 (a batch size, a count, a seed)
ANSWER_DTYPES = {torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.bool,
                 torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64}
CENTRAL_RECORD = b"PK\x01\x02"  # how each record of a zip's directory begins


class Refused(ValueError):
    """An answer past what the judge reads (its message says what)."""


@dataclass
class Allowance:
    """What is left of one answer's caps while its values are checked."""

    items: int = MAX_ITEMS
    elements: int = MAX_ELEMENTS
    chars: int = MAX_CHARS
    storages: set[int] = field(default_factory=set)  # addresses of the tensors' storage


def _check_records(answer: bytes) -> None:
    """Refuses an answer that is not a zip as torch.save writes it, read from its directory
    before torch.load reads a record: at most MAX_RECORDS records, each stored as it is (a
    compressed one would be inflated by torch.load to any size), none overlapping another,
    the pickle (``data.pkl``, a name torch finds whatever its case) within MAX_PICKLE."""
    if not answer.startswith(b"PK\x03\x04"):
        raise Refused("it is not the zip that torch.save writes")
    # Each record of the directory begins with CENTRAL_RECORD: counted in the raw bytes, the
    # records are bounded before zipfile builds an object for each.
    if answer.count(CENTRAL_RECORD) > MAX_RECORDS:
        raise Refused(f"its zip holds more than {MAX_RECORDS} records")
    with zipfile.ZipFile(io.BytesIO(answer)) as archive:
        records = archive.infolist()
    if any(record.compress_type != zipfile.ZIP_STORED or record.compress_size != record.file_size
           for record in records):
        raise Refused("its zip holds compressed records")
    if sum(record.file_size for record in records) > len(answer):
        raise Refused("its zip's records overlap")
    if any(record.filename.lower().endswith("data.pkl") and record.file_size > MAX_PICKLE
           for record in records):
        raise Refused(f"its pickle is larger than {MAX_PICKLE >> 10} KiB")


def _checked_tensor(value: torch.Tensor, left: Allowance) -> torch.Tensor:
    """``value`` as a plain, detached Tensor, if it is a dense real CPU tensor of at most
    MAX_DIMS dimensions whose values are its own storage, each stored once (no expanded,
    stride-0 or overlapping view, no offset, no storage shared with another tensor), within
    what is left of MAX_ELEMENTS; Refused otherwise."""
    if (value.layout != torch.strided or value.device.type != "cpu" or value.is_quantized
            or value.is_complex() or value.dtype not in ANSWER_DTYPES):
        raise Refused("it holds a tensor that is not a dense real CPU tensor")
    if value.dim() > MAX_DIMS:
        raise Refused(f"it holds a tensor of more than {MAX_DIMS} dimensions")
    count = value.numel()
    left.elements -= count
    if left.elements < 0:
        raise Refused(f"its tensors hold more than {MAX_ELEMENTS:,} values")
    storage = value.untyped_storage()
    if (value.storage_offset() != 0 or storage.nbytes() != count * value.element_size()
            or not _each_value_once(value.shape, value.stride())):
        raise Refused("it holds a tensor whose values are not its own storage (a view)")
    if count:
        if storage.data_ptr() in left.storages:
            raise Refused("it holds tensors that share their storage")
        left.storages.add(storage.data_ptr())
    return value.as_subclass(torch.Tensor).detach()


def _each_value_once(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Whether a tensor of ``shape`` and ``strides`` reaches each of its values once, with no
    gap: its strides, smallest first, are those of a contiguous tensor of its dimensions in
    some order (a transposed result is one)."""
    expected = 1
    for stride, size in sorted((stride, size) for size, stride in zip(shape, strides) if size != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _checked(value: object, left: Allowance, depth: int = 0) -> object:
    """``value`` from an answer, if it is plain data within what is left of the caps: a
    tensor (_checked_tensor), a number, string, None, Foreign, or a list, tuple or dict
    (string keys) of those; Refused otherwise."""
    left.items -= 1
    if left.items < 0:
        raise Refused(f"it holds more than {MAX_ITEMS:,} values")
    if depth > MAX_DEPTH:
        raise Refused(f"it nests values more than {MAX_DEPTH} levels deep")
    if isinstance(value, torch.Tensor):
        return _checked_tensor(value, left)
    if value is None or type(value) in (bool, float):
        return value
    if type(value) is int:
        if not -MAX_INT <= value < MAX_INT:
            raise Refused("it holds an integer past 64 bits")
        return value
    if type(value) is str:
        return _checked_string(value, left)
    if type(value) is protocol.Foreign:  # its fields come from the pickle, like any value
        if set(vars(value)) != {"type_name"} or type(value.type_name) is not str:
            raise Refused("it holds a malformed Foreign")
        _checked_string(value.type_name, left)
        return value
    if type(value) in (list, tuple):
        return type(value)(_checked(item, left, depth + 1) for item in value)
    if isinstance(value, dict) and all(type(key) is str for key in value):
        return {_checked_string(key, left): _checked(item, left, depth + 1)
                for key, item in value.items()}
    raise Refused(f"it holds a {type(value).__name__}")


def _checked_string(text: str, left: Allowance) -> str:
    """``text``, within MAX_STRING and what is left of MAX_CHARS; Refused otherwise."""
    left.chars -= len(text)
    if len(text) > MAX_STRING:
        raise Refused(f"it holds a string of more than {MAX_STRING:,} characters")
    if left.chars < 0:
        raise Refused(f"its strings hold more than {MAX_CHARS:,} characters")
    return text


def load_answer(answer: bytes) -> tuple[list | None, list[str] | None]:
    """The items and error report in a child's answer: its size checked (_check_records),
    read with weights_only=True, and checked to be plain data within the caps."""
    unreadable = None, ["the submission's process sent back an answer that cannot be read"]
    try:
        _check_records(answer)
        loaded = _checked(torch.load(io.BytesIO(answer), weights_only=True), Allowance())
    except Refused as refused:
        return None, [f"the submission's process sent back an answer the grader does not "
                      f"read: {refused}"]
    except Exception:
        return unreadable
    if not (isinstance(loaded, dict) and sorted(loaded) == ["error", "items"]
            and isinstance(loaded["items"], (list, type(None)))
            and (loaded["error"] is None or (isinstance(loaded["error"], list) and all(
                isinstance(line, str) for line in loaded["error"])))):
        return unreadable
    return loaded["items"], loaded["error"]
