"""gradwatch: understand and diagnose vanishing and exploding gradients, with NumPy alone."""

__version__ = "0.1.0"

__all__ = ["__version__"]
