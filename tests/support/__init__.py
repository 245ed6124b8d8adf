"""The one test toolkit: every server, client and shared fixture the tests use lives here.

- `fixtures`: the pytest fixtures every folder shares (loaded by tests/conftest.py): the role
  content and stores, one PostgreSQL server per session, the settings-cache reset, the trained
  model, and the one session assistant (with fake provider APIs behind every channel);
- `servers`: free ports, waiting for an event with a deadline (PostgreSQL is started by
  production's own launcher, bot.prod.processes.throwaway_postgres);
- `http`: the one HTTP client (REST conversations, raw requests, any status as a Reply);
- `fakes` and `providers`: the providers' APIs the assistant calls, and the webhooks they send;
- `sockets`, `browser`: socket.io and headless Chromium, as the chat widget and a person use them;
- `logs`: reading the conversation log as Rasa left it; `tracking`, `review`, `actions`: events,
  trackers and review-console data built in a test;
- `cluster` and `load`: the production profile and many conversations at once.

A test module imports helpers from here, never from another test module.
"""
