"""The version of zorgflow (one place, read by the package, the CLI and the documents)."""

__version__ = "0.1.0"
