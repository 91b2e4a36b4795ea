from enum import StrEnum


class FindingAgent(StrEnum):
    DOCS = "docs"
    PERFORMANCE = "performance"
    QUALITY = "quality"
    SECURITY = "security"
    TESTS = "tests"

    def __str__(self) -> str:
        return str(self.value)
