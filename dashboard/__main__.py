"""``python -m dashboard``: the ``anycast-dashboard`` console script (:func:`dashboard.cli.entry`)."""
from dashboard.cli import entry

entry()
