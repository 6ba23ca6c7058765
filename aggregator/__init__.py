"""A news feed aggregator that sees through syndication."""

__version__ = "0.13.0"
