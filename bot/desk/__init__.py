"""The agent desk at /desk (aiohttp): login, the live queue, a conversation with its
transcript and the customer's profile, replies on the customer's channel, claim, transfer,
hand back to the bot and close."""
