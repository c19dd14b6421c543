"""Published deployment records and the forecast model fitted on them.

* :mod:`twin.records.schema`: load and validate a records CSV (the Met's deployment grid).
* :mod:`twin.records.places`: location strings -> places, modelled sites, kinds of place.
* :mod:`twin.records.eras`: change points in how faces were counted.
* :mod:`twin.records.faces`: faces per deployment-hour by place and era.
* :mod:`twin.records.rates`: true and false alerts per face (negative-binomial, random effects, drift).
* :mod:`twin.records.forecast`: the three parts fitted together; predictive distributions per deployment.
* :mod:`twin.records.validate`: fit on some records, predict others, score the forecasts.

Pure: no SimPy, Folium or Streamlit; nothing here writes files.
"""

from __future__ import annotations
