"""Predictions to hold measurements against: linear networks and mean-field signal propagation.

Examples
--------
>>> import gradwatch as gw
>>> gw.theory.__name__
'gradwatch.theory'
"""

from __future__ import annotations

__all__: list[str] = []

# ---------------------------------------------------------------------------------------------
# Linear networks and products of random matrices (the pages on vanishing and exploding maths).
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Mean-field signal propagation (Poole et al. 2016; Schoenholz et al. 2017).
# ---------------------------------------------------------------------------------------------
