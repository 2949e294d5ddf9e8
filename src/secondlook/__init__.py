"""secondlook: synthetic case histories, point-in-time features, interpretable models and
plain-language explanations for human review. It ranks for a second look; it never decides."""

__version__ = "0.1.0"
