"""gradwatch: understand and diagnose vanishing and exploding gradients, with NumPy alone.

The modules, one concept each:

- :mod:`gradwatch.activations`: activation functions with their derivatives;
- :mod:`gradwatch.init`: weight initialisers and :func:`~gradwatch.init.calculate_gain`;
- :mod:`gradwatch.losses`: losses and their gradients;
- :class:`gradwatch.MLP` (:mod:`gradwatch.network`) of :class:`gradwatch.Dense` layers;
- :class:`gradwatch.RNN` (:mod:`gradwatch.rnn`): a vanilla recurrent network with backpropagation
  through time;
- :mod:`gradwatch.clip`: gradient norms and clipping;
- :mod:`gradwatch.optim`: optimisers;
- :func:`gradwatch.gradcheck`: backpropagation against finite differences;
- :func:`gradwatch.train` (:mod:`gradwatch.training`): a training loop that records gradient health.

Examples
--------
>>> import numpy as np
>>> import gradwatch as gw
>>> net = gw.MLP([2, 8, 1], activation="tanh", seed=0)
>>> x = np.random.default_rng(0).normal(size=(16, 2))
>>> loss, grads = net.loss_and_grads(x, x[:, :1] * x[:, 1:], loss="mse")
>>> round(gw.clip.global_norm(grads), 3) > 0
True
"""

from gradwatch import (
    activations,
    clip,
    diagnostics,
    experiments,
    init,
    landscape,
    losses,
    optim,
    plotting,
    theory,
)
from gradwatch.gradcheck import GradCheckReport, gradcheck
from gradwatch.layers import Dense
from gradwatch.network import MLP
from gradwatch.rnn import RNN
from gradwatch.training import History, train

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "RNN",
    "Dense",
    "GradCheckReport",
    "History",
    "__version__",
    "activations",
    "clip",
    "diagnostics",
    "experiments",
    "gradcheck",
    "init",
    "landscape",
    "losses",
    "optim",
    "plotting",
    "theory",
    "train",
]
