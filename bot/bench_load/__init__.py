"""`bot bench load`: how many concurrent conversations each setup holds at p95 <= 500 ms
with no errors, measured with locust on this machine, and whether every conversation came
through whole (checks.py). Numbers are printed and written under results/load/."""
