"""The service layer: binds the pure domain to the catalog, the gazetteer and the settings.

No Dash, Flask or Plotly import here (a test enforces it): callbacks, the JSON API and the CLI
all call these functions, so the three agree to the digit. Each view has one function returning
a plain view-model (dataclasses of numbers and strings); the Dash layer only renders it.
"""
