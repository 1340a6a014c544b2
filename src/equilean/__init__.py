"""equilean: an equity-focused Lean daily management system for health systems."""

__version__ = "0.1.0"
