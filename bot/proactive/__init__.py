"""The proactive engine: due events from the database, a decision per strategy and consent,
an outbox that never sends twice, delivery through Rasa, and the scheduler loop.

- detectors: service due, tyre season, car ready, invoice ready/overdue, booking tomorrow,
             loaner return; each one indexed SQL query
- plan:      what to do for one event (suggest / book / notify / nothing) and on which channel
- outbox:    one row per (customer, event, period), leases, retries, quiet hours
- deliver:   POST /conversations/{id}/trigger_intent with aiohttp
- scheduler: one pass (`bot proactive once`), the loop (`run`), the lock
"""
