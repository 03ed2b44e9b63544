"""The calls the sandbox makes on the submission (the recipes that protocol.Recipe names).

The judge asks for a recipe by name, with plain arguments it chose: the sizes of the models,
their weights and masks as state dicts, the inputs, the seeds. A recipe builds the objects
under test from the student's classes, loads the judge's weights into them
(``load_state_dict``), makes the graded calls and returns what the judge needs: the outputs,
and records that only the sandbox can make (the batch sizes ``self.net`` saw, what G and D
were given, gradients, where a run on the meta device met a tensor on the CPU). No recipe
computes an expected value: the judge computes those from what it sent, and the records
decide nothing: the gradients are compared with the judge's own, the rest are notes or hints,
or (the meta device's) fail a test as an error of the code would, and pass none (anything in
this process can be forged by the code under test). Both graders ask for these recipes (the
students' copy too). The GAN losses are called on the stand-in networks of
``common/stand_ins.py``, which the judge builds too.
"""

import contextlib
import re
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor, nn

import network
from common import stand_ins
from common.jacobians import autograd_jacobians
from sandbox.protocol import Failure, GivenCodeCannot, Recipe

CPU = torch.device("cpu")
DTYPES = {"float32": torch.float32, "float64": torch.float64}

# The recipes by name (a value of protocol.Recipe): (the graded module they call, the function)
RECIPES: dict[str, tuple[str, Callable]] = {}


def recipe(module: str) -> Callable:
    """Registers a recipe, named as protocol.Recipe names it (its function's name); the
    sandbox calls it with the graded module ``module`` first."""

    def register(function: Callable) -> Callable:
        RECIPES[Recipe(function.__name__).value] = (module, function)
        return function

    return register


# ----------------------------------------------------------------------------------------
# Building what is under test, with the judge's weights


def load(model: nn.Module, state: dict[str, Tensor], what: str) -> nn.Module:
    """``model`` with the judge's ``state`` loaded; a one-line Failure where its parameters
    and buffers are not those of the given code (names and shapes)."""
    own = model.state_dict()
    if sorted(own) != sorted(state):
        missing, unexpected = sorted(set(state) - set(own)), sorted(set(own) - set(state))
        raise Failure(f"{what} does not hold the given layers: the grader sets "
                      f"{', '.join(missing) or 'nothing it lacks'}; it also has "
                      f"{', '.join(unexpected) or 'nothing else'}")
    for key, value in state.items():
        if tuple(own[key].shape) != tuple(value.shape):
            raise Failure(f"{what}: {key} has shape {tuple(own[key].shape)}, the given code's "
                          f"has {tuple(value.shape)}")
    model.load_state_dict(state)
    return model


def built(cls: type, args: tuple) -> nn.Module:
    """``cls(*args)``: the given code alone runs here (no block is a constructor)."""
    try:
        return cls(*args)
    except Exception as error:
        frames = [frame for frame in traceback.extract_tb(error.__traceback__)
                  if frame.filename != __file__ and not frame.name.startswith("<")]
        where = f", in {frames[-1].name}, line {frames[-1].lineno}" if frames else ""
        first_line = "".join(str(error).splitlines()[:1])
        raise GivenCodeCannot(f"{cls.__name__}{tuple(args)}",
                              f"{type(error).__name__}: {first_line}{where}") from None


@contextlib.contextmanager
def default_dtype(dtype: str) -> Iterator[None]:
    """torch's default dtype is ``dtype`` in the body, where the graded code runs on inputs of
    that dtype: a tensor it makes without ``dtype=`` (``torch.zeros(B)``) takes their dtype, as
    it takes float32 in training. The problem set asks for no dtype; float64 is the judge's
    means to tight tolerances, not the student's duty."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(DTYPES[dtype])
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def made(fn: ModuleType, args: tuple, state: dict, dtype: str) -> nn.Module:
    return load(built(fn.MADE, args).to(DTYPES[dtype]), state, f"MADE{tuple(args)}")


def maf(fn: ModuleType, args: tuple, state: dict, dtype: str) -> nn.Module:
    return load(built(fn.MAF, args).to(DTYPES[dtype]), state, f"MAF{tuple(args)}")


def log_prob_of(model: nn.Module) -> Callable[[Tensor], Tensor]:
    """``model.log_prob``; where the MAF has none (the course's starter, whose block is
    ``log_probs``, the batch mean), each row's value is ``log_probs`` of that row alone,
    batched with vmap where the code allows it, else row by row."""
    if hasattr(model, "log_prob"):
        return model.log_prob

    def each_row(x: Tensor) -> Tensor:
        try:
            return torch.func.vmap(lambda row: model.log_probs(row[None]))(x)
        except Exception:  # code vmap cannot batch (in-place writes into new tensors, ...)
            return torch.stack([model.log_probs(row[None]) for row in x])

    return each_row


def recording(module: nn.Module) -> list:
    """Records a detached copy of the inputs of every call of ``module``, however it is
    called (``module(x)`` or ``module.forward(x)``): its ``forward`` is wrapped."""
    calls: list = []
    forward = module.forward

    def recorded(*args, **kwargs):
        calls.append([value.detach().clone() if isinstance(value, Tensor) else None
                      for value in (*args, *kwargs.values())])
        return forward(*args, **kwargs)

    module.forward = recorded
    return calls


@contextlib.contextmanager
def net_batches(blocks: list[nn.Module]) -> Iterator[list[int]]:
    """The batch size of every call of ``block.net`` of these MADE blocks, in the body."""
    calls = [recording(block.net) for block in blocks]
    sizes: list[int] = []
    try:
        yield sizes
    finally:
        for block in blocks:
            del block.net.forward  # the class's own again
        sizes += [len(args[0]) for made_calls in calls for args in made_calls
                  if args and args[0] is not None]


def gradients(module: nn.Module, loss: object) -> dict[str, object]:
    """Back-propagates ``loss`` if it can be: whether it requires grad, and the gradient of
    every parameter of ``module`` (None where none arrived)."""
    module.zero_grad()
    trainable = isinstance(loss, Tensor) and loss.requires_grad
    if trainable:
        loss.backward()
    return {"requires_grad": trainable,
            "grads": {name: parameter.grad for name, parameter in module.named_parameters()}}


# ----------------------------------------------------------------------------------------
# Problem 1: the flow


@recipe("flow_network")
def masked_linear(fn: ModuleType, args: tuple, seed: int, state: dict, x: Tensor) -> dict:
    """``MaskedLinear(*args)`` made right after ``torch.manual_seed(seed)``: whether it is an
    nn.Linear, its buffers and initial weight; then, with the judge's state, its output."""
    torch.manual_seed(seed)
    layer = fn.MaskedLinear(*args)
    found = {"is_linear": isinstance(layer, nn.Linear),
             "buffers": sorted(name for name, _ in layer.named_buffers()),
             "initial_weight": layer.weight.detach().clone()}
    found["output"] = load(layer, state, "MaskedLinear")(x)
    return found


@recipe("flow_network")
def made_layers(fn: ModuleType, args: tuple) -> dict:
    """The layers of ``MADE(*args).net`` as the given code makes them: each one's type, and
    the mask of each linear layer."""
    layers = list(built(fn.MADE, args).net)
    return {"types": [type(layer).__name__ for layer in layers],
            "masks": [getattr(layer, "mask", None) for layer in layers
                      if isinstance(layer, nn.Linear)]}


@recipe("flow_network")
def made_call(fn: ModuleType, args: tuple, state: dict, method: str, inputs: list,
              dtype: str = "float32") -> list[dict]:
    """``MADE(*args)`` in ``dtype`` with the judge's state, and its ``method`` on each input
    (in ``dtype``, torch's default dtype then): the result, the input as the call left it, the
    batch sizes ``self.net`` saw."""
    model = made(fn, args, state, dtype)
    found = []
    for x in inputs:
        with default_dtype(dtype), net_batches([model]) as sizes:
            result = getattr(model, method)(x)
        found.append({"result": result, "input": x, "net_batches": sizes})
    return found


@recipe("flow_network")
def made_jacobians(fn: ModuleType, args: tuple, state: dict, method: str, x: Tensor,
                   dtype: str) -> Tensor:
    """Autograd's Jacobians of the first output of ``MADE.<method>``, row by row (in
    ``dtype``, torch's default dtype then)."""
    model = made(fn, args, state, dtype)
    with default_dtype(dtype):
        return autograd_jacobians(lambda rows: getattr(model, method)(rows)[0], x)


@recipe("flow_network")
def made_gradients(fn: ModuleType, args: tuple, state: dict, method: str, x: Tensor) -> dict:
    """The gradients that the sum of both outputs of ``MADE.<method>(x)`` sends to every
    parameter."""
    model = made(fn, args, state, "float32")
    output, log_det = getattr(model, method)(x)
    return gradients(model, output.sum() + log_det.sum())


@recipe("flow_network")
def maf_call(fn: ModuleType, args: tuple, state: dict, methods: list, x: Tensor,
             dtype: str = "float32", no_grad: bool = False) -> list:
    """``MAF(*args)`` in ``dtype`` with the judge's state, and each of ``methods`` on ``x`` (in
    ``dtype``, torch's default dtype then)."""
    model = maf(fn, args, state, dtype)
    with default_dtype(dtype), torch.no_grad() if no_grad else contextlib.nullcontext():
        return [(log_prob_of(model) if method == "log_prob" else getattr(model, method))(x)
                for method in methods]


@recipe("flow_network")
def maf_layers(fn: ModuleType, args: tuple, points: Tensor) -> dict:
    """The blocks of ``MAF(*args).nf`` as the given code makes them, and its
    ``base_dist.log_prob(points)``."""
    model = fn.MAF(*args)
    return {"types": [type(block).__name__ for block in model.nf],
            "base_log_prob": model.base_dist.log_prob(points)}


@recipe("flow_network")
def maf_training(fn: ModuleType, args: tuple, state: dict, x: Tensor) -> dict:
    """``MAF.log_probs(x)`` with the batch sizes every MADE's ``self.net`` saw, and the
    gradients of ``MAF.loss(x)``."""
    model = maf(fn, args, state, "float32")
    with net_batches([block for block in model.nf if hasattr(block, "net")]) as sizes:
        value = model.log_probs(x)
    return {"log_probs": value, "net_batches": sizes, "gradients": gradients(model, model.loss(x))}


@recipe("flow_network")
def permute_call(fn: ModuleType, size: int, x: Tensor) -> list:
    """``PermuteLayer(size).forward(x)`` and ``.inverse(x)``."""
    layer = fn.PermuteLayer(size)
    return [layer.forward(x), layer.inverse(x)]


@recipe("flow_network")
def maf_sample(fn: ModuleType, args: tuple, state: dict, n: int, seed: int) -> dict:
    """``MAF.sample(cpu, n)`` with the judge's state, right after ``torch.manual_seed(seed)``:
    whether it is a numpy array, and the samples (an array as a tensor)."""
    model = maf(fn, args, state, "float32")
    torch.manual_seed(seed)
    samples = model.sample(CPU, n)
    is_array = isinstance(samples, np.ndarray)
    return {"is_array": is_array, "samples": torch.as_tensor(samples) if is_array else samples}


# ----------------------------------------------------------------------------------------
# Problems 2b, 4b, 5e: the GAN losses, on the stand-in networks (common/stand_ins.py)

# What the judge may name as G or D: the stand-ins and network.py's networks
NETWORKS: dict[str, type[nn.Module]] = {
    cls.__name__: cls for cls in (*stand_ins.STANDS_IN_FOR,
                                  *dict.fromkeys(stand_ins.STANDS_IN_FOR.values()))
}


def call_loss(gan: ModuleType, name: str, g: nn.Module, d: nn.Module, x_real: Tensor,
              y_real: Tensor | None, seed: int, device: torch.device = CPU) -> object:
    """The loss ``name`` called with ``device`` right after ``torch.manual_seed(seed)``."""
    labels = () if y_real is None else (y_real,)
    torch.manual_seed(seed)
    return getattr(gan, name)(g, d, x_real, *labels, device=device)


@recipe("gan")
def loss_call(gan: ModuleType, name: str, g: dict, d: dict, x_real: Tensor,
              y_real: Tensor | None, seed: int, record: bool = False,
              train: dict[str, str] | None = None) -> dict:
    """The loss ``name`` on G and D made from the judge's specs (``{"type": a name in
    NETWORKS, "state": ...}``), called as ``call_loss`` does: its value; with ``record``, the
    inputs of every call of G and D; for ``train`` (a name for the messages: the module, such
    as ``"g.linear"`` or ``"d"``), the gradients the loss sends to those modules."""
    networks = {"g": NETWORKS[g["type"]](), "d": NETWORKS[d["type"]]()}
    for key, spec in (("g", g), ("d", d)):
        load(networks[key], spec["state"], key.upper())
    calls = {key: recording(module) for key, module in networks.items()} if record else {}
    try:
        loss = call_loss(gan, name, networks["g"], networks["d"], x_real, y_real, seed)
    except stand_ins.LabelsOutside as error:  # reported by its message alone
        raise Failure(str(error)) from None
    found = {"loss": loss, "g_calls": calls.get("g"), "d_calls": calls.get("d")}
    if train:
        trained = nn.ModuleDict({
            label: networks[where.partition(".")[0]].get_submodule(where.partition(".")[2])
            for label, where in train.items()})
        found["gradients"] = gradients(trained, loss)
    return found


# ----------------------------------------------------------------------------------------
# Every graded function: a run with its inputs on PyTorch's meta device, where tensors have
# shapes but no values. A tensor made on the CPU (torch.zeros(B) without device=) meets the
# meta tensors there as it would meet a GPU's, and PyTorch refuses it, with no GPU needed.

META = torch.device("meta")
# What PyTorch says where an operation meets tensors on two devices. Nothing else counts: what
# needs values (.item(), numpy, torch.distributions' checks of their arguments) cannot run on
# the meta device, and is not judged here.
MIXED_DEVICES = re.compile(
    r"expected all tensors to be on the same device|is not on the expected device"
    r"|found at least two devices|expected device \w+ but got \w+"
    r"|indices should be either on cpu or on the same device", re.IGNORECASE)
SHOWN = 200  # characters of each string of a report


def frames_inside(error: BaseException, directory: Path) -> list[traceback.FrameSummary]:
    """The frames of ``error``'s traceback that lie in the files under ``directory`` (the
    package's), outermost first."""
    directory = directory.resolve()
    return [frame for frame in traceback.extract_tb(error.__traceback__)
            if Path(frame.filename).resolve().is_relative_to(directory)]


def mixed_devices(module: ModuleType, run: Callable[[], object]) -> dict[str, object] | None:
    """``run()``, with the inputs on the meta device: where PyTorch refuses tensors on two
    devices, its error and where in ``module``'s package it was raised (where_in); else None,
    whether it ran or failed otherwise."""
    try:
        run()
    except Exception as error:
        if MIXED_DEVICES.search(str(error)):
            return {"error": "".join(str(error).splitlines()[:1])[:SHOWN],
                    **where_in(module, error)}
    return None


def where_in(module: ModuleType, error: BaseException) -> dict[str, object]:
    """The innermost line of ``module``'s package in ``error``'s traceback: its file (from the
    package's folder on), number, function and code; empty where there is none."""
    package = Path(module.__file__).resolve().parent
    frames = frames_inside(error, package)
    if not frames:
        return {"file": "", "line": 0, "function": "", "code": ""}
    frame = frames[-1]
    file = Path(frame.filename).resolve().relative_to(package.parent).as_posix()
    return {"file": file[:SHOWN], "line": frame.lineno, "function": frame.name[:SHOWN],
            "code": (frame.line or "")[:SHOWN]}


@recipe("flow_network")
def made_on_meta(fn: ModuleType, args: tuple, method: str, batch: int) -> dict | None:
    """``MADE(*args).<method>`` on a batch, on the meta device (mixed_devices)."""
    model = built(fn.MADE, args).to(META)
    return mixed_devices(fn, lambda: getattr(model, method)(torch.zeros(batch, args[0],
                                                                        device=META)))


@recipe("flow_network")
def maf_on_meta(fn: ModuleType, args: tuple, batch: int) -> dict | None:
    """``MAF(*args).log_probs`` on a batch, on the meta device (mixed_devices)."""
    model = built(fn.MAF, args).to(META)
    return mixed_devices(fn, lambda: model.log_probs(torch.zeros(batch, args[0], device=META)))


@recipe("gan")
def loss_on_meta(gan: ModuleType, name: str, g: str, d: str, batch: int) -> dict | None:
    """The loss ``name`` on the stand-ins named ``g`` and ``d`` (NETWORKS), with a batch and
    device=meta, on the meta device (mixed_devices)."""
    generator, discriminator = NETWORKS[g]().to(META), NETWORKS[d]().to(META)
    x_real = torch.zeros(batch, *stand_ins.IMAGE_SHAPE, device=META)
    y_real = (torch.zeros(batch, dtype=torch.long, device=META)
              if isinstance(generator, stand_ins.LinearConditionalGenerator) else None)
    return mixed_devices(gan, lambda: call_loss(gan, name, generator, discriminator, x_real,
                                                y_real, 0, META))


def warm_up() -> None:
    """Runs network.py's networks once, forward and backward twice over (as the gradient
    penalty does), on two images, on the CPU and on the meta device: the sandbox does this
    before it forks any child, so that each test's child inherits torch's kernels set up
    rather than setting them up anew (the meta device's first operation alone imports for
    about a second)."""
    torch.manual_seed(0)
    with torch.random.fork_rng():
        for device in (CPU, META):
            for generator, discriminator, labels in (
                    (network.Generator(), network.Discriminator(), ()),
                    (network.ConditionalGenerator(), network.ConditionalDiscriminator(),
                     (torch.zeros(2, dtype=torch.long, device=device),))):
                generator, discriminator = generator.to(device), discriminator.to(device)
                images = generator(torch.randn(2, generator.dim_z, device=device), *labels)
                (grad,) = torch.autograd.grad(discriminator(images, *labels).sum(), images,
                                              create_graph=True)
                grad.square().sum().backward()
