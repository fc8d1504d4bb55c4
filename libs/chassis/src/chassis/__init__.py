"""Souk chassis: the cross-cutting runtime every service is built on. No business rules here."""

from chassis.app import create_service_app
from chassis.problems import Problem
from chassis.settings import ServiceSettings, StatefulServiceSettings

__all__ = ["Problem", "ServiceSettings", "StatefulServiceSettings", "create_service_app"]
