from enum import StrEnum


class CartAbandonedRequestCurrency(StrEnum):
    AUD = "AUD"
    CAD = "CAD"
    CHF = "CHF"
    DKK = "DKK"
    EUR = "EUR"
    GBP = "GBP"
    JPY = "JPY"
    NOK = "NOK"
    SEK = "SEK"
    USD = "USD"

    def __str__(self) -> str:
        return str(self.value)
