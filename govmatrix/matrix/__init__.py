"""What is built from the store: the unified feed, follower statistics, indices, exchanges, reports."""
