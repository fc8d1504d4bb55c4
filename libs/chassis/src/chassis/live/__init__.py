"""Central configuration, live: settings changed in a running platform without a restart.

One versioned store, the JetStream key-value bucket ``SOUK_CONFIG`` (64 revisions per key), that
every service watches. Keys are ``<service>.<setting>``, or ``platform.<setting>`` for a setting
every service has (a service's own key overrides it). Each service declares its live settings as
a :class:`LiveSettings` subclass (msgspec constraints); :class:`Live` keeps the values in force
(``live.current``), applies the store's changes to the objects that use them (:meth:`Live.bind`)
and refuses a bad value (the running one stays). Every revision's value carries its audit: who,
when, old → new (:class:`Record`); ``souk config`` reads and writes them.
"""

from chassis.live.model import (
    BUCKET,
    HISTORY,
    PLATFORM,
    SERVICES_BUCKET,
    KeyError_,
    LiveSettings,
    Record,
    ServiceLiveSettings,
    default_author,
    from_static,
    parse_key,
    store_key,
    utc_now,
)
from chassis.live.watch import Live

__all__ = ["BUCKET", "HISTORY", "PLATFORM", "SERVICES_BUCKET", "KeyError_", "Live", "LiveSettings",
           "Record", "ServiceLiveSettings", "default_author", "from_static", "parse_key",
           "store_key", "utc_now"]
