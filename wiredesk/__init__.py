"""wiredesk: a news-wire ingestion pipeline on Redis Streams."""

__version__ = "0.1.0"
