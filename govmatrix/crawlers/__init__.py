"""Platform crawlers: fetch, parse and normalise posts and follower figures."""
