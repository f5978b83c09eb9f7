"""Roadmap Tutor: retrieval-augmented answers, with citations, over a learning roadmap."""

__version__ = "0.1.0"
