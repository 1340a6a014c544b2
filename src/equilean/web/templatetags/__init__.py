"""Template tags of the web shell."""
