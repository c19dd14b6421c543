"""The ``twin`` command line (layer 8, beside app/): ``main`` (run, compare, record, audit, calibrate,
retention, ...) and ``engines`` (samples, models). The console entry point is ``twin.cli.main:main``.
"""
