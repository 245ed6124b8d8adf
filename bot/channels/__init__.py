"""Rasa input channels for this assistant (named in credentials.yml).

Importing this package, which Rasa does when it loads the channels, installs the guard that
turns a failed custom action into an apology.
"""

from bot.channels import guard

guard.install()
