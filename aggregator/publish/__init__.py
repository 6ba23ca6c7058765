"""The web face: cleaned feeds, the JSON API, HTML pages, health and metrics."""
