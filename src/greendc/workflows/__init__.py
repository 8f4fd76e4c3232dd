"""The application layer: what a user asks greendc to do, as functions the CLI and the web service call.

- :mod:`~greendc.workflows.simulation`: simulate a site under a controller and write the run's files;
- :mod:`~greendc.workflows.bench`: compare controllers across climates, with the hindsight oracle;
- :mod:`~greendc.workflows.executor`: how jobs run (local processes by default);
- :mod:`~greendc.workflows.explore`, :mod:`~greendc.workflows.train`, :mod:`~greendc.workflows.demo`.
"""
