"""The conversation log: Rasa's SQL tracker store with personal data masked, and its index."""

# The custom action a person's confirmed "delete my conversation" runs (actions/privacy.py):
# the tracker store erases the conversation when it saves the turn in which it ran
# (bot.tracking.retention). Here, not there, so the action server need not import Rasa.
ERASE_ACTION = "action_delete_conversation"
