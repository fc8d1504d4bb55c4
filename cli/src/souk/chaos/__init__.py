"""Souk's extension for Chaos Toolkit (issue 11): what the experiments in ``chaos/experiments``
call by ``"type": "python"``.

* ``souk.chaos.probes``: checkout success rate and latency over a window of checkouts, the
  background load's figures, ``souk verify``, every instance ready, no duplicate charge, poison
  messages dead-lettered;
* ``souk.chaos.actions``: start and stop a background load, kill, pause and resume an instance,
  partition a service from the broker, slow a route, poison messages, a rolling restart;
* ``souk.chaos.control``: a Chaos Toolkit control that starts each run clean, logs the background
  load's counts while it runs and stops it when the run ends.

Every activity finds the platform like the other commands: the ``souk_home`` configuration key
(``SOUK_HOME``, else ``./var``) names the home ``souk up`` started. ``souk chaos run`` runs an
experiment through Chaos Toolkit and judges its journal (``souk.chaos.command``).
"""
