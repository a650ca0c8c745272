"""gripewatch: see every public complaint about your brand, and make sure a human answers it."""

__version__ = "0.1.0"
