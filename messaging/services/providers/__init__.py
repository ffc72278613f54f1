"""Providers configured in the database (CONTRACT section 8), by subject:

- `configuration`: what a provider's properties may be (from its kind's descriptor, in
  messaging/providers/), saving and listing them with their secrets masked, and the backend
  options they become;
- `routing`: one backend per enabled provider per process, the routes a batch is sent by, and
  the circuit that takes a failing provider out of them for a while;
- `sinks`: how what a backend's own threads receive (SMPP receipts and members' texts, the state
  of its binds) reaches the services and the database;
- `links`: the binds each worker process reports, kept in the cache for the console.
"""
