"""Rasa input channels for this assistant (named in credentials.yml).

Importing them changes nothing in Rasa: its adaptations are in bot/rasa_compat.py, installed by
the one entry point that runs Rasa (bot.rasa_command).
"""
