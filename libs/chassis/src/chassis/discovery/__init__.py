"""Client-side service discovery: register yourself, find the others, pick one."""

from chassis.discovery.balancer import Balancer, LeastOutstanding, RoundRobin
from chassis.discovery.client import Discovery, Instance
from chassis.discovery.registration import Registration

__all__ = ["Balancer", "Discovery", "Instance", "LeastOutstanding", "Registration", "RoundRobin"]
