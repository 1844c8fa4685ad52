"""Per-post steps between the crawlers and the store (clean, ...), ordered in settings; see ``base``."""
