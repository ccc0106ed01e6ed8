"""The Rasa action server: thin adapters between the tracker and the core in `bot/`."""
