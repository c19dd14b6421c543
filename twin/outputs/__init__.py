"""Layer 7, outputs: everything that writes files, and what they show.

``folders`` (the one atomic, never-overwrite folder writer), ``runstore`` (run folders), ``audit``
(the tamper-evident log), ``retention`` (deleting alert data on time), ``report`` (report.html and
the console tables), ``record`` (the deployment record), ``compare`` (comparison folders),
``charts`` (inline SVG), ``mapview`` (the offline Folium map: the one folium import here).
"""
