"""dl-portfolio: the library behind every dl-portfolio project. Light on import (no torch): `serve` needs none."""

__version__ = "0.3.0"
