"""Human handoff: tickets and their queue, agents, and the audit trail.

- tickets: open (with priority and summary), queue, claim (once), transfer, hand back, close
- agents:  accounts with argon2 password hashes, login with lockout, who is online
"""
