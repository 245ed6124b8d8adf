"""The careers page and the chat widget a site embeds to talk to the assistant.

`server.py` serves `static/` (the page and the widget) and a few files from `node_modules/`
(installed by `make npm`) on 127.0.0.1:8080; the widget talks to Rasa's socket.io channel.
"""
