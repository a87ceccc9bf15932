"""Test doubles for tests and benchmarks; not part of the package.

- :mod:`tests.doubles.client`: an in-process model client (queued answers, recorded calls), no HTTP;
- :mod:`tests.doubles.server`: a scripted OpenAI-compatible HTTP server on loopback, for HTTP behaviour
  (429 with Retry-After, 500, hangs, dropped connections, malformed bodies) through the real clients;
- :mod:`tests.doubles.answers`: valid answers built from what a request shows the model;
- :mod:`tests.doubles.synthetic`: news-like articles of any number, grouped in invented events;
- :mod:`tests.doubles.clock`: a clock that moves only when slept on.

Benchmarks import them too, with the repository root on ``sys.path``.
"""
