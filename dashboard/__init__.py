"""Anycast EIP dashboard.

Importing this package must stay cheap and free of the web stack (dash, flask, plotly) so that
notebooks and batch jobs can use the domain core alone; the web app lives in ``dashboard.app``.
"""

__version__ = "0.1.0"
