"""Numerical checks of the written answers (problems 2a, 3a-3d, 4a, 5a-5d), worth 0 points.

Each test takes the closed form derived in submission.tex (the functions under "The closed
forms of the answers") and compares it with a computation that does not use it: a numerical
minimisation, autograd, quadrature, Monte Carlo, a linear program or an independent
implementation of a density. The written answers themselves are graded by hand.

grader.py runs these tests beside its own (not in Gradescope mode: they carry no points);
each runs well under a second.
"""

import unittest
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy import integrate, optimize, special, stats
from torch import Tensor
from torch.distributions import Normal, kl_divergence

from judge.declare import graded

__all__ = [
    "VanishingGradientCheck",
    "DivergenceChecks",
    "ProjectionDiscriminatorCheck",
    "WassersteinChecks",
]

DTYPE = torch.float64
TOL = 1e-6  # agreement of a numerical optimum with a closed form


# ----------------------------------------------------------------------------------------
# The closed forms of the answers


def minimax_logit_gradient(h: Tensor) -> Tensor:
    """2a: d/dh log(1 - sigma(h)) = -sigma(h)."""
    return -torch.sigmoid(h)


def nonsaturating_logit_gradient(h: Tensor) -> Tensor:
    """2a: d/dh [-log sigma(h)] = -(1 - sigma(h))."""
    return -(1 - torch.sigmoid(h))


def optimal_discriminator(p_data: np.ndarray, p_theta: np.ndarray) -> np.ndarray:
    """3a, equation 13: D* = p_data / (p_theta + p_data)."""
    return p_data / (p_theta + p_data)


def optimal_logits(p_data: np.ndarray, p_theta: np.ndarray) -> np.ndarray:
    """3b, equation 14: h* = log(p_data / p_theta)."""
    return np.log(p_data / p_theta)


def nll_as_kl(p_data: np.ndarray, p_theta: np.ndarray) -> float:
    """3d: -E_p_data log p_theta = KL(p_data || p_theta) + H(p_data)."""
    return kl(p_data, p_theta) + stats.entropy(p_data)


def moment_matched_gaussian(modes: np.ndarray, std: float) -> tuple[float, float]:
    """3d: the Gaussian closest in KL(p_data || .) to an equal mixture of N(mode, std^2): the
    mean and standard deviation of the mixture."""
    return modes.mean(), np.sqrt(modes.var() + std**2)


def projection_parameters(mu: np.ndarray, mu_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """4a: A (m, d) with rows mu_i - mu_hat_i, b (m,) with b_i = (|mu_hat_i|^2 - |mu_i|^2) / 2."""
    return mu - mu_hat, 0.5 * ((mu_hat**2).sum(axis=1) - (mu**2).sum(axis=1))


def kl_equal_variance(theta: float, theta_0: float, eps: float) -> float:
    """5a, equation 21: KL(N(theta, eps^2) || N(theta_0, eps^2))."""
    return (theta - theta_0) ** 2 / (2 * eps**2)


def kl_equal_variance_derivative(theta: float, theta_0: float, eps: float) -> float:
    """5b: d/dtheta of equation 21, (theta - theta_0) / eps^2."""
    return (theta - theta_0) / eps**2


def unbounded_critic(theta: float, theta_0: float, c: float) -> Callable:
    """5c: D_c(x) = c sign(theta - theta_0) (theta_0 - x), whose L_D is -c |theta - theta_0|."""
    sign = np.sign(theta - theta_0)
    return lambda x: c * sign * (theta_0 - x)


def best_lipschitz_critic(theta: float, theta_0: float) -> Callable:
    """5d: D*(x) = sign(theta_0 - theta) x, a line of slope +-1 rising towards theta_0."""
    slope = np.sign(theta_0 - theta)
    return lambda x: slope * x


def best_critic_loss(theta: float, theta_0: float) -> float:
    """5d: min L_D = -|theta - theta_0| over critics with |D'| <= 1."""
    return -abs(theta - theta_0)


# ----------------------------------------------------------------------------------------
# Independent computations


def minimise(loss: Callable[[Tensor], Tensor], x0: np.ndarray) -> np.ndarray:
    """The minimiser of a float64 torch function of one vector, by BFGS with autograd."""

    def value_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(x, dtype=DTYPE, requires_grad=True)
        value = loss(t)
        (gradient,) = torch.autograd.grad(value, t)
        return value.item(), gradient.numpy()

    result = optimize.minimize(
        value_and_gradient, x0, jac=True, method="BFGS", options={"gtol": 1e-12}
    )
    return result.x


def discriminator_loss(logits: Tensor, p_data: Tensor, p_theta: Tensor) -> Tensor:
    """Equation 12 on a finite set: -sum p_data log D - sum p_theta log(1 - D), D = sigma(h)."""
    return -(p_data * F.logsigmoid(logits)).sum() - (p_theta * F.logsigmoid(-logits)).sum()


def fitted_logits(p_data: np.ndarray, p_theta: np.ndarray) -> np.ndarray:
    """The logits of the discriminator that minimises equation 12, found numerically."""
    p, q = torch.tensor(p_data), torch.tensor(p_theta)
    return minimise(lambda h: discriminator_loss(h, p, q), np.zeros(len(p_data)))


def two_distributions(size: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """p_data and p_theta: two different random distributions on ``size`` points."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(size)), rng.dirichlet(np.ones(size))


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) of distributions on a finite set."""
    return special.rel_entr(p, q).sum()


# ----------------------------------------------------------------------------------------
# Tests


class WrittenAnswerCheck(unittest.TestCase):
    """Runs torch on one thread: on computations this small a second thread only adds
    synchronisation, many times more when other processes load the cores."""

    def setUp(self) -> None:
        self.addCleanup(torch.set_num_threads, torch.get_num_threads())
        torch.set_num_threads(1)


class VanishingGradientCheck(WrittenAnswerCheck):
    """Problem 2a: the minimax generator loss saturates where D rejects the fakes."""

    @graded(
        "2a-0-basic",
        "autograd of log(1 - sigma(h)) and -log sigma(h) at h in [-20, 0] equals -sigma(h) and "
        "-(1 - sigma(h)); the first vanishes below e^h, the second tends to -1; through a "
        "linear G and D, dL/dtheta = -E[sigma(h) dh/dtheta]",
    )
    def test_vanishing_gradient(self) -> None:
        h = torch.linspace(-20, 0, 81, dtype=DTYPE, requires_grad=True)
        (minimax,) = torch.autograd.grad(torch.log1p(-torch.sigmoid(h)).sum(), h)
        (nonsaturating,) = torch.autograd.grad(-torch.log(torch.sigmoid(h)).sum(), h)
        h = h.detach()
        torch.testing.assert_close(minimax, minimax_logit_gradient(h), rtol=1e-10, atol=0)
        torch.testing.assert_close(
            nonsaturating, nonsaturating_logit_gradient(h), rtol=1e-10, atol=0
        )
        self.assertTrue((minimax.abs() <= h.exp()).all(), "|dL/dh| = sigma(h) < e^h")
        self.assertLess(minimax[0].abs().item(), 3e-9, "at h = -20 the minimax gradient vanishes")
        self.assertAlmostEqual(nonsaturating[0].item(), -1.0, places=8)

        # G(z) = theta_1 + theta_2 z and logits h(x) = 2 x - 15 << 0: D rejects every fake.
        z = torch.randn(1000, generator=torch.Generator().manual_seed(0), dtype=DTYPE)
        theta = torch.tensor([0.5, 1.0], dtype=DTYPE, requires_grad=True)
        logits = 2 * (theta[0] + theta[1] * z) - 15
        (minimax_grad,) = torch.autograd.grad(
            torch.log1p(-torch.sigmoid(logits)).mean(), theta, retain_graph=True
        )
        (nonsaturating_grad,) = torch.autograd.grad(-F.logsigmoid(logits).mean(), theta)
        dh_dtheta = 2 * torch.stack([torch.ones_like(z), z], dim=1)
        expected = (minimax_logit_gradient(logits.detach())[:, None] * dh_dtheta).mean(dim=0)
        torch.testing.assert_close(minimax_grad, expected, rtol=1e-10, atol=0)
        ratio = (minimax_grad.norm() / nonsaturating_grad.norm()).item()
        self.assertLess(ratio, 1e-4, "the minimax gradient is << the non-saturating one")


class DivergenceChecks(WrittenAnswerCheck):
    """Problem 3: the optimal discriminator, its logits, and the KL divergences."""

    @graded(
        "3a-0-basic",
        "minimising equation 12 over D numerically (BFGS on the logits, 6-point distributions) "
        "gives D* = p_data / (p_theta + p_data); no other D does better",
    )
    def test_optimal_discriminator(self) -> None:
        p, q = two_distributions()
        fitted = special.expit(fitted_logits(p, q))
        np.testing.assert_allclose(
            fitted, optimal_discriminator(p, q), rtol=0, atol=TOL, err_msg="numerical argmin vs D*"
        )

        def loss(d: np.ndarray) -> float:
            return -(p * np.log(d)).sum() - (q * np.log(1 - d)).sum()

        best = loss(optimal_discriminator(p, q))
        rng = np.random.default_rng(1)
        for _ in range(100):
            self.assertGreater(loss(rng.uniform(0.01, 0.99, len(p))), best)

    @graded(
        "3b-0-basic",
        "the logits that minimise equation 12 are log(p_data / p_theta): on 6-point "
        "distributions, and for N(1, 1) against N(-0.5, 1) with linear logits a x + b fitted by "
        "quadrature (a = 1.5, b = -0.375)",
    )
    def test_optimal_logits(self) -> None:
        p, q = two_distributions()
        np.testing.assert_allclose(
            fitted_logits(p, q), optimal_logits(p, q), rtol=0, atol=TOL, err_msg="logits at D*"
        )

        # Equation 12 as integrals on a grid; the log-ratio of the two Gaussians is linear.
        x = torch.linspace(-12, 12, 4001, dtype=DTYPE)
        p_data, p_theta = Normal(1.0, 1.0).log_prob(x).exp(), Normal(-0.5, 1.0).log_prob(x).exp()

        def loss(ab: Tensor) -> Tensor:
            logits = ab[0] * x + ab[1]
            integrand = -p_data * F.logsigmoid(logits) - p_theta * F.logsigmoid(-logits)
            return torch.trapezoid(integrand, x)

        a, b = minimise(loss, np.zeros(2))
        grid = np.linspace(-3, 3, 7)
        expected = optimal_logits(stats.norm.pdf(grid, 1, 1), stats.norm.pdf(grid, -0.5, 1))
        np.testing.assert_allclose(
            a * grid + b, expected, rtol=0, atol=1e-5, err_msg="fitted linear logits"
        )

    @graded(
        "3c-0-basic",
        "at the numerically optimal D, equation 15 equals KL(p_theta || p_data), not "
        "KL(p_data || p_theta); with D frozen its gradient in theta (softmax p_theta) is the "
        "gradient of the KL (autograd)",
    )
    def test_generator_loss_is_reverse_kl(self) -> None:
        p, q = two_distributions()
        d = special.expit(fitted_logits(p, q))
        generator_loss = (q * np.log(1 - d)).sum() - (q * np.log(d)).sum()
        self.assertAlmostEqual(
            generator_loss, kl(q, p), delta=TOL, msg="L_G vs KL(p_theta||p_data)"
        )
        self.assertGreater(abs(generator_loss - kl(p, q)), 0.1, "the other direction differs")

        # p_theta = softmax(theta), at theta = log q; the discriminator's logits h* stay fixed,
        # so that equation 15 is E_p_theta[-h*].
        theta = torch.tensor(np.log(q), requires_grad=True)
        frozen_logits = torch.tensor(optimal_logits(p, q))
        p_data = torch.tensor(p)
        (frozen,) = torch.autograd.grad(-(F.softmax(theta, 0) * frozen_logits).sum(), theta)
        log_q = F.log_softmax(theta, 0)
        (exact,) = torch.autograd.grad((log_q.exp() * (log_q - p_data.log())).sum(), theta)
        torch.testing.assert_close(frozen, exact, rtol=1e-10, atol=1e-12)

    @graded(
        "3d-0-basic",
        "NLL = KL(p_data || p_theta) + H(p_data) for several p_theta; fitting one Gaussian to two "
        "modes at +-3: the NLL and forward-KL fits agree and cover both (mean 0, std 3.04), the "
        "reverse-KL fit picks one mode (mean 3, std 0.5)",
    )
    def test_forward_and_reverse_kl(self) -> None:
        p = two_distributions(seed=0)[0]
        for seed in range(1, 6):
            q = two_distributions(seed=seed)[1]
            self.assertAlmostEqual(-(p * np.log(q)).sum(), nll_as_kl(p, q), delta=1e-12)

        # A discretised Gaussian q_(m, s) on a grid fitted to the mixture p of N(+-3, 0.5^2).
        modes, std = np.array([-3.0, 3.0]), 0.5
        x = torch.linspace(-15, 15, 601, dtype=DTYPE)
        log_components = torch.stack([Normal(mode, std).log_prob(x) for mode in modes])
        log_p = F.log_softmax(torch.logsumexp(log_components, dim=0), dim=0)

        def log_q(params: Tensor) -> Tensor:
            return F.log_softmax(Normal(params[0], params[1].exp()).log_prob(x), dim=0)

        def forward_kl(params: Tensor) -> Tensor:
            return (log_p.exp() * (log_p - log_q(params))).sum()

        def reverse_kl(params: Tensor) -> Tensor:
            log_q_ = log_q(params)
            return (log_q_.exp() * (log_q_ - log_p)).sum()

        def nll(params: Tensor) -> Tensor:
            return -(log_p.exp() * log_q(params)).sum()

        start = np.array([1.0, 0.0])  # mean 1, log std 0: off the symmetric saddle
        mean_f, log_std_f = minimise(forward_kl, start)
        mean_r, log_std_r = minimise(reverse_kl, start)
        np.testing.assert_allclose(minimise(nll, start), [mean_f, log_std_f], atol=1e-5)
        np.testing.assert_allclose(
            [mean_f, np.exp(log_std_f)], moment_matched_gaussian(modes, std), atol=0.01
        )
        # Off the data's support q pays log q / p ~ +infinity: it sits on the nearer mode.
        np.testing.assert_allclose([mean_r, np.exp(log_std_r)], [modes[1], std], atol=0.01)


class ProjectionDiscriminatorCheck(WrittenAnswerCheck):
    """Problem 4a: the optimal logits of the conditional discriminator."""

    @graded(
        "4a-0-basic",
        "log N(phi | mu_y, I) - log N(phi | mu_hat_y, I) (scipy densities, 5 classes, 7 features, "
        "random means and features) equals y^T (A phi + b) with the A and b of the answer",
    )
    def test_projection_form(self) -> None:
        rng = np.random.default_rng(0)
        classes, features = 5, 7
        mu, mu_hat = rng.normal(size=(classes, features)), rng.normal(size=(classes, features))
        a, b = projection_parameters(mu, mu_hat)
        for phi in rng.normal(scale=2, size=(10, features)):
            for label, one_hot in enumerate(np.eye(classes)):
                # log p_data(x, y) - log p_theta(x, y), with p_data(y) = p_theta(y) = 1/m
                log_ratio = (
                    stats.multivariate_normal.logpdf(phi, mu[label], np.eye(features))
                    - np.log(classes)
                    - stats.multivariate_normal.logpdf(phi, mu_hat[label], np.eye(features))
                    + np.log(classes)
                )
                self.assertAlmostEqual(
                    one_hot @ (a @ phi + b),
                    log_ratio,
                    delta=1e-10,
                    msg=f"y^T(A phi + b), y={label}",
                )


class WassersteinChecks(WrittenAnswerCheck):
    """Problem 5: the KL of two narrow Gaussians, and the (Lipschitz) Wasserstein critic."""

    @graded(
        "5a-0-basic",
        "KL(N(theta, eps^2) || N(theta_0, eps^2)) = (theta - theta_0)^2 / (2 eps^2) against "
        "quadrature of p log(p / q) and a Monte Carlo estimate (200,000 draws, 5 standard errors)",
    )
    def test_kl_of_gaussians(self) -> None:
        rng = np.random.default_rng(0)
        cases = [(0.3, -1.2, 0.7), (2.0, 2.5, 1.5), (-1.0, -1.0, 0.3), (5.0, 1.0, 2.0)]
        for theta, theta_0, eps in cases:
            with self.subTest(theta=theta, theta_0=theta_0, eps=eps):
                p, q = stats.norm(theta, eps), stats.norm(theta_0, eps)
                closed_form = kl_equal_variance(theta, theta_0, eps)
                quadrature, _ = integrate.quad(
                    lambda x, p=p, q=q: p.pdf(x) * (p.logpdf(x) - q.logpdf(x)),
                    theta - 15 * eps,
                    theta + 15 * eps,
                )
                self.assertAlmostEqual(
                    quadrature, closed_form, delta=1e-8 * (1 + closed_form), msg="quadrature"
                )
                x = p.rvs(200_000, random_state=rng)
                log_ratios = p.logpdf(x) - q.logpdf(x)
                standard_error = log_ratios.std() / np.sqrt(len(x))
                error = abs(log_ratios.mean() - closed_form)
                self.assertLessEqual(error, 5 * standard_error + 1e-12, "Monte Carlo estimate")

    @graded(
        "5b-0-basic",
        "as eps goes 1 -> 1e-3 the KL (torch.distributions) and its autograd derivative grow as "
        "1/eps^2 (x100 per factor 10); gradient descent with step 0.01 converges at eps = 1 and "
        "diverges at eps = 0.05 by the factor 1 - step/eps^2",
    )
    def test_kl_blows_up(self) -> None:
        theta_0 = 0.0

        def kl_and_derivative(theta: float, eps: float) -> tuple[float, float]:
            t = torch.tensor(theta, dtype=DTYPE, requires_grad=True)
            scale = torch.tensor(eps, dtype=DTYPE)
            value = kl_divergence(Normal(t, scale), Normal(theta_0, scale))
            (derivative,) = torch.autograd.grad(value, t)
            return value.item(), derivative.item()

        theta = 0.8
        previous = None
        for eps in (1.0, 0.1, 0.01, 0.001):
            value, derivative = kl_and_derivative(theta, eps)
            expected = kl_equal_variance(theta, theta_0, eps)
            self.assertAlmostEqual(value / expected, 1, delta=1e-10, msg=f"KL at eps={eps}")
            expected = kl_equal_variance_derivative(theta, theta_0, eps)
            self.assertAlmostEqual(derivative / expected, 1, delta=1e-10, msg=f"dKL at eps={eps}")
            if previous is not None:
                self.assertAlmostEqual(value / previous, 100, delta=1e-6)
            previous = value

        step, start, steps = 0.01, 0.8, 20
        for eps, converges in ((1.0, True), (0.05, False)):
            theta = start
            for _ in range(steps):
                theta -= step * kl_and_derivative(theta, eps)[1]
            predicted = (1 - step / eps**2) ** steps * (start - theta_0)
            self.assertAlmostEqual(theta / predicted, 1, delta=1e-8)
            self.assertEqual(abs(theta - theta_0) < abs(start - theta_0), converges)

    @graded(
        "5c-0-basic",
        "for point masses at theta != theta_0, L_D = D(theta) - D(theta_0) of the line "
        "D_c(x) = c sign(theta - theta_0)(theta_0 - x) is -c |theta - theta_0|, unbounded below; "
        "the linear program over D on a grid is unbounded",
    )
    def test_no_minimiser(self) -> None:
        for theta, theta_0 in ((-1.0, 1.5), (2.0, -0.5)):
            with self.subTest(theta=theta, theta_0=theta_0):
                losses = []
                for c in (1.0, 10.0, 1e3, 1e6):
                    critic = unbounded_critic(theta, theta_0, c)
                    losses.append(critic(theta) - critic(theta_0))  # equation 22
                    self.assertAlmostEqual(losses[-1], -c * abs(theta - theta_0), delta=1e-9 * c)
                self.assertTrue(np.all(np.diff(losses) < 0) and losses[-1] < -1e6)

                # The values of D on a grid, free: the linear program has no minimum either.
                grid, objective = self.grid_objective(theta, theta_0)
                result = optimize.linprog(objective, bounds=(None, None), method="highs")
                self.assertEqual(result.status, 3, "the unconstrained problem is unbounded")

    @graded(
        "5d-0-basic",
        "with slopes in [-1, 1] (linear program over piecewise-linear D on a grid) the best "
        "L_D is -|theta - theta_0|, attained by D*(x) = sign(theta_0 - theta) x; the optimum "
        "has slope sign(theta_0 - theta) between the two points",
    )
    def test_lipschitz_critic(self) -> None:
        for theta, theta_0 in ((-1.0, 1.5), (2.0, -0.5), (0.25, 0.75)):
            with self.subTest(theta=theta, theta_0=theta_0):
                grid, objective = self.grid_objective(theta, theta_0)
                # |D_{i+1} - D_i| <= x_{i+1} - x_i, as two rows per grid step
                steps = np.diff(grid)
                difference = np.diff(np.eye(len(grid)), axis=0)
                result = optimize.linprog(
                    objective,
                    A_ub=np.vstack([difference, -difference]),
                    b_ub=np.concatenate([steps, steps]),
                    bounds=(None, None),
                    method="highs",
                )
                self.assertEqual(result.status, 0, result.message)
                self.assertAlmostEqual(
                    result.fun, best_critic_loss(theta, theta_0), delta=1e-9, msg="min L_D"
                )
                critic = best_lipschitz_critic(theta, theta_0)
                self.assertAlmostEqual(
                    critic(theta) - critic(theta_0), result.fun, delta=1e-9, msg="L_D of D*"
                )
                self.assertTrue(np.all(np.abs(np.diff(critic(grid)) / steps) <= 1 + 1e-12))
                low, high = sorted((theta, theta_0))
                between = (grid[:-1] >= low - 1e-12) & (grid[1:] <= high + 1e-12)
                slopes = np.diff(result.x) / steps
                np.testing.assert_allclose(slopes[between], np.sign(theta_0 - theta), atol=1e-9)

    @staticmethod
    def grid_objective(theta: float, theta_0: float) -> tuple[np.ndarray, np.ndarray]:
        """A grid on [-3, 3] holding both points, and c with c @ D = D(theta) - D(theta_0)."""
        grid = np.linspace(-3, 3, 25)
        objective = np.zeros(len(grid))
        objective[np.argmin(np.abs(grid - theta))] += 1
        objective[np.argmin(np.abs(grid - theta_0))] -= 1
        return grid, objective
