"""govmatrix: aggregator for a city's government new-media matrix."""

__version__ = "0.1.0"
