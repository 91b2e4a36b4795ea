from enum import StrEnum


class ContentRequestCountry(StrEnum):
    AU = "AU"
    BR = "BR"
    CA = "CA"
    DE = "DE"
    ES = "ES"
    FR = "FR"
    GB = "GB"
    IN = "IN"
    JP = "JP"
    NL = "NL"
    US = "US"

    def __str__(self) -> str:
        return str(self.value)
