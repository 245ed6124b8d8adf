"""The production profile: several Rasa instances and action servers behind nginx, sharing a
PostgreSQL tracker store and a Redis lock store (`make run-prod`, `python -m bot prod`).

`cluster` starts and stops it, `processes` holds each process (so the fault tests can stop
one), `nginx` writes nginx's configuration from `nginx.conf.j2`.
"""
