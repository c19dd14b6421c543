"""Real face engines: the engine protocol (``base``), the registry, dlib and insightface.

The statistical engine is not here: it is statistics, :mod:`twin.scoring.score_model`.
"""
