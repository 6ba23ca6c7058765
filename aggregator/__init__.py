"""A news feed aggregator that sees through syndication."""

__version__ = "0.15.0"
