"""The GAN networks: shapes, the problem set's exact layers, seeding, and conditioning on y."""

import unittest

import torch
import torch.nn.functional as F
from torch import nn

from common import stand_ins
from network import ConditionalDiscriminator, ConditionalGenerator, Discriminator, Generator
from sandbox import calls as sandbox_calls


def linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def conv(c_in: int, c_out: int, kernel: int) -> int:
    return c_in * c_out * kernel * kernel + c_out


def norm(channels: int) -> int:  # a scale and a shift per channel
    return 2 * channels


def generator_layers(dim_in: int, num_channels: int) -> list[nn.Module]:
    """The problem set's generator, layer by layer."""
    return [nn.Linear(dim_in, 512), nn.BatchNorm1d(512), nn.ReLU(),
            nn.Linear(512, 3136), nn.BatchNorm1d(3136), nn.ReLU(),
            nn.Unflatten(1, (64, 7, 7)), nn.PixelShuffle(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.PixelShuffle(2), nn.Conv2d(8, num_channels, 3, padding=1)]


def trunk_layers(num_channels: int) -> list[nn.Module]:
    """The problem set's discriminator up to phi(x), layer by layer."""
    return [nn.Conv2d(num_channels, 32, 4, stride=2, padding=1), nn.LeakyReLU(0.1),
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.1), nn.Flatten(),
            nn.Linear(3136, 512), nn.LeakyReLU(0.1)]


def layers(module: nn.Module) -> list[str]:
    """Every leaf layer of ``module`` in order, as its repr (type and sizes)."""
    return [repr(m) for m in module.modules() if not list(m.children())]


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def phi(d: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The discriminator's features, recomputed from its weights with functional ops."""
    conv1, _, conv2, _, _, dense, _ = d.phi
    h = F.leaky_relu(F.conv2d(x, conv1.weight, conv1.bias, stride=2, padding=1), 0.1)
    h = F.leaky_relu(F.conv2d(h, conv2.weight, conv2.bias, stride=2, padding=1), 0.1)
    return F.leaky_relu(h.reshape(len(x), -1) @ dense.weight.T + dense.bias, 0.1)


def setUpModule():
    # Batches of six: spreading each layer over threads costs more in synchronisation than it
    # saves, many times more when other processes keep the cores busy.
    unittest.addModuleCleanup(torch.set_num_threads, torch.get_num_threads())
    torch.set_num_threads(1)


class NetworkTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.z = torch.randn(6, 64)
        self.y = torch.tensor([0, 1, 2, 9, 9, 5])
        self.x = torch.rand(6, 1, 28, 28) * 2 - 1

    def test_output_shapes_and_dtypes(self):
        for channels in [1, 3]:
            with self.subTest(channels=channels):
                x = torch.randn(6, channels, 28, 28)
                outputs = [(Generator(num_channels=channels)(self.z), (6, channels, 28, 28)),
                           (ConditionalGenerator(num_channels=channels)(self.z, self.y),
                            (6, channels, 28, 28)),
                           (Discriminator(num_channels=channels)(x), (6,)),
                           (ConditionalDiscriminator(num_channels=channels)(x, self.y), (6,))]
                for output, shape in outputs:
                    self.assertEqual(output.shape, shape)
                    self.assertEqual(output.dtype, torch.float32)

    def test_logits_stay_float32_under_bfloat16_autocast(self):
        """Under bfloat16 autocast (what --precision bfloat16 sets) the generator's output is
        bfloat16 and the discriminators' logits float32, the plain one's being its head's
        output cast; outside autocast a float64 network gives float64."""
        d, cd = Discriminator(), ConditionalDiscriminator()
        with torch.autocast("cpu", torch.bfloat16):
            self.assertEqual(Generator()(self.z).dtype, torch.bfloat16)
            self.assertEqual(d(self.x).dtype, torch.float32)
            self.assertEqual(cd(self.x, self.y).dtype, torch.float32)
            torch.testing.assert_close(d(self.x), d.head(d.phi(self.x)).float().squeeze(1))
        self.assertEqual(d.double()(self.x.double()).dtype, torch.float64)

    def test_attributes(self):
        self.assertEqual(Generator().dim_z, 64)
        g = ConditionalGenerator(dim_z=32, num_classes=5)
        self.assertEqual((g.dim_z, g.num_classes), (32, 5))
        self.assertEqual(g(torch.randn(2, 32), torch.tensor([0, 4])).shape, (2, 1, 28, 28))

    def test_exact_layers(self):
        trunk = trunk_layers(1)
        cases = [(Generator(), generator_layers(64, 1)),
                 (ConditionalGenerator(), generator_layers(74, 1)),
                 (Discriminator(), trunk + [nn.Linear(512, 1)]),
                 (ConditionalDiscriminator(), trunk + [nn.Linear(512, 10)])]
        for model, expected in cases:
            with self.subTest(model=type(model).__name__):
                self.assertEqual(layers(model), [repr(m) for m in expected])

    def test_parameter_counts(self):
        def generator(dim_in):
            return (linear(dim_in, 512) + norm(512) + linear(512, 3136) + norm(3136)
                    + conv(16, 32, 3) + norm(32) + conv(8, 1, 3))

        trunk = conv(1, 32, 4) + conv(32, 64, 4) + linear(3136, 512)
        self.assertEqual(n_params(Generator()), generator(64))
        self.assertEqual(generator(64), 1_654_121)  # "about 1.65M"
        self.assertEqual(n_params(ConditionalGenerator()), generator(74))
        self.assertEqual(n_params(Discriminator()), trunk + linear(512, 1))
        self.assertEqual(n_params(ConditionalDiscriminator()), trunk + linear(512, 10))

    def test_seed_fixes_the_weights_and_the_first_layer_is_created_first(self):
        for make in [Generator, ConditionalGenerator, Discriminator, ConditionalDiscriminator]:
            with self.subTest(model=make.__name__):
                torch.manual_seed(3)
                a = make().state_dict()
                torch.manual_seed(3)
                b = make().state_dict()
                for name in a:
                    self.assertTrue(torch.equal(a[name], b[name]), name)
                torch.manual_seed(4)
                first = next(iter(a))  # the first layer's weight
                self.assertFalse(torch.equal(make().state_dict()[first], a[first]))
        torch.manual_seed(3)
        first = nn.Linear(74, 512)
        torch.manual_seed(3)
        self.assertTrue(torch.equal(ConditionalGenerator().net[0].weight, first.weight))
        # Both discriminators create phi first, so one seed gives both the same features.
        torch.manual_seed(3)
        plain = Discriminator()
        torch.manual_seed(3)
        projection = ConditionalDiscriminator()
        torch.testing.assert_close(plain.phi(self.x), projection.phi(self.x), rtol=0, atol=0)

    def test_projection_logit_is_the_label_row_of_a_phi_plus_b(self):
        d = ConditionalDiscriminator()
        a, b = d.head.weight, d.head.bias  # (10, 512) and (10,)
        with torch.no_grad():
            expected = (F.one_hot(self.y, 10).float() * (phi(d, self.x) @ a.T + b)).sum(1)
            logits = d(self.x, self.y)
            torch.testing.assert_close(logits, expected)
            other = d(self.x, (self.y + 1) % 10)
        self.assertTrue((other != logits).all())

    def test_plain_discriminator_is_a_linear_map_of_phi(self):
        d = Discriminator()
        with torch.no_grad():
            expected = (phi(d, self.x) @ d.head.weight.T + d.head.bias).squeeze(1)
            torch.testing.assert_close(d(self.x), expected)

    def test_conditional_generator_is_fed_z_then_one_hot_y(self):
        g = ConditionalGenerator().eval()  # batch statistics would mix the samples
        seen = []
        g.net[0].register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
        g(self.z, self.y)
        torch.testing.assert_close(seen[0], torch.cat([self.z, F.one_hot(self.y, 10).float()], 1))

        with torch.no_grad():
            g.net[0].weight[:, :64] = 0  # blind to z: only the label is left
            same_y = g(torch.randn(6, 64), self.y), g(torch.randn(6, 64), self.y)
            torch.testing.assert_close(*same_y, rtol=0, atol=0)
            self.assertFalse(torch.equal(same_y[0], g(torch.randn(6, 64), (self.y + 1) % 10)))

    def test_discriminators_have_no_normalisation(self):
        norms = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm,
                 nn.LocalResponseNorm)
        for d in [Discriminator(), ConditionalDiscriminator()]:
            with self.subTest(model=type(d).__name__):
                self.assertFalse([m for m in d.modules() if isinstance(m, norms)])
                # So in training mode each logit depends on its own sample alone.
                d.train()
                args = (self.x, self.y) if isinstance(d, ConditionalDiscriminator) else (self.x,)
                alone = d(*(a[:1] for a in args))
                torch.testing.assert_close(d(*args)[:1], alone)


def public_values(module: nn.Module) -> set[str]:
    """The public attributes of ``module`` that are values, not methods or layers, beyond
    those every nn.Module has (``training``, ...)."""
    def values(instance: nn.Module) -> set[str]:
        return {name for name in dir(instance)
                if not name.startswith("_") and not callable(getattr(instance, name))}

    return values(module) - values(nn.Module())


class StandInTest(unittest.TestCase):
    """The grader's stand-ins (common/stand_ins.py) for these networks."""

    def test_every_stand_in_has_the_public_attributes_of_its_network(self):
        self.assertEqual(set(sandbox_calls.NETWORKS),
                         {cls.__name__ for pair in stand_ins.STANDS_IN_FOR.items()
                          for cls in pair})
        for stand_in, network in stand_ins.STANDS_IN_FOR.items():
            with self.subTest(stand_in=stand_in.__name__, network=network.__name__):
                self.assertLessEqual(public_values(network()), public_values(stand_in()))

    def test_a_loss_may_draw_its_inputs_from_those_attributes(self):
        # As a student's loss may: noise of g.dim_z, fake labels among g.num_classes
        g = stand_ins.LinearConditionalGenerator()
        d = stand_ins.TinyConditionalDiscriminator()
        labels = torch.randint(g.num_classes, (32,))
        self.assertEqual(d(g(torch.randn(32, g.dim_z), labels), labels).shape, (32,))


if __name__ == "__main__":
    unittest.main()
