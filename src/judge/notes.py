"""Notes on what only the sandbox can record (the batch sizes a network saw, the layers and
masks the student's MADE holds, the batches a critic saw): shown with a test's report, never a
verdict (a record of the sandbox could be forged). Each takes ``note``, the running test's
(GradedCase.note).

Only the full grader imports this module: it is in the Gradescope bundle, never in the
students' copy (course/manifest.py's JUDGE_ONLY).
"""

from collections.abc import Callable

from torch import Tensor

from judge.common import HIDDEN_SIZE
from judge.flow_references import degree_masks

Note = Callable[[str], None]


def batch_sizes(record: object) -> list[int] | None:
    """The batch sizes self.net saw (sandbox.calls.net_batches), None where the record is not
    a list of ints. A record of the sandbox: a note or a hint, never a verdict."""
    if isinstance(record, list) and all(type(size) is int for size in record):
        return record
    return None


def shown(sizes: list[int]) -> str:
    """The distinct batch sizes of a record, a few at most, for a note."""
    distinct = sorted(set(sizes))
    return f"{distinct[:5]}"[:-1] + (", ...]" if len(distinct) > 5 else "]")


def note_net_batches(note: Note, what: str, sizes: list[int] | None, batch: int,
                     one_pass: bool) -> None:
    """Notes (no points at stake: only the sandbox records them) where self.net did not see
    the whole batch, or (``one_pass``) ran more than once."""
    if sizes is None:
        return
    if not sizes or set(sizes) != {batch}:
        note(f"not graded: in {what} on {batch} row(s), self.net saw batches of "
             f"{shown(sizes)}; called on the whole batch at once, it is fast")
    elif one_pass and len(sizes) != 1:
        note(f"not graded: {what} called self.net {len(sizes)} times; x is known, so "
             "one pass on the whole batch gives mu and alpha of every dimension "
             "(what makes the MAF's density fast)")


def holds(value: object, expected: Tensor) -> bool:
    """Whether ``value``, from the sandbox, is a real tensor shaped as ``expected`` holding
    its values."""
    return (isinstance(value, Tensor) and not value.is_complex()
            and tuple(value.shape) == tuple(expected.shape)
            and bool((value.double() == expected.double()).all()))


def note_masked_linear(note: Note, found: object) -> None:
    """Notes (not graded: records of the sandbox) where MaskedLinear (masked_linear) is not
    an nn.Linear with a `mask` buffer, as the given code's is."""
    found = found if isinstance(found, dict) else {}
    if found.get("is_linear") is not True:
        note("not graded: MaskedLinear should subclass nn.Linear, as the given "
             "code's does")
    buffers = found.get("buffers")
    if not (isinstance(buffers, list) and "mask" in buffers):
        note("not graded: MaskedLinear should register a `mask` buffer, as the "
             "given code's does")


def note_made_layers(note: Note, D: int, n_hidden: int, layers: object) -> None:
    """Notes (not graded: records of the sandbox) where MADE(D, HIDDEN_SIZE, n_hidden).net
    (made_layers) is not MaskedLinear and ReLU layers in turn with the masks of the degree
    rules, as the given code builds it."""
    masks = degree_masks(D, HIDDEN_SIZE, n_hidden)
    types = ["MaskedLinear", "ReLU"] * (len(masks) - 1) + ["MaskedLinear"]
    layers = layers if isinstance(layers, dict) else {}
    if layers.get("types") != types:
        note(f"not graded: MADE.net should be the layers {', '.join(types)}, as "
             f"the given code builds it (D = {D}, n_hidden = {n_hidden})")
    made_masks = layers.get("masks")
    if not (isinstance(made_masks, list) and len(made_masks) == len(masks)
            and all(holds(made, mask) for made, mask in zip(made_masks, masks))):
        note("not graded: the masks of MADE.net should be those of the degree rules, "
             f"as the given code's create_masks makes them (D = {D}, "
             f"n_hidden = {n_hidden})")


def note_critic_batches(note: Note, calls: object, batch: int) -> None:
    """A note (not graded: only the sandbox records it) where the critic saw batches smaller
    than the whole batch."""
    if not isinstance(calls, list):
        return
    sizes = sorted({len(args[0]) for args in calls if isinstance(args, list) and args
                    and isinstance(args[0], Tensor) and args[0].dim()})
    if sizes and sizes[0] < batch:
        note(f"not graded: the critic saw batches of {shown(sizes)}; on whole "
             f"batches of {batch} (no loop over samples) it is fast")
