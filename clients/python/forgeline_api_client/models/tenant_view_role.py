from enum import StrEnum


class TenantViewRole(StrEnum):
    ADMIN = "admin"
    REVIEWER = "reviewer"
    TENANT = "tenant"

    def __str__(self) -> str:
        return str(self.value)
