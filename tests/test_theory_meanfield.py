"""Mean-field signal propagation: quadrature, fixed points, chi_1, theory against measurement."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import gradwatch as gw

MOVED_TO_DIAGNOSTICS = (
    "chi_1_comparison",
    "depth_profile",
    "fit_per_layer_factor",
    "jacobian_spectra",
    "measure_chi_1",
    "measured_gradient_norms",
    "random_mlp",
)


class Absolute(gw.activations.Activation):
    """|z|: positively homogeneous, E[g(z)^2] = E[z^2], declared through homogeneous_moment."""

    name = "absolute"

    @property
    def homogeneous_moment(self) -> float:
        return 1.0

    def __call__(self, z):
        return np.abs(z)

    def derivative(self, z):
        return np.sign(z)


class HalfTanh(gw.activations.Activation):
    """tanh(z) / 2: smooth, not homogeneous, unknown to theory; quadrature must handle it."""

    name = "half_tanh"

    def __call__(self, z):
        return 0.5 * np.tanh(z)

    def derivative(self, z):
        t = np.tanh(z)
        return 0.5 * (1.0 - t * t)


def test_quadrature_matches_gaussian_moments() -> None:
    q = np.array([0.5, 1.0, 3.0])
    np.testing.assert_allclose(gw.theory.gaussian_expectation(np.square, q), q, rtol=1e-12)
    np.testing.assert_allclose(
        gw.theory.gaussian_expectation(lambda z: z**4, q), 3 * q**2, rtol=1e-12
    )


@pytest.mark.parametrize(
    ("name", "slope"),
    [("identity", 1.0), ("relu", 0.5), ("leaky_relu", 0.5 * (1 + 0.01**2)), (Absolute(), 1.0)],
    ids=["identity", "relu", "leaky_relu", "absolute"],
)
@pytest.mark.parametrize("sigma_w", [0.7, 1.3])
def test_closed_forms_agree_with_quadrature(name, slope: float, sigma_w: float) -> None:
    act = gw.activations.get(name)
    quad_q = sigma_w**2 * float(gw.theory.gaussian_expectation(lambda z: act(z) ** 2, 2.0, 300))
    assert float(gw.theory.q_map(2.0, name, sigma_w)) == pytest.approx(quad_q, rel=1e-3)
    quad_chi = sigma_w**2 * float(
        gw.theory.gaussian_expectation(lambda z: act.derivative(z) ** 2, 2.0, 300)
    )
    assert gw.theory.chi_1(name, sigma_w) == pytest.approx(quad_chi, rel=2e-2)
    assert gw.theory.chi_1(name, sigma_w) == pytest.approx(slope * sigma_w**2)


def test_fixed_point_is_fixed_and_closed_form() -> None:
    q = gw.theory.q_fixed_point("tanh", 1.7, 0.2)
    assert float(gw.theory.q_map(q, "tanh", 1.7, 0.2)) == pytest.approx(q, rel=1e-10)
    assert gw.theory.q_fixed_point("relu", 1.0, 0.5) == pytest.approx(0.25 / 0.5)
    assert gw.theory.q_fixed_point("identity", 0.5, 1.0) == pytest.approx(1.0 / 0.75)
    assert gw.theory.q_fixed_point("relu", 2**0.5, 0.0, q0=3.0) == pytest.approx(3.0)


def test_new_activation_goes_through_quadrature() -> None:
    act = HalfTanh()
    q = gw.theory.q_fixed_point(act, 2.5, 0.2)
    assert float(gw.theory.q_map(q, act, 2.5, 0.2)) == pytest.approx(q, rel=1e-10)
    # tanh(z)/2 with sigma_w is tanh(z) with sigma_w / 2: the same fixed point and chi_1
    assert q == pytest.approx(gw.theory.q_fixed_point("tanh", 1.25, 0.2), rel=1e-8)
    assert gw.theory.chi_1(act, 2.5, 0.2) == pytest.approx(gw.theory.chi_1("tanh", 1.25, 0.2))
    grid = gw.theory.chi_1_grid(act, [2.5], [0.2])
    assert grid[0, 0] == pytest.approx(gw.theory.chi_1(act, 2.5, 0.2), rel=1e-8)


def test_divergence_and_bad_input() -> None:
    with pytest.raises(ValueError, match=r"diverges: 0.5 \* sigma_w\*\*2 = 1.125"):
        gw.theory.q_fixed_point("relu", 1.5, 0.1)
    with pytest.raises(ValueError, match=r"diverges: sigma_w\*\*2 = 1.21"):
        gw.theory.q_fixed_point("identity", 1.1, 0.1)
    with pytest.raises(ValueError, match="diverges"):
        gw.theory.q_fixed_point("elu", 3.0, 0.5)
    with pytest.raises(ValueError, match="sigma_w"):
        gw.theory.chi_1("tanh", -1.0)
    with pytest.raises(TypeError, match="sigma_b"):
        gw.theory.chi_1("tanh", 1.0, "0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="q must"):
        gw.theory.gaussian_expectation(np.square, -1.0)
    with pytest.raises(ValueError, match="n_points"):
        gw.theory.gaussian_expectation(np.square, 1.0, n_points=1)
    with pytest.raises(TypeError, match="f must be a function of an array, got str"):
        gw.theory.gaussian_expectation("square", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_iter"):
        gw.theory.q_fixed_point("tanh", 1.0, max_iter=0)
    with pytest.raises(ValueError, match="depth"):
        gw.theory.mean_field("tanh", 0.8, 0.1).gradient_profile(0)
    with pytest.raises(RuntimeError, match="max_iter"):
        gw.theory.q_fixed_point("tanh", 1.0, 0.0, max_iter=50)
    with pytest.raises(ValueError, match="weights"):
        gw.diagnostics.random_mlp(4, 2, weights="uniform")
    with pytest.raises(ValueError, match="skip"):
        gw.diagnostics.measure_chi_1("tanh", 1.0, depth=4, skip=2)
    with pytest.raises(ValueError, match="seeds"):
        gw.diagnostics.measure_chi_1("tanh", 1.0, depth=4, skip=1, seeds=())
    with pytest.raises(ValueError, match="width"):
        gw.diagnostics.random_mlp(0, 2)
    with pytest.raises(ValueError, match="sigma_b"):
        gw.diagnostics.random_mlp(4, 2, sigma_b=-0.1)


def test_phases_depth_scale_and_profile() -> None:
    assert gw.theory.mean_field("tanh", 0.8, 0.1).phase == "ordered"
    assert gw.theory.mean_field("tanh", 2.0, 0.1).phase == "chaotic"
    assert gw.theory.mean_field("relu", 2**0.5).phase == "critical"
    assert gw.theory.depth_scale(1.0) == float("inf")
    assert gw.theory.depth_scale(np.exp(-0.1)) == pytest.approx(10.0)
    assert gw.theory.depth_scale(np.exp(0.5)) == pytest.approx(-2.0)
    mf = gw.theory.mean_field("tanh", 1.5, 0.3)
    profile = mf.gradient_profile(5)
    np.testing.assert_allclose(profile[:-1] / profile[1:], mf.chi_1)


def test_grid_matches_pointwise_and_critical_line() -> None:
    ws, bs = np.array([0.6, 1.2, 2.5]), np.array([0.05, 0.4])
    grid = gw.theory.chi_1_grid("tanh", ws, bs)
    for i, b in enumerate(bs):
        for j, w in enumerate(ws):
            assert grid[i, j] == pytest.approx(gw.theory.chi_1("tanh", w, b), rel=1e-8)
    w_star = gw.theory.critical_sigma_w("tanh", 0.3)
    assert gw.theory.chi_1("tanh", w_star, 0.3) == pytest.approx(1.0, abs=1e-8)
    np.testing.assert_allclose(gw.theory.chi_1_grid("relu", [1.0, 2.0], [0.0]), [[0.5, 2.0]])


def test_bisect_halves_to_rounding_or_to_tol() -> None:
    def cube(x: float) -> float:
        return x**3 - 2.0

    assert gw.theory.bisect(cube, 0.0, 2.0) == pytest.approx(2.0 ** (1 / 3), abs=1e-15)
    coarse = gw.theory.bisect(cube, 0.0, 2.0, tol=1e-3)
    assert coarse == pytest.approx(2.0 ** (1 / 3), abs=1e-3)
    assert coarse != gw.theory.bisect(cube, 0.0, 2.0)  # it stopped early
    assert gw.theory.bisect(cube, 0.0, 2.0, max_iter=1) == 1.5  # one halving: [1, 2]


def test_random_mlp_draws_the_stated_scales() -> None:
    net = gw.diagnostics.random_mlp(400, 2, "tanh", sigma_w=1.5, sigma_b=0.3, seed=3)
    W, b = net.layers[0].W, net.layers[0].b
    assert float(W.std()) * np.sqrt(400) == pytest.approx(1.5, rel=0.01)
    assert float(b.std()) == pytest.approx(0.3, rel=0.15)
    ortho = gw.diagnostics.random_mlp(50, 1, "tanh", sigma_w=1.5, weights="orthogonal", seed=0)
    np.testing.assert_allclose(np.linalg.svd(ortho.layers[0].W, compute_uv=False), 1.5)


@pytest.mark.parametrize(
    ("activation", "sigma_w", "sigma_b"),
    [("tanh", 1.0, 0.05), ("tanh", 2.0, 0.3), ("relu", 1.2, 0.0)],
)
def test_theory_matches_measured_gradient_norms(
    activation: str, sigma_w: float, sigma_b: float
) -> None:
    # Wide (500) and deep (30) random networks, 2 seeds x 16 inputs: the geometric-mean
    # per-layer factor of the squared gradient norm over the middle 20 layers agrees with
    # chi_1 to a few percent (finite-width corrections are O(1/width)).
    factor, profile = gw.diagnostics.measure_chi_1(
        activation, sigma_w, sigma_b, width=500, depth=30, seeds=(0, 1), n_samples=16, skip=5
    )
    chi = gw.theory.chi_1(activation, sigma_w, sigma_b)
    assert factor == pytest.approx(chi, rel=0.03)
    assert profile[-1] == pytest.approx(1.0)


def test_orthogonal_weights_are_better_conditioned() -> None:
    w = gw.theory.critical_sigma_w("tanh", 0.01)
    spectra = gw.diagnostics.jacobian_spectra(64, 16, "tanh", w, 0.01, seed=0)
    spread = {k: float(np.std(np.log(v))) for k, v in spectra.items()}
    assert spread["orthogonal"] < 0.5 * spread["gaussian"]


def test_identity_spectra_are_those_of_the_weights() -> None:
    spectra = gw.diagnostics.jacobian_spectra(16, 4, "identity", sigma_w=0.9, seed=0)
    np.testing.assert_allclose(spectra["orthogonal"], 0.9**4, rtol=1e-10)
    net = gw.diagnostics.random_mlp(16, 4, "identity", sigma_w=0.9, seed=0)
    product = np.linalg.multi_dot([layer.W for layer in net.layers])
    np.testing.assert_allclose(
        spectra["gaussian"], np.linalg.svd(product, compute_uv=False), rtol=1e-10
    )


def test_chi_1_comparison_is_theory_beside_measurement() -> None:
    ws = [1.0, 1.3]
    table = gw.diagnostics.chi_1_comparison(
        "relu", ws, 0.0, width=120, depth=8, seeds=[0, 1], skip=2
    )
    np.testing.assert_array_equal(table["sigma_w"], ws)
    np.testing.assert_allclose(table["predicted"], [gw.theory.chi_1("relu", w) for w in ws])
    for i, w in enumerate(ws):
        factor, profile = gw.diagnostics.measure_chi_1(
            "relu", w, 0.0, width=120, depth=8, seeds=[0, 1], skip=2
        )
        assert table["measured"][i] == factor
        np.testing.assert_array_equal(table["profiles"][i], profile)
    np.testing.assert_allclose(table["measured"], table["predicted"], rtol=0.1)


def test_theory_imports_no_measurement_code() -> None:
    """theory.py holds predictions only: no module-level import of the measuring modules."""
    tree = ast.parse(Path(gw.theory.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in tree.body:  # module level only
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    for module in ("gradwatch.diagnostics", "gradwatch.network", "gradwatch.init"):
        assert module not in imported
    for name in MOVED_TO_DIAGNOSTICS:
        assert name in gw.diagnostics.__all__
        assert name not in gw.theory.__all__


def test_moved_names_are_gone_from_theory() -> None:
    for name in MOVED_TO_DIAGNOSTICS:
        assert not hasattr(gw.theory, name)


@pytest.mark.parametrize("activation", ["relu", "identity", "tanh", "sigmoid"])
@pytest.mark.parametrize("q", [-1.0, float("nan"), float("inf")])
def test_q_map_checks_q_the_same_way_for_every_activation(activation: str, q: float) -> None:
    # Closed form (relu, identity) or quadrature (tanh, sigmoid): one check, one message.
    with pytest.raises(ValueError, match=rf"^q must hold non-negative finite variances, got {q}$"):
        gw.theory.q_map(q, activation, sigma_w=1.0)


# ---------------------------------------------------------------------------------------------
# The correlation map, c* and xi_c.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "sigma_w", "sigma_b"),
    [("tanh", 1.5, 0.3), ("sigmoid", 3.0, 0.2), ("relu", 1.2, 0.1), ("tanh", 0.8, 0.1)],
)
def test_identical_inputs_stay_identical(activation: str, sigma_w: float, sigma_b: float) -> None:
    assert float(gw.theory.c_map(1.0, activation, sigma_w, sigma_b)) == pytest.approx(1.0, abs=1e-9)


def test_the_c_map_of_the_identity_is_linear() -> None:
    c = np.array([-0.5, 0.0, 0.3, 0.9])
    np.testing.assert_allclose(gw.theory.c_map(c, "identity", 1.3, q=2.0), c * 1.69, rtol=1e-12)
    expected = (1.69 * 2.0 * c + 0.25) / 2.0
    np.testing.assert_allclose(gw.theory.c_map(c, "identity", 1.3, 0.5, q=2.0), expected)


def test_relu_closed_form_matches_quadrature() -> None:
    """The arc-cosine kernel against a fine 2-D rule (a kink converges slowly: 5e-3)."""
    relu = gw.activations.get("relu")
    c = np.array([-0.6, 0.0, 0.5, 0.95])
    closed = gw.theory.c_map(c, "relu", 2**0.5, q=1.0)
    quadrature = 2.0 * gw.theory._pair_expectation(relu, relu, 1.0, c, n_points=201)
    np.testing.assert_allclose(closed, quadrature, atol=5e-3)
    assert float(gw.theory.c_map(0.0, "relu", 2**0.5, q=1.0)) == pytest.approx(1 / np.pi)


@pytest.mark.parametrize(
    ("activation", "sigma_w", "sigma_b"),
    [("tanh", 1.5, 0.3), ("sigmoid", 3.0, 0.2), ("relu", 1.2, 0.1), ("leaky_relu", 1.3, 0.0)],
)
def test_chi_c_at_one_is_chi_1(activation: str, sigma_w: float, sigma_b: float) -> None:
    chi = gw.theory.chi_1(activation, sigma_w, sigma_b)
    assert gw.theory.chi_c(activation, sigma_w, sigma_b, c=1.0) == pytest.approx(chi, rel=1e-9)


@pytest.mark.parametrize(("sigma_w", "sigma_b"), [(1.7, 0.1), (2.5, 0.3), (1.3, 0.1)])
def test_chaotic_fixed_point_is_stable_and_the_slope_is_chi_c(
    sigma_w: float, sigma_b: float
) -> None:
    assert gw.theory.chi_1("tanh", sigma_w, sigma_b) > 1
    corr = gw.theory.correlation("tanh", sigma_w, sigma_b)
    assert 0 < corr.c_star < 1
    assert float(gw.theory.c_map(corr.c_star, "tanh", sigma_w, sigma_b)) == pytest.approx(
        corr.c_star, abs=1e-10
    )
    h = 1e-5
    up = gw.theory.c_map(corr.c_star + h, "tanh", sigma_w, sigma_b)
    down = gw.theory.c_map(corr.c_star - h, "tanh", sigma_w, sigma_b)
    assert float(up - down) / (2 * h) == pytest.approx(corr.chi_c, rel=1e-4)
    assert corr.chi_c < 1  # stable
    assert corr.depth_scale == pytest.approx(-1 / np.log(corr.chi_c))


def test_ordered_phase_has_c_star_one_and_shares_the_depth_scale() -> None:
    corr = gw.theory.correlation("tanh", 0.8, 0.1)
    assert corr.c_star == 1.0
    assert corr.depth_scale == pytest.approx(gw.theory.mean_field("tanh", 0.8, 0.1).depth_scale)
    profile = corr.profile(30, 0.5)
    assert profile[0] == 0.5
    assert np.all(np.diff(profile) > 0)
    assert profile[-1] > 0.9999
    # 1 - c falls by chi_1 per layer once c is near 1
    assert (1 - profile[-1]) / (1 - profile[-2]) == pytest.approx(corr.chi_c, rel=1e-3)


def test_relu_at_the_he_scale_is_critical() -> None:
    corr = gw.theory.correlation("relu", 2**0.5)
    assert corr.c_star == 1.0
    assert corr.chi_c == 1.0
    assert corr.q_star == 1.0
    assert corr.depth_scale == float("inf")


def test_correlation_functions_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="correlations in"):
        gw.theory.c_map(1.5, "tanh", 1.0, 0.1)
    with pytest.raises(ValueError, match="q must be a positive"):
        gw.theory.c_map(0.5, "tanh", 1.0, 0.1, q=0.0)
    with pytest.raises(RuntimeError, match="did not converge"):
        gw.theory.c_fixed_point("tanh", 1.3, 0.1, max_iter=3)


def test_quadrature_is_exact_across_a_jump_at_zero() -> None:
    # SELU's derivative jumps at 0: E[selu'(z)^2] = lambda^2 (1/2 + alpha^2 e^2 Phi(-2)).
    selu = gw.activations.get("selu")
    lam, alpha = selu.SCALE, selu.ALPHA
    phi_minus_2 = 0.5 * math.erfc(2.0 / math.sqrt(2.0))
    exact = lam**2 * (0.5 + alpha**2 * math.exp(2.0) * phi_minus_2)
    assert gw.theory.chi_1("selu", 1.0, 0.0, q=1.0) == pytest.approx(exact, rel=1e-10)
    relu_slope = gw.theory.gaussian_expectation(lambda z: (z > 0).astype(float), 1.0)
    assert float(relu_slope) == pytest.approx(0.5, abs=1e-12)
