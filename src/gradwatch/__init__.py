"""gradwatch: understand and diagnose vanishing and exploding gradients, with NumPy alone.

The modules, one concept each:

- :mod:`gradwatch.activations`: activation functions with their derivatives;
- :mod:`gradwatch.init`: weight initialisers and :func:`~gradwatch.init.calculate_gain`;
- :mod:`gradwatch.losses`: losses and their gradients;
- :class:`gradwatch.MLP` (:mod:`gradwatch.network`) of :class:`gradwatch.Dense` layers;
- :class:`gradwatch.Sequential` (:mod:`gradwatch.network`): any layers run in order, such as
  :class:`gradwatch.ActivationLayer` and :class:`gradwatch.Residual` (:mod:`gradwatch.layers`);
- :class:`gradwatch.LayerNorm` and :class:`gradwatch.BatchNorm` (:mod:`gradwatch.norm`):
  normalisation layers;
- :class:`gradwatch.RNN` (:mod:`gradwatch.rnn`): a vanilla recurrent network with backpropagation
  through time;
- :class:`gradwatch.LSTM` and :class:`gradwatch.GRU` (:mod:`gradwatch.gated`): gated recurrent
  networks, in PyTorch's form;
- :mod:`gradwatch.clip`: gradient norms and clipping;
- :mod:`gradwatch.optim`: optimisers;
- :mod:`gradwatch.amp`: mixed precision, loss scaling (``GradScaler``) and float32 master weights;
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
    amp,
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
from gradwatch.gated import GRU, LSTM
from gradwatch.gradcheck import GradCheckReport, gradcheck
from gradwatch.layers import ActivationLayer, Dense, Layer, Residual
from gradwatch.network import MLP, Sequential
from gradwatch.norm import BatchNorm, LayerNorm
from gradwatch.rnn import RNN
from gradwatch.training import History, train

__version__ = "0.1.0"

__all__ = [
    "GRU",
    "LSTM",
    "MLP",
    "RNN",
    "ActivationLayer",
    "BatchNorm",
    "Dense",
    "GradCheckReport",
    "History",
    "Layer",
    "LayerNorm",
    "Residual",
    "Sequential",
    "__version__",
    "activations",
    "amp",
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
