"""Who is acting, with which permissions, from where: passed to every service call."""

from __future__ import annotations

from dataclasses import dataclass

from registry.accounts.models import User
from registry.accounts.permissions import Permission, Role


@dataclass(frozen=True)
class Actor:
    user: User | None
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""
    via: str = "web"

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user else None

    @property
    def username(self) -> str:
        return self.user.username if self.user else "anonymous"

    @property
    def roles(self) -> frozenset[Role]:
        return self.user.roles if self.user else frozenset()

    @property
    def permissions(self) -> frozenset[Permission]:
        return self.user.permissions if self.user else frozenset()

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def anonymous(ip: str = "", user_agent: str = "", request_id: str = "", via: str = "web") -> Actor:
    return Actor(None, ip, user_agent, request_id, via)
