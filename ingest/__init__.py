"""Ingest: load roadmap material, cut it into chunks, embed it, and build the index."""
