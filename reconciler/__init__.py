"""reconciler: declarative plan/apply for Bria's Tailored Generation API."""

__version__ = "0.1.0"
