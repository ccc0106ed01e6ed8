"""The project's web server on port 8080: the customers' chat page (/chat); the agent desk
comes next to it (/desk)."""
