"""contentgen: the shared Lambda layer (deployed at /opt/python/contentgen)."""

__version__ = "0.1.0"
