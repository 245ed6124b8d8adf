"""The REST channel (`POST /webhooks/rest/webhook`), as stock Rasa, with our guard installed."""

from rasa.core.channels.rest import RestInput as StockRestInput

import bot.channels  # noqa: F401  (installs the action guard)


class RestInput(StockRestInput):
    pass
