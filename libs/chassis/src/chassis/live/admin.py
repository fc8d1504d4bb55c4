"""Reading, validating, writing and rolling back the live configuration, for the tools that
change it (`souk config`, the web console): every service publishes the JSON schema of its live
settings type (``SOUK_CONFIG_SERVICES``, written when it starts), so a value is checked against
the same msgspec constraints the service checks again when it applies it, without importing the
service. Each write is a new revision of ``SOUK_CONFIG`` with its audit (:class:`Record`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec

from chassis.live.model import PLATFORM, Record, parse_key, store_key, utc_now
from chassis.live.overview import ServiceDoc, Setting, service_docs, settings_rows
from chassis.live.store import Revision, history, write

__all__ = ["ConfigError", "Refused", "Store", "only_running", "parse_value"]


class ConfigError(Exception):
    """The store cannot be read or written (exit 1)."""


class Refused(ConfigError):
    """A key or value the settings type refuses (exit 2): nothing is written."""


def parse_value(raw: str) -> Any:
    """A value as typed: JSON when it parses (``0.5``, ``true``, ``[...]``), else the text."""
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw


def _errors(doc: ServiceDoc, name: str, value: Any) -> list[str]:
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(doc.schema)
    messages = []
    for error in validator.iter_errors({name: value}):
        path = ".".join(str(part) for part in error.instance_path)
        messages.append(f"{path or name}: {error.message}")
    return messages


class Store:
    def __init__(self, kv: Any, services: Any, *, running: frozenset[str] | None = None) -> None:
        self.kv = kv
        self.services = services
        # the instances that run now, when the caller knows (the supervisor's state): one
        # gone (scaled down, killed and held) keeps what it last published, which is not read
        self.running = running

    async def docs(self) -> dict[str, ServiceDoc]:
        """Every service's published live settings, with its instances' running values."""
        docs = await self._published()
        return docs if self.running is None else only_running(docs, self.running)

    async def _published(self) -> dict[str, ServiceDoc]:
        return await service_docs(self.services)

    async def latest(self, key: str) -> Revision | None:
        revisions = await history(self.kv, key)
        return revisions[-1] if revisions else None

    async def history(self, key: str) -> list[Revision]:
        return await history(self.kv, key)

    async def check(self, key: str, value: Any, raw: str | None = None) -> tuple[str, Any]:
        """The store key and the value to write, or :class:`Refused` with the reason. ``raw``
        is the value as typed: tried as text when its JSON reading is refused."""
        scope, name = _parsed(key)
        targets = _targets(await self.docs(), scope, name)
        first: list[str] = []
        for candidate in _candidates(_numbers(key, value), raw):
            # a platform-wide key: each reason once, with the services that give it
            by_reason: dict[str, list[str]] = {}
            for doc in targets:
                for message in _errors(doc, name, candidate):
                    by_reason.setdefault(message, []).append(doc.service)
            if not by_reason:
                _check_fault_targets(targets, scope, name, candidate)
                return store_key(scope, name), candidate
            first = first or [
                f"{_services(services, len(targets))}: {message}" if scope == PLATFORM
                else message for message, services in by_reason.items()]
        spec = targets[0].properties.get(name, {})
        description = spec.get("description", "")
        if isinstance(spec.get("enum"), list):  # the validator names two and counts the rest
            description = "; ".join(filter(None, (description, "one of " + ", ".join(
                str(choice) for choice in spec["enum"]))))
        reason = "; ".join(first)
        raise Refused(f"{key} = {raw if raw is not None else value!r} refused: {reason}"
                      + (f" ({description})" if description else ""))

    async def known(self, scope: str, name: str,
                    docs: dict[str, ServiceDoc] | None = None) -> None:
        """Nothing when a running service has the live setting ``scope.name``, else
        :class:`Refused` saying which there are (``docs``: as read already)."""
        _targets(docs if docs is not None else await self.docs(), scope, name)

    async def set(self, key: str, value: Any, *, by: str, raw: str | None = None,
                  action: str = "set", rollback_to: int = 0, unset: bool = False) -> Revision:
        """Validate and write a new revision of ``key`` with its audit."""
        from nats.js.errors import KeyWrongLastSequenceError

        if unset:
            scope, name = _parsed(key)
            stored = store_key(scope, name)
        else:
            stored, value = await self.check(key, value, raw)
        current = await self.latest(stored)
        old = current.record if current is not None else Record(unset=True)
        record = Record(value=None if unset else value, unset=unset, by=by, at=utc_now(),
                        old=None if old.unset else old.value, old_unset=old.unset,
                        action=action, rollback_to=rollback_to)  # type: ignore[arg-type]
        try:
            revision = await write(self.kv, stored, record,
                                   last=current.revision if current is not None else 0)
        except KeyWrongLastSequenceError:
            raise ConfigError(f"{stored} changed while this change was made; try again") from None
        return Revision(stored, revision, record)

    async def unset(self, key: str, *, by: str) -> Revision:
        """Remove the stored value of ``key`` as a new, audited revision: the static value (or
        the platform-wide key) applies again. :class:`Refused` when there is none to remove, a
        key no service has among them: an audit of nothing changed is not written. A stored
        key no running service has any more can still be unset."""
        scope, name = _parsed(key)
        stored = store_key(scope, name)
        current = await self.latest(stored)
        if current is None or current.record.unset:
            await self.known(scope, name)
            raise Refused(f"{stored} has no stored value: its static value applies already; "
                          "nothing to unset")
        return await self.set(stored, None, by=by, action="unset", unset=True)

    async def rollback(self, key: str, *, to: int | None, by: str) -> Revision:
        """Restore the value before the latest revision (or revision ``to``) as a new one."""
        scope, name = _parsed(key)
        stored = store_key(scope, name)
        revisions = await self.history(stored)
        if not revisions:
            await self.known(scope, name)  # a key no service has is refused as such
            raise Refused(f"{stored} was never set: nothing to roll back")
        if to is None and len(revisions) > 1:
            target, target_revision = revisions[-2].record, revisions[-2].revision
        elif to is None:  # its first revision: back to what its audit says came before
            target, target_revision = _before(revisions[-1].record), 0
        else:
            found = [r for r in revisions if r.revision == to]
            if not found:
                kept = ", ".join(str(r.revision) for r in revisions)
                raise Refused(f"{stored} has no revision {to} (kept: {kept})")
            target, target_revision = found[0].record, to
        latest = revisions[-1].record
        if latest.unset == target.unset and (target.unset or latest.value == target.value):
            now = "its static value" if target.unset else repr(target.value)
            raise Refused(f"{stored} holds {now} already, as revision {target_revision} "
                          "left it: nothing to roll back")
        return await self.set(stored, target.value, by=by, action="rollback",
                              rollback_to=target_revision, unset=target.unset)

    async def settings(self, service: str | None) -> list[Setting]:
        """Every live setting of ``service`` (or of every service) with its running value."""
        docs = await self.docs()
        if service is not None and service not in docs:
            raise Refused(f"no live settings known for service {service!r} (known: "
                          f"{', '.join(sorted(docs)) or 'none yet'}); is it running?")
        return settings_rows(docs, service)


def _services(services: list[str], of: int) -> str:
    return "every service" if len(services) == of and of > 1 else ", ".join(services)


def only_running(docs: dict[str, ServiceDoc], running: frozenset[str]) -> dict[str, ServiceDoc]:
    """``docs`` with the running values of the instances in ``running`` only: an instance
    killed without a clean stop leaves what it last published behind."""
    return {service: replace(doc, instances={name: published
                                             for name, published in doc.instances.items()
                                             if name in running})
            for service, doc in docs.items()}


def _parsed(key: str) -> tuple[str, str]:
    """``key``'s scope and setting name, or :class:`Refused` with what is wrong with it."""
    try:
        return parse_key(key)
    except ValueError as exc:
        raise Refused(str(exc)) from None


def _targets(docs: dict[str, ServiceDoc], scope: str, name: str) -> list[ServiceDoc]:
    """The services whose live setting ``name`` a key of ``scope`` sets, or :class:`Refused`."""
    if scope == PLATFORM:
        targets = [doc for doc in docs.values() if name in doc.platform_fields]
        if not targets:
            owners = sorted(s for s, doc in docs.items() if name in doc.properties)
            hint = (f"; it is a setting of {', '.join(owners)}: use {owners[0]}.{name}"
                    if owners else "")
            raise Refused(f"{name!r} is not a platform-wide live setting{hint}")
        return targets
    if scope not in docs:
        known = ", ".join(sorted(docs)) or "none yet"
        raise Refused(f"no live settings known for service {scope!r} (services that "
                      f"published theirs: {known}); is it running?")
    if name not in docs[scope].properties:
        raise Refused(f"{scope} has no live setting {name!r}; its live settings: "
                      f"{', '.join(sorted(docs[scope].properties))}")
    return [docs[scope]]


# a fault rule's field naming what it applies to, and what each service publishes it may name
_FAULT_TARGETS = {"fault_routes": ("route", "routes", "route"),
                  "fault_consumers": ("type", "message_types", "message type")}


def _check_fault_targets(targets: list[ServiceDoc], scope: str, name: str, value: Any) -> None:
    """:class:`Refused` when a fault rule names a route or message type that no service it
    applies to has: the rule would do nothing, and an experiment built on it would hold for
    the wrong reason. ``"*"`` names every one; a service that published no list is not asked."""
    if name not in _FAULT_TARGETS:
        return
    field_name, listed, what = _FAULT_TARGETS[name]
    _one_rule_each(scope, name, field_name, what, value)
    known = [doc for doc in targets if doc.fault_targets]
    if not known:
        return
    names = {n for doc in known for n in doc.fault_targets.get(listed, [])}
    if value and not names:  # even "*": a service with none of them (the gateway proxies)
        owner = "no service has" if scope == PLATFORM else f"{scope} has no"
        raise Refused(f"{store_key(scope, name)} refused: {owner} {listed.replace('_', ' ')} a "
                      "rule could apply to, so it would do nothing")
    for rule in value:
        wanted = rule.get(field_name, "*")
        if wanted != "*" and wanted not in names:
            if scope == PLATFORM:
                owner, their = f"no service has the {what} {wanted!r}", "the services'"
            else:
                owner, their = f"{scope} has no {what} {wanted!r}", "its"
            which = ", ".join(sorted(names)) or "none"
            raise Refused(f"{store_key(scope, name)} refused: {owner}, so a rule for it would "
                          f"do nothing; {their} {listed.replace('_', ' ')}: {which}, or \"*\" "
                          "for every one")


_INT64 = 2**63 - 1
_EXACT = 2**53  # floats up to here hold every whole number exactly


def _numbers(key: str, value: Any) -> Any:
    """``value`` with its whole-number floats as ints (``8.0`` → ``8``), or :class:`Refused` for
    a number past 64 bits. JSON Schema counts 8.0 as an integer where msgspec, which the service
    applies the value with, refuses it; a float for a float setting is the same number as an
    int. A number past 64 bits no setting needs, and neither the store's encoder nor the
    service's could carry it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > _INT64:
            raise Refused(f"{key} refused: {value} is past the 64-bit range of a setting")
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= _EXACT:
            return int(value)
        if abs(value) > _INT64 and value == value:  # NaN is the schema's to refuse
            raise Refused(f"{key} refused: {value} is past the 64-bit range of a setting")
        return value
    if isinstance(value, list):
        return [_numbers(key, item) for item in value]
    if isinstance(value, dict):
        return {name: _numbers(key, item) for name, item in value.items()}
    return value


def _one_rule_each(scope: str, name: str, field_name: str, what: str, rules: Any) -> None:
    """:class:`Refused` when two rules name the same target: a service applies one rule a
    target (the last), so the other would silently do nothing."""
    seen: set[str] = set()
    for rule in rules:
        wanted = rule.get(field_name, "*")
        if wanted in seen:
            raise Refused(f"{store_key(scope, name)} refused: two rules for the {what} "
                          f"{wanted!r}; a {what} takes one rule (put its faults together in it)")
        seen.add(wanted)


def _candidates(value: Any, raw: str | None) -> list[Any]:
    if raw is None or value == raw:
        return [value]
    return [value, raw]  # "123" for a text setting is text


def _before(record: Record) -> Record:
    """The value a key had before ``record`` (the oldest kept revision's audit)."""
    return Record(unset=True) if record.old_unset else Record(value=record.old)
