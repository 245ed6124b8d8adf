"""Rasa input channels for this assistant (named in credentials.yml).

Importing them changes nothing in Rasa: its adaptations are in bot/rasa_compat.py, installed by
the entry points that run Rasa (bot.prod.rasa_server, bot.channels.shell).
"""
