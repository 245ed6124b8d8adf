"""The socket.io channel the web widget uses, as stock Rasa, with our guard installed."""

from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput

import bot.channels  # noqa: F401  (installs the action guard)


class SocketIOInput(StockSocketIOInput):
    pass
