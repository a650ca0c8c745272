"""gripewatch: see every public complaint about your brand, and make sure a human answers it.

One package. The data path reads top to bottom::

    gripewatch.collectors  →  gripewatch.analysis  →  gripewatch.alerts  →  gripewatch.dashboards
    (sources, one file each)  (pure scoring)          (cases, outbox, Slack)  (digest, spikes, web)

What they share lives here: the domain at the root (``config`` settings, ``models`` — every table
— ``db`` engines and migrations, ``pipeline`` one page in one transaction, ``brands``, ``errors``,
``records``, ``feedback``), ``runtime`` for what runs unattended (scheduler, jobs, leases, …) and
``cli`` for the command line. The four feature folders sit beside ``gripewatch/`` in the
repository and are mapped onto these names at install time (setuptools ``package-dir``).
"""

__version__ = "0.1.0"
