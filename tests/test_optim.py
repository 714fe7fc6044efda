"""Optimisers: updates against hand-computed numbers, convergence, state and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwatch as gw


def test_sgd_without_momentum() -> None:
    w, b = np.array([[1.0, -2.0]]), np.array([0.5])
    g, gb = np.array([[0.5, 1.0]]), np.array([-2.0])
    opt = gw.optim.SGD(lr=0.1)
    opt.step([w, b], [g, gb])
    np.testing.assert_allclose(w, [[0.95, -2.1]], rtol=1e-15)
    np.testing.assert_allclose(b, [0.7], rtol=1e-15)
    np.testing.assert_array_equal(g, [[0.5, 1.0]])  # gradients are not touched
    opt.step([w, b], [g, gb])
    np.testing.assert_allclose(w, [[0.9, -2.2]], rtol=1e-15)
    assert opt.steps == 2


def test_sgd_with_momentum_by_hand() -> None:
    mu, lr = 0.9, 0.1
    w = np.array([1.0])
    opt = gw.optim.SGD(lr=lr, momentum=mu)
    gradients = [2.0, -1.0, 0.5]
    # v1 = g1 = 2;  v2 = 0.9*2 - 1 = 0.8;  v3 = 0.9*0.8 + 0.5 = 1.22
    velocities = [2.0, 0.8, 1.22]
    expected = 1.0
    for g, v in zip(gradients, velocities, strict=True):
        opt.step([w], [np.array([g])])
        expected -= lr * v
        assert w[0] == pytest.approx(expected, rel=1e-14)
    assert w[0] == pytest.approx(1.0 - 0.1 * (2.0 + 0.8 + 1.22), rel=1e-14)


def test_sgd_weight_decay() -> None:
    w = np.array([2.0])
    gw.optim.SGD(lr=0.5, weight_decay=0.1).step([w], [np.array([1.0])])
    assert w[0] == pytest.approx(2.0 - 0.5 * (1.0 + 0.1 * 2.0))


def adam_reference(
    w0: np.ndarray, gradients: list[np.ndarray], lr: float, beta1: float, beta2: float, eps: float
) -> np.ndarray:
    w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    for t, g in enumerate(gradients, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def test_adam_first_step_is_lr_times_sign() -> None:
    # m_hat = g and v_hat = g^2 after one step, so the step is lr * g / (|g| + eps).
    w = np.array([1.0, 1.0, 1.0])
    g = np.array([123.0, -0.01, 0.0])
    gw.optim.Adam(lr=0.1, eps=1e-8).step([w], [g])
    np.testing.assert_allclose(
        w, [1.0 - 0.1 * 123 / (123 + 1e-8), 1.0 + 0.1 * 0.01 / (0.01 + 1e-8), 1.0], rtol=1e-15
    )


def test_adam_first_steps_against_the_formula(rng: np.random.Generator) -> None:
    w0 = rng.normal(size=(3, 2))
    gradients = [rng.normal(size=(3, 2)) for _ in range(5)]
    for lr, betas, eps in [
        (1e-3, (0.9, 0.999), 1e-8),
        (0.05, (0.5, 0.9), 1e-3),
        (0.1, (0.0, 0.0), 1e-8),
    ]:
        w = w0.copy()
        opt = gw.optim.Adam(lr=lr, betas=betas, eps=eps)
        for t in range(1, len(gradients) + 1):
            opt.step([w], [gradients[t - 1]])
            expected = adam_reference(w0, gradients[:t], lr, *betas, eps)
            np.testing.assert_allclose(w, expected, rtol=1e-13, atol=1e-15)
        assert opt.steps == len(gradients)


@pytest.mark.parametrize(
    "make",
    [  # eps 1e-4: the default 1e-8 is 0 in float16, one of the dtypes below
        lambda: gw.optim.Adam(lr=0.01, eps=1e-4),
        lambda: gw.optim.Adam(lr=0.01, eps=1e-4, weight_decay=0.1),
        lambda: gw.optim.AdamW(lr=0.01, eps=1e-4, weight_decay=0.3),
    ],
    ids=["adam", "adam-l2", "adamw"],
)
def test_adam_on_many_parameters_equals_adam_on_each(
    make: object, rng: np.random.Generator
) -> None:
    # Adam updates the parameters of a dtype as one flat array (and a large one on its own);
    # every value must still be the one a separate optimiser per parameter gives, to the bit.
    shapes = [(3, 4), (4,), (5, 5), (1,), (7, 2), (300, 300), (2, 3)]
    dtypes = [np.float64, np.float64, np.float32, np.float32, np.float16, np.float64, np.float32]
    params = [rng.normal(size=s).astype(d) for s, d in zip(shapes, dtypes, strict=True)]
    alone = [p.copy() for p in params]
    together = make()  # type: ignore[operator]
    each = [make() for _ in params]  # type: ignore[operator]
    for step in range(6):
        grads = [rng.normal(size=p.shape).astype(p.dtype) for p in params]
        grads[5] = np.asfortranarray(grads[5]) if step % 2 else grads[5]  # copied, not a view
        kept = [g.copy() for g in grads]
        together.step(params, grads)
        for opt, p, g in zip(each, alone, grads, strict=True):
            opt.step([p], [g])
        for g, g0 in zip(grads, kept, strict=True):
            np.testing.assert_array_equal(g, g0)  # the gradients are only read
        for p, q in zip(params, alone, strict=True):
            assert p.dtype == q.dtype
            np.testing.assert_array_equal(p, q)


def test_adam_second_step_by_hand() -> None:
    lr, beta1, beta2, eps = 0.1, 0.9, 0.999, 1e-8
    w = np.array([0.0])
    opt = gw.optim.Adam(lr=lr, betas=(beta1, beta2), eps=eps)
    opt.step([w], [np.array([1.0])])
    opt.step([w], [np.array([3.0])])
    m = 0.9 * 0.1 * 1.0 + 0.1 * 3.0  # 0.39
    v = 0.999 * 0.001 * 1.0 + 0.001 * 9.0  # 0.009999
    step2 = lr * (m / (1 - beta1**2)) / (math.sqrt(v / (1 - beta2**2)) + eps)
    assert w[0] == pytest.approx(-lr * 1.0 / (1.0 + eps) - step2, rel=1e-13)


def quadratic(w: np.ndarray) -> tuple[float, np.ndarray]:
    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    c = np.array([1.0, -2.0])
    d = w - c
    return 0.5 * float(d @ A @ d), A @ d


@pytest.mark.parametrize(
    ("make", "steps"),
    [
        (lambda: gw.optim.SGD(lr=0.1), 300),
        (lambda: gw.optim.SGD(lr=0.05, momentum=0.9), 300),
        (lambda: gw.optim.Adam(lr=0.05), 1000),
        (lambda: gw.optim.AdamW(lr=0.05, weight_decay=0.0), 1000),
        (lambda: gw.optim.RMSprop(lr=0.01, momentum=0.5), 1000),
    ],
    ids=["sgd", "sgd-momentum", "adam", "adamw", "rmsprop-momentum"],
)
def test_converges_on_a_quadratic(make: object, steps: int) -> None:
    optimizer = make()  # type: ignore[operator]
    w = np.array([5.0, 5.0])
    first, _ = quadratic(w)
    for _ in range(steps):
        _, g = quadratic(w)
        optimizer.step([w], [g])
    last, _ = quadratic(w)
    assert last < 1e-8 * first
    np.testing.assert_allclose(w, [1.0, -2.0], atol=1e-4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gw.optim.SGD(lr=0.1),
        lambda: gw.optim.SGD(lr=0.1, momentum=0.5),
        gw.optim.Adam,
    ],
)
def test_trains_a_network(make: object, rng: np.random.Generator) -> None:
    net = gw.MLP([2, 8, 1], seed=0)
    x = rng.normal(size=(32, 2))
    y = x[:, :1] - 0.5 * x[:, 1:]
    opt = make()  # type: ignore[operator]
    first, _ = net.loss_and_grads(x, y)
    for _ in range(200):
        _, grads = net.loss_and_grads(x, y)
        opt.step(net.params(), grads)
    last, _ = net.loss_and_grads(x, y)
    assert last < 0.2 * first


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_kept(dtype: type) -> None:
    for opt in (
        gw.optim.SGD(lr=0.1, momentum=0.9),
        gw.optim.Adam(),
        gw.optim.AdamW(),
        gw.optim.RMSprop(momentum=0.9, weight_decay=0.01),
    ):
        w = np.ones(3, dtype=dtype)
        opt.step([w], [np.ones(3, dtype=dtype)])
        assert w.dtype == dtype
        assert np.all(w < 1)


# ---------------------------------------------------------------------------------------------
# State and bad input
# ---------------------------------------------------------------------------------------------

OPTIMIZERS = [
    pytest.param(lambda: gw.optim.SGD(lr=0.1), id="sgd"),
    pytest.param(lambda: gw.optim.SGD(lr=0.1, momentum=0.9), id="sgd-momentum"),
    pytest.param(lambda: gw.optim.Adam(lr=0.1), id="adam"),
    pytest.param(lambda: gw.optim.AdamW(lr=0.1), id="adamw"),
    pytest.param(lambda: gw.optim.RMSprop(lr=0.1), id="rmsprop"),
    pytest.param(lambda: gw.optim.RMSprop(lr=0.1, momentum=0.9), id="rmsprop-momentum"),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_changing_shapes_between_steps_raises(make: object) -> None:
    opt = make()  # type: ignore[operator]
    opt.step([np.zeros(3)], [np.ones(3)])
    w, g = np.zeros((3, 1)), np.ones((3, 1))
    with pytest.raises(ValueError, match="params changed since the first step"):
        opt.step([w], [g])
    np.testing.assert_array_equal(w, np.zeros((3, 1)))
    two = [np.zeros(3), np.zeros(2)]
    with pytest.raises(ValueError, match="params changed since the first step"):
        opt.step(two, [np.ones(3), np.ones(2)])
    np.testing.assert_array_equal(two[0], np.zeros(3))
    assert opt.steps == 1


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_mismatched_params_and_grads(make: object, rng: np.random.Generator) -> None:
    opt = make()  # type: ignore[operator]
    params = [rng.normal(size=(2, 3)), rng.normal(size=3)]
    grads = [rng.normal(size=(2, 3)), rng.normal(size=3)]
    params_before = [p.copy() for p in params]
    grads_before = [g.copy() for g in grads]
    with pytest.raises(ValueError, match="params and grads must have the same length, got 2 and 1"):
        opt.step(params, grads[:1])
    with pytest.raises(
        ValueError, match=r"params\[1\] has shape \(3,\) but grads\[1\] has shape \(2, 3\)"
    ):
        opt.step(params, [grads[0], grads[0]])
    with pytest.raises(TypeError, match="params must be a list or tuple"):
        opt.step(params[0], grads[0])
    with pytest.raises(TypeError, match=r"grads\[0\] must be a floating-point array"):
        opt.step(params[:1], [np.ones((2, 3), dtype=int)])
    for p, q in zip(params, params_before, strict=True):
        np.testing.assert_array_equal(p, q)
    for g, h in zip(grads, grads_before, strict=True):
        np.testing.assert_array_equal(g, h)
    assert opt.steps == 0
    opt.step(params, grads)  # still usable, and the first real step sets the shapes
    assert opt.steps == 1


def test_bad_hyperparameters() -> None:
    for lr in (0.0, -0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"^lr must be a positive"):
            gw.optim.SGD(lr=lr)
        with pytest.raises(ValueError, match=r"^lr must be a positive"):
            gw.optim.Adam(lr=lr)
    with pytest.raises(TypeError, match="lr"):
        gw.optim.SGD(lr="0.1")  # type: ignore[arg-type]
    for momentum in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="momentum"):
            gw.optim.SGD(momentum=momentum)
    with pytest.raises(ValueError, match="weight_decay"):
        gw.optim.SGD(weight_decay=-1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        gw.optim.Adam(weight_decay=float("inf"))
    for betas in ((0.9,), (0.9, 1.0), (-0.1, 0.9), (0.9, 0.999, 0.5)):
        with pytest.raises(ValueError, match="betas"):
            gw.optim.Adam(betas=betas)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eps"):
        gw.optim.Adam(eps=0.0)


def test_repr() -> None:
    assert repr(gw.optim.SGD(lr=0.5, momentum=0.9)) == "SGD(lr=0.5, momentum=0.9, weight_decay=0.0)"
    assert repr(gw.optim.Adam()) == "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08)"


# ---------------------------------------------------------------------------------------------
# A failed step changes nothing; hyper-parameters of the wrong type; optimisers by name
# ---------------------------------------------------------------------------------------------

IN_PLACE_OPTIMIZERS = [
    lambda: gw.optim.SGD(lr=0.1),
    lambda: gw.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda: gw.optim.Adam(lr=0.01),
    lambda: gw.optim.Adam(lr=0.01, weight_decay=0.01),
    lambda: gw.optim.AdamW(lr=0.01, weight_decay=0.1),
    lambda: gw.optim.RMSprop(lr=0.01),
    lambda: gw.optim.RMSprop(lr=0.01, momentum=0.9, weight_decay=0.01),
]


@pytest.mark.parametrize("make", IN_PLACE_OPTIMIZERS)
@pytest.mark.parametrize("steps_before", [0, 2])
def test_a_read_only_param_fails_before_anything_changes(
    make: object, steps_before: int, rng: np.random.Generator
) -> None:
    opt, twin = make(), make()  # type: ignore[operator]
    params = [rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(3, 1))]
    twin_params = [p.copy() for p in params]
    for _ in range(steps_before):
        grads = [rng.normal(size=p.shape) for p in params]
        opt.step(params, grads)
        twin.step(twin_params, [g.copy() for g in grads])
    grads = [rng.normal(size=p.shape) for p in params]
    params[1].setflags(write=False)
    before = [p.copy() for p in params]
    with pytest.raises(ValueError, match=r"^params\[1\] is read-only"):
        opt.step(params, grads)
    for p, q in zip(params, before, strict=True):
        np.testing.assert_array_equal(p, q)  # params[0] was not moved either
    assert opt.steps == steps_before
    # The state (step count, momentum, moments) is untouched: the next step is the twin's.
    params[1].setflags(write=True)
    opt.step(params, grads)
    twin.step(twin_params, grads)
    for p, q in zip(params, twin_params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert opt.steps == twin.steps == steps_before + 1


def test_hyperparameters_of_the_wrong_type_are_type_errors() -> None:
    with pytest.raises(TypeError, match=r"^momentum must be a real number, got '0.5'"):
        gw.optim.SGD(momentum="0.5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^weight_decay must be a real number"):
        gw.optim.SGD(weight_decay=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^weight_decay must be a real number"):
        gw.optim.Adam(weight_decay="0")  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"^betas must be a pair of numbers \(beta1, beta2\), got 0.9"
    ):
        gw.optim.Adam(betas=0.9)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^betas must be a pair of numbers"):
        gw.optim.Adam(betas="ab")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^betas\[1\] must be a real number, got None"):
        gw.optim.Adam(betas=(0.9, None))  # type: ignore[arg-type]
    # Any real numbers do, NumPy's included.
    opt = gw.optim.Adam(betas=np.array([0.8, 0.99]))  # type: ignore[arg-type]
    assert opt.betas == (0.8, 0.99)
    assert gw.optim.SGD(momentum=np.float32(0.5), weight_decay=1).momentum == 0.5


def test_get_by_name() -> None:
    assert gw.optim.names() == ["adam", "adamw", "rmsprop", "sgd"]
    adam = gw.optim.get("Adam")
    assert isinstance(adam, gw.optim.Adam)
    assert (adam.lr, adam.betas, adam.eps) == (1e-3, (0.9, 0.999), 1e-8)
    sgd = gw.optim.get("sgd")
    assert isinstance(sgd, gw.optim.SGD)
    assert (sgd.lr, sgd.momentum, sgd.weight_decay) == (0.1, 0.0, 0.0)
    assert gw.optim.get("sgd") is not sgd  # a new optimiser, with its own state, every time
    mine = gw.optim.SGD(lr=0.3)
    assert gw.optim.get(mine) is mine
    for name, cls in [("AdamW", gw.optim.AdamW), ("rmsprop", gw.optim.RMSprop)]:
        assert type(gw.optim.get(name)) is cls
    with pytest.raises(ValueError, match=r"unknown optimizer 'adagrad'; choose one of \['adam'"):
        gw.optim.get("adagrad")
    with pytest.raises(TypeError, match=r"^optimizer must be an Optimizer"):
        gw.optim.get(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^optimizer must be an Optimizer"):
        gw.optim.get(gw.optim.SGD)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# RMSprop and AdamW: steps by hand, against the formulas, and their hyper-parameters
# ---------------------------------------------------------------------------------------------


def test_rmsprop_three_steps_by_hand() -> None:
    lr, alpha, eps = 0.01, 0.9, 1e-8
    w = np.array([1.0])
    opt = gw.optim.RMSprop(lr=lr, alpha=alpha, eps=eps)
    # v1 = 0.1 * 4 = 0.4;  v2 = 0.9 * 0.4 + 0.1 * 1 = 0.46;  v3 = 0.9 * 0.46 + 0.1 * 0.25 = 0.439
    expected = 1.0
    for g, v in zip([2.0, -1.0, 0.5], [0.4, 0.46, 0.439], strict=True):
        opt.step([w], [np.array([g])])
        expected -= lr * g / (math.sqrt(v) + eps)
        assert abs(w[0] - expected) <= 1e-12
    assert opt.steps == 3


def test_rmsprop_with_momentum_and_weight_decay_by_hand() -> None:
    lr, alpha, eps, mu, wd = 0.1, 0.5, 1e-8, 0.5, 0.1
    w = np.array([2.0])
    opt = gw.optim.RMSprop(lr=lr, alpha=alpha, eps=eps, momentum=mu, weight_decay=wd)
    # Step 1: g = 1 + 0.1 * 2 = 1.2;  v = 0.5 * 1.44 = 0.72;  b = 1.2 / sqrt(0.72).
    opt.step([w], [np.array([1.0])])
    b1 = 1.2 / (math.sqrt(0.72) + eps)
    w1 = 2.0 - lr * b1
    assert abs(w[0] - w1) <= 1e-12
    # Step 2: g = -3 + 0.1 w1;  v = 0.5 * 0.72 + 0.5 g^2;  b = 0.5 b1 + g / sqrt(v).
    opt.step([w], [np.array([-3.0])])
    g2 = -3.0 + wd * w1
    v2 = 0.5 * 0.72 + 0.5 * g2 * g2
    b2 = mu * b1 + g2 / (math.sqrt(v2) + eps)
    assert abs(w[0] - (w1 - lr * b2)) <= 1e-12


def rmsprop_reference(
    w0: np.ndarray,
    gradients: list[np.ndarray],
    lr: float,
    alpha: float,
    eps: float,
    momentum: float,
    weight_decay: float,
) -> np.ndarray:
    w, v, b = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    for g in gradients:
        grad = g + weight_decay * w
        v = alpha * v + (1 - alpha) * grad * grad
        if momentum:
            b = momentum * b + grad / (np.sqrt(v) + eps)
            w = w - lr * b
        else:
            w = w - lr * grad / (np.sqrt(v) + eps)
    return w


def adamw_reference(
    w0: np.ndarray,
    gradients: list[np.ndarray],
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
) -> np.ndarray:
    w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    beta1, beta2 = betas
    for t, g in enumerate(gradients, start=1):
        w = w * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        w = w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w


@pytest.mark.parametrize(
    "options",
    [
        {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "weight_decay": 0.0},
        {"lr": 0.05, "alpha": 0.5, "eps": 1e-3, "momentum": 0.9, "weight_decay": 0.01},
        {"lr": 0.1, "alpha": 0.0, "eps": 1e-8, "momentum": 0.0, "weight_decay": 0.1},
    ],
)
def test_rmsprop_against_the_formula(options: dict[str, float], rng: np.random.Generator) -> None:
    w0 = rng.normal(size=(3, 2))
    gradients = [rng.normal(size=(3, 2)) for _ in range(5)]
    w = w0.copy()
    opt = gw.optim.RMSprop(**options)
    for t in range(1, len(gradients) + 1):
        opt.step([w], [gradients[t - 1]])
        expected = rmsprop_reference(w0, gradients[:t], **options)
        np.testing.assert_allclose(w, expected, rtol=1e-13, atol=1e-15)


def test_adamw_two_steps_by_hand() -> None:
    lr, beta1, beta2, eps, wd = 0.1, 0.9, 0.999, 1e-8, 0.5
    w = np.array([2.0])
    opt = gw.optim.AdamW(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd)
    # Step 1: w = 2 (1 - 0.05) = 1.9, then m_hat = 1, v_hat = 1: a step of lr / (1 + eps).
    opt.step([w], [np.array([1.0])])
    w1 = 1.9 - lr / (1.0 + eps)
    assert abs(w[0] - w1) <= 1e-12
    # Step 2: w = 0.95 w1, m = 0.09 + 0.3 = 0.39, v = 0.000999 + 0.009 = 0.009999.
    opt.step([w], [np.array([3.0])])
    step2 = lr * (0.39 / (1 - beta1**2)) / (math.sqrt(0.009999 / (1 - beta2**2)) + eps)
    assert abs(w[0] - (0.95 * w1 - step2)) <= 1e-12
    assert opt.steps == 2


def test_adamw_zero_gradient_only_decays() -> None:
    w = np.array([1.0, -4.0])
    opt = gw.optim.AdamW(lr=0.1, weight_decay=0.5)
    for _ in range(3):
        opt.step([w], [np.zeros(2)])
    np.testing.assert_allclose(w, np.array([1.0, -4.0]) * 0.95**3, rtol=1e-15)


@pytest.mark.parametrize(
    ("lr", "betas", "eps", "weight_decay"),
    [(1e-3, (0.9, 0.999), 1e-8, 0.01), (0.05, (0.5, 0.9), 1e-3, 0.3), (0.1, (0.0, 0.0), 1e-8, 0.0)],
)
def test_adamw_against_the_formula(
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    rng: np.random.Generator,
) -> None:
    w0 = rng.normal(size=(3, 2))
    gradients = [rng.normal(size=(3, 2)) for _ in range(5)]
    w = w0.copy()
    opt = gw.optim.AdamW(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    for t in range(1, len(gradients) + 1):
        opt.step([w], [gradients[t - 1]])
        expected = adamw_reference(w0, gradients[:t], lr, betas, eps, weight_decay)
        np.testing.assert_allclose(w, expected, rtol=1e-13, atol=1e-15)


def test_adamw_decay_is_decoupled_unlike_adam(rng: np.random.Generator) -> None:
    w0 = rng.normal(size=4)
    gradients = [rng.normal(size=4) for _ in range(3)]
    plain, coupled, decoupled = w0.copy(), w0.copy(), w0.copy()
    adam, adam_l2, adamw = (
        gw.optim.Adam(lr=0.1),
        gw.optim.Adam(lr=0.1, weight_decay=0.5),
        gw.optim.AdamW(lr=0.1, weight_decay=0.5),
    )
    zero_decay, undecayed = gw.optim.AdamW(lr=0.1, weight_decay=0.0), w0.copy()
    for g in gradients:
        adam.step([plain], [g])
        adam_l2.step([coupled], [g])
        adamw.step([decoupled], [g])
        zero_decay.step([undecayed], [g])
    np.testing.assert_array_equal(undecayed, plain)  # without decay AdamW is Adam
    assert not np.allclose(coupled, decoupled, rtol=1e-6)
    assert isinstance(adamw, gw.optim.Adam)


def test_rmsprop_and_adamw_hyperparameters() -> None:
    rmsprop = gw.optim.RMSprop()
    assert (rmsprop.lr, rmsprop.alpha, rmsprop.eps) == (0.01, 0.99, 1e-8)
    assert (rmsprop.momentum, rmsprop.weight_decay) == (0.0, 0.0)
    adamw = gw.optim.AdamW()
    assert (adamw.lr, adamw.betas, adamw.eps, adamw.weight_decay) == (
        1e-3,
        (0.9, 0.999),
        1e-8,
        0.01,
    )
    assert (
        repr(rmsprop) == "RMSprop(lr=0.01, alpha=0.99, eps=1e-08, momentum=0.0, weight_decay=0.0)"
    )
    assert repr(adamw) == "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01)"
    assert gw.optim.RMSprop(alpha=np.float32(0.5), momentum=0).alpha == 0.5


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: gw.optim.RMSprop(lr=0.0), ValueError, r"^lr must be a positive"),
        (lambda: gw.optim.RMSprop(lr="0.1"), TypeError, r"^lr must be a positive number"),
        (lambda: gw.optim.RMSprop(alpha=1.0), ValueError, r"^alpha must be in \[0, 1\), got 1.0"),
        (lambda: gw.optim.RMSprop(alpha=-0.1), ValueError, r"^alpha must be in \[0, 1\)"),
        (lambda: gw.optim.RMSprop(alpha=None), TypeError, r"^alpha must be a real number"),
        (lambda: gw.optim.RMSprop(eps=0.0), ValueError, r"^eps must be a positive"),
        (lambda: gw.optim.RMSprop(momentum=1.0), ValueError, r"^momentum must be in \[0, 1\)"),
        (
            lambda: gw.optim.RMSprop(momentum="0.5"),
            TypeError,
            r"^momentum must be a real number, got '0.5'",
        ),
        (lambda: gw.optim.RMSprop(momentum=True), TypeError, r"^momentum must be a real number"),
        (lambda: gw.optim.RMSprop(weight_decay=-1.0), ValueError, r"^weight_decay must be non"),
        (lambda: gw.optim.AdamW(lr=-1.0), ValueError, r"^lr must be a positive"),
        (
            lambda: gw.optim.AdamW(betas=0.9),
            TypeError,
            r"^betas must be a pair of numbers \(beta1, beta2\), got 0.9",
        ),
        (lambda: gw.optim.AdamW(betas=(0.9, 1.0)), ValueError, r"^betas must be two numbers"),
        (lambda: gw.optim.AdamW(eps=-1e-8), ValueError, r"^eps must be a positive"),
        (lambda: gw.optim.AdamW(weight_decay="0.01"), TypeError, r"^weight_decay must be a real"),
        (lambda: gw.optim.AdamW(weight_decay=-0.1), ValueError, r"^weight_decay must be non"),
    ],
)
def test_rmsprop_and_adamw_bad_hyperparameters(
    make: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("make", [gw.optim.Adam, gw.optim.AdamW])
def test_adam_in_float16_with_gradients_of_a_few_hundred(make: type[gw.optim.Adam]) -> None:
    # v / (1 - beta2) at the first step is g^2, beyond float16's 65504 for |g| > 256; PyTorch
    # takes sqrt(v) first and divides by sqrt(1 - beta2^t), which stays in range. The first
    # step is then lr * sign(g), with no overflow warning (warnings are errors here).
    w = np.ones(3, dtype=np.float16)
    opt = make(lr=0.01, eps=1e-4, weight_decay=0.0)  # 1e-8 is 0 in float16: see below
    opt.step([w], [np.array([300.0, -1000.0, 0.0], np.float16)])
    assert w.dtype == np.float16
    np.testing.assert_array_equal(w, np.array([0.99, 1.01, 1.0], dtype=np.float16))


@pytest.mark.parametrize("make", [gw.optim.Adam, gw.optim.AdamW, gw.optim.RMSprop])
def test_an_eps_that_is_zero_in_the_dtype_is_refused(make: type[gw.optim.Adam]) -> None:
    # sqrt(v) + eps would be 0 wherever the gradient is 0, and the update 0/0 = nan.
    w, g = np.ones(2, dtype=np.float16), np.array([1.0, 0.0], np.float16)
    opt = make(lr=0.01)
    with pytest.raises(ValueError, match=r"eps=1e-08 is 0 in float16 \(params\[0\]\)"):
        opt.step([w], [g])
    np.testing.assert_array_equal(w, [1.0, 1.0])  # nothing written
    assert opt.steps == 0
    make(lr=0.01, eps=1e-7).step([w], [g])  # representable: the update runs
    assert np.all(np.isfinite(w))
    assert w[1] == 1.0


def test_adam_first_moment_is_torch_lerp() -> None:
    # PyTorch moves Adam's first moment with lerp_: m + w (g - m) for w < 1/2, else
    # g - (g - m)(1 - w), so beta1 = 0 (w = 1) gives m = g exactly, whatever m was.
    w, g1, g2 = np.zeros(2), np.array([0.3, -7.0]), np.array([0.1, 1e-3])
    opt = gw.optim.Adam(lr=1.0, betas=(0.0, 0.5), eps=1e-8)
    opt.step([w], [g1])
    opt.step([w], [g2])
    first = opt._groups[0].state[0]
    np.testing.assert_array_equal(first, g2)
