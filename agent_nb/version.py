"""The package version, in the bottom layer: saved runs and the CLI read it without importing the package root."""

__version__ = "0.1.0"
